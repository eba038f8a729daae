package iis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"

	"github.com/drain-cli/drain/internal/action"
	"github.com/drain-cli/drain/internal/source"
)

// newBuiltin makes an IIS built-in, checking within ctx that the pool or
// site exists and that drain may change it.
func newBuiltin(ctx context.Context, name, arg string, timeout time.Duration) (action.Action, error) {
	if name == IISResetStop {
		return newIISReset(ctx, timeout)
	}
	if _, err := os.Stat(appcmdPath()); err != nil {
		return nil, fmt.Errorf("%w: %s needs IIS: %s not found (install the IIS Management Scripts and Tools feature)", action.ErrNotFound, name, appcmdPath())
	}
	if err := needElevation(name); err != nil {
		return nil, err
	}
	a := &Change{Op: name, Name: arg, Timeout: timeout, appcmd: runAppcmd}
	if err := a.Check(ctx); err != nil {
		if errors.Is(err, action.ErrUsage) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %s: %w", action.ErrUsage, a, err)
	}
	return a, nil
}

// Executing lists the requests executing in an IIS app pool or site
// (appcmd list requests; needs the Request Monitor feature), longest first.
func Executing(ctx context.Context, s Scope) ([]source.Request, error) {
	return executing(ctx, runAppcmd, s)
}

// Reset stops IIS as a whole (iisreset /stop) unless W3SVC is already
// stopped, then confirms that it is.
type Reset struct {
	Timeout time.Duration
	path    string
}

func iisresetPath() string {
	if p := os.Getenv("DRAIN_IISRESET"); p != "" {
		return p
	}
	return filepath.Join(windir(), "System32", "iisreset.exe")
}

// needElevation refuses a built-in that changes IIS when drain's token is
// not elevated: appcmd's changes and iisreset need an administrator's full
// token, and without it they fail only at the end, after the drain.
func needElevation(name string) error {
	if windows.GetCurrentProcessToken().IsElevated() {
		return nil
	}
	return fmt.Errorf("%w: %s changes IIS and needs an elevated drain (this one runs without administrator rights)", action.ErrRights, name)
}

func newIISReset(ctx context.Context, timeout time.Duration) (*Reset, error) {
	if err := needElevation(IISResetStop); err != nil {
		return nil, err
	}
	if _, err := action.ServiceState(ctx, "W3SVC"); err != nil {
		if errors.Is(err, action.ErrUsage) {
			return nil, fmt.Errorf("%w: %s needs IIS: the W3SVC service is not installed", action.ErrUsage, IISResetStop)
		}
		return nil, fmt.Errorf("%w: %s: %w", action.ErrUsage, IISResetStop, err)
	}
	if _, err := os.Stat(iisresetPath()); err != nil {
		return nil, fmt.Errorf("%w: %s: %s not found", action.ErrNotFound, IISResetStop, iisresetPath())
	}
	return &Reset{Timeout: timeout, path: iisresetPath()}, nil
}

// String implements action.Action.
func (a *Reset) String() string { return IISResetStop }

// DropsSessions implements SessionDropper: iisreset ends every worker.
func (a *Reset) DropsSessions() bool { return true }

// Run implements action.Action.
func (a *Reset) Run(ctx context.Context, stdout, stderr io.Writer) (action.Result, error) {
	start := time.Now()
	if st, err := action.ServiceState(ctx, "W3SVC"); err == nil && st == svc.Stopped {
		fmt.Fprintln(stdout, "IIS is already stopped (W3SVC stopped): nothing to do")
		return action.Result{Duration: time.Since(start)}, nil
	}
	res, err := (&action.Exec{Argv: []string{a.path, "/stop"}, Timeout: a.Timeout}).Run(ctx, stdout, stderr)
	if err != nil {
		return res, err
	}
	if a.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, max(a.Timeout-time.Since(start), time.Second))
		defer cancel()
	}
	if err := action.WaitServiceStopped(ctx, "W3SVC", 0); err != nil {
		return action.Result{ExitCode: 1, Duration: time.Since(start)}, fmt.Errorf("%w: %s: %w", action.ErrFailed, IISResetStop, err)
	}
	fmt.Fprintln(stdout, "IIS stopped (W3SVC stopped)")
	return action.Result{Duration: time.Since(start)}, nil
}
