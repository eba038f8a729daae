package iis

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/drain-cli/drain/internal/action"
	"github.com/drain-cli/drain/internal/source"
)

// SessionDropper is an action that ends worker processes, and with them any
// ASP.NET InProc session state (action.ServiceStop of W3SVC or WAS is one).
type SessionDropper interface{ DropsSessions() bool }

// DropsSessions implements SessionDropper: a recycle or stop ends the worker
// process and the InProc sessions it holds.
func (a *Change) DropsSessions() bool { return a.Op != StartAppPool }

// DropsSessions reports whether running a ends IIS worker processes: the
// stop/recycle built-ins, and plain commands that are iisreset or an appcmd
// stop/recycle.
func DropsSessions(a action.Action) bool {
	switch v := a.(type) {
	case SessionDropper:
		return v.DropsSessions()
	case *action.Exec:
		words := make([]string, len(v.Argv))
		for i, w := range v.Argv {
			words[i] = strings.ToLower(w)
		}
		line := strings.Join(words, " ")
		return strings.Contains(line, "iisreset") ||
			strings.Contains(line, "appcmd") && (strings.Contains(line, " stop ") || strings.Contains(line, " recycle ")) ||
			strings.Contains(line, "stop-webapppool") || strings.Contains(line, "restart-webapppool") || strings.Contains(line, "stop-website")
	}
	return false
}

// SessionsActive is the counter of the ASP.NET InProc sessions a recycle or
// stop drops, on every site.
const SessionsActive = `pdh:\ASP.NET Applications(__Total__)\Sessions Active`

// sessionsActive reads SessionsActive through the pdh source (an error off
// Windows, where no warning is then shown).
func sessionsActive(ctx context.Context) (float64, error) {
	spec, err := source.ParseSpec(SessionsActive)
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

// sessionWarning is the action.Warner of an action that drops sessions: it
// warns, just before the action, when InProc sessions are active, unless
// those sessions are a source being waited on (then the drain already
// waited for them).
type sessionWarning struct {
	action fmt.Stringer
	read   func(context.Context) (float64, error)
}

// Warn implements action.Warner.
func (w sessionWarning) Warn(ctx context.Context, watched []string) string {
	for _, s := range watched {
		s = strings.ToLower(s)
		if strings.HasPrefix(s, "aspnet-sessions:") || strings.Contains(s, "sessions active") {
			return ""
		}
	}
	n, err := w.read(ctx)
	if err != nil || n <= 0 {
		return ""
	}
	return fmt.Sprintf("%s will drop %s active ASP.NET InProc session(s): those users lose their session state "+
		"(wait on them with --source 'pdh:\\ASP.NET Applications(__Total__)\\Sessions Active', or use a state server or SQL session state)",
		w.action, strconv.FormatFloat(n, 'f', -1, 64))
}

// Warn implements action.Warner for the pool and site built-ins.
func (a *Change) Warn(ctx context.Context, watched []string) string {
	if !a.DropsSessions() {
		return ""
	}
	return sessionWarning{action: a, read: sessionsActive}.Warn(ctx, watched)
}

// sessionWarner finds the warning of actions that are not IIS's own types:
// a command line that recycles or stops IIS, a stop of W3SVC or WAS.
func sessionWarner(a action.Action) action.Warner {
	if !DropsSessions(a) {
		return nil
	}
	return sessionWarning{action: a, read: sessionsActive}
}
