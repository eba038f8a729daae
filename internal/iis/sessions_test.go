package iis

import (
	"context"
	"strings"
	"testing"

	"github.com/drain-cli/drain/internal/action"
)

func TestSessionWarning(t *testing.T) {
	recycle := &Change{Op: RecycleAppPool, Name: "Shop"}
	n := 3.0
	w := sessionWarning{action: recycle, read: func(context.Context) (float64, error) { return n, nil }}
	if got := w.Warn(context.Background(), []string{"iis:Shop"}); !strings.HasPrefix(got, "recycle-apppool Shop will drop 3 active ASP.NET InProc session(s)") {
		t.Errorf("warning = %q", got)
	}
	n = 0
	if got := w.Warn(context.Background(), nil); got != "" {
		t.Errorf("no sessions: warning = %q", got)
	}
	n = 3
	for _, watched := range []string{"aspnet-sessions:Shop", `pdh:\ASP.NET Applications(__Total__)\Sessions Active`} {
		if got := w.Warn(context.Background(), []string{"iis:Shop", watched}); got != "" {
			t.Errorf("sessions are a source being waited on (%s): warning = %q", watched, got)
		}
	}
	if got := (&Change{Op: StartAppPool, Name: "Shop"}).Warn(context.Background(), nil); got != "" {
		t.Errorf("start-apppool drops nothing: warning = %q", got)
	}
}

// An action finds its warning through action.WarnerOf: IIS's own built-ins
// are Warners, a command line that stops IIS gets one from the hook this
// package registers, anything else none.
func TestWarnerOf(t *testing.T) {
	if _, ok := action.WarnerOf(&Change{Op: StopSite, Name: "Shop"}).(*Change); !ok {
		t.Error("stop-site: want the built-in itself as its Warner")
	}
	if w := action.WarnerOf(&action.Exec{Argv: []string{"iisreset", "/stop"}}); w == nil {
		t.Error("iisreset: want a Warner")
	}
	if w := action.WarnerOf(&action.Exec{Argv: []string{"systemctl", "stop", "nginx"}}); w != nil {
		t.Errorf("systemctl: want no Warner, got %T", w)
	}
}
