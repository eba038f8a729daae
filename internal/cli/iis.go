package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/drain-cli/drain/internal/action"
	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/source"
)

// listRequests lists the requests executing in IIS (a variable for tests).
var listRequests = action.Executing

// sessionsActive reads \ASP.NET Applications(__Total__)\Sessions Active, the
// InProc sessions a recycle or stop drops, through the pdh source (an error
// off Windows, where no warning is then shown). A variable for tests.
var sessionsActive = func(ctx context.Context) (float64, error) {
	spec, err := source.ParseSpec(`pdh:\ASP.NET Applications(__Total__)\Sessions Active`)
	if err != nil {
		return 0, err
	}
	src, err := source.New(spec, source.Options{})
	if err != nil {
		return 0, err
	}
	if c, ok := src.(interface{ Close() error }); ok {
		defer func() { _ = c.Close() }()
	}
	return src.Read(ctx)
}

// iisScopes are the app pools (iis:POOL) and sites (aspnet:SITE) among the
// sources: the places whose executing requests explain a slow drain.
func iisScopes(specs []source.Spec) []action.Scope {
	var out []action.Scope
	for _, s := range specs {
		switch s.Type {
		case "iis":
			out = append(out, action.Scope{Pool: s.Target})
		case "aspnet":
			out = append(out, action.Scope{Site: s.Target})
		}
	}
	return out
}

// inFlightFor lists the requests executing in the IIS pools and sites being
// waited on; nil when there are none.
func inFlightFor(specs []source.Spec) func(context.Context) ([]drain.Request, error) {
	scopes := iisScopes(specs)
	if len(scopes) == 0 {
		return nil
	}
	return func(ctx context.Context) ([]drain.Request, error) {
		var out []drain.Request
		for _, sc := range scopes {
			rs, err := listRequests(ctx, sc)
			if err != nil {
				return nil, err
			}
			where := sc.Pool
			if where == "" {
				where = sc.Site
			}
			for _, r := range rs {
				out = append(out, drain.Request{Verb: r.Verb, URL: r.URL, Client: r.Client, Elapsed: drain.Seconds(r.Elapsed().Seconds()), Where: where})
			}
		}
		return out, nil
	}
}

// sessionWarning warns before an action that ends IIS worker processes while
// InProc sessions are active, unless those sessions are a source being
// waited on (then the drain already waited for them).
func sessionWarning(a action.Action, specs []source.Spec) func(context.Context) string {
	if sessionsActive == nil || !action.DropsSessions(a) {
		return nil
	}
	for _, s := range specs {
		if s.Type == "aspnet-sessions" || strings.Contains(strings.ToLower(s.Target), "sessions active") {
			return nil
		}
	}
	return func(ctx context.Context) string {
		n, err := sessionsActive(ctx)
		if err != nil || n <= 0 {
			return ""
		}
		return fmt.Sprintf("%s will drop %s active ASP.NET InProc session(s): those users lose their session state "+
			"(wait on them with --source 'pdh:\\ASP.NET Applications(__Total__)\\Sessions Active', or use a state server or SQL session state)", a, fmtNum(n))
	}
}
