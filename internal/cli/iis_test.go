package cli

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/drain-cli/drain/internal/action"
	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/iostreams"
	"github.com/drain-cli/drain/internal/source"
)

func TestInFlightForIISSources(t *testing.T) {
	if inFlightFor([]source.Spec{{Type: "nginx", Target: "http://h/s"}}) != nil {
		t.Error("no IIS source: want no lister")
	}
	var asked []action.Scope
	old := listRequests
	t.Cleanup(func() { listRequests = old })
	listRequests = func(_ context.Context, s action.Scope) ([]action.Request, error) {
		asked = append(asked, s)
		return []action.Request{{Verb: "POST", URL: "/upload.aspx", Client: "10.0.0.5", ElapsedMS: 42187}}, nil
	}
	f := inFlightFor([]source.Spec{{Type: "iis", Target: "Shop Pool"}, {Type: "nginx"}, {Type: "aspnet", Target: "Default Web Site"}})
	rs, err := f(context.Background())
	if err != nil || len(rs) != 2 {
		t.Fatalf("rs=%v err=%v", rs, err)
	}
	if len(asked) != 2 || asked[0] != (action.Scope{Pool: "Shop Pool"}) || asked[1] != (action.Scope{Site: "Default Web Site"}) {
		t.Errorf("asked %+v", asked)
	}
	if rs[0].String() != "POST /upload.aspx 42s from 10.0.0.5" || rs[0].Where != "Shop Pool" || rs[1].Where != "Default Web Site" {
		t.Errorf("rs = %+v", rs)
	}

	listRequests = func(context.Context, action.Scope) ([]action.Request, error) {
		return nil, errors.New("appcmd: the Request Monitor feature is not installed")
	}
	ios, out, _ := iostreams.Test()
	rep := collectStatus(context.Background(), &drain.Plan{InFlight: f})
	printStatus(ios, rep)
	if !strings.Contains(out.String(), "executing requests: unknown (appcmd: the Request Monitor feature is not installed)") {
		t.Errorf("status = %q", out.String())
	}
}

func TestSessionWarning(t *testing.T) {
	recycle := &action.IIS{Op: action.RecycleAppPool, Name: "Shop"}
	if sessionWarning(recycle, nil) != nil && sessionsActive == nil {
		t.Error("no sessions reader: want no warning hook")
	}
	old := sessionsActive
	t.Cleanup(func() { sessionsActive = old })
	n := 3.0
	sessionsActive = func(context.Context) (float64, error) { return n, nil }

	w := sessionWarning(recycle, []source.Spec{{Type: "iis", Target: "Shop"}})
	if w == nil {
		t.Fatal("recycle with a sessions reader: want a warning hook")
	}
	if got := w(context.Background()); !strings.HasPrefix(got, "recycle-apppool Shop will drop 3 active ASP.NET InProc session(s)") {
		t.Errorf("warning = %q", got)
	}
	n = 0
	if got := w(context.Background()); got != "" {
		t.Errorf("no sessions: warning = %q", got)
	}
	if sessionWarning(recycle, []source.Spec{{Type: "aspnet-sessions", Target: "Shop"}}) != nil {
		t.Error("sessions are a source being waited on: want no warning")
	}
	if sessionWarning(&action.IIS{Op: action.StartAppPool, Name: "Shop"}, nil) != nil {
		t.Error("start-apppool drops nothing: want no hook")
	}
	waited := []source.Spec{{Type: "pdh", Target: `\ASP.NET Applications(__Total__)\Sessions Active`}}
	if sessionWarning(recycle, waited) != nil {
		t.Error("sessions are a source being waited on: want no warning")
	}
}
