package action

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"
)

// ServiceStop stops a Windows service through the Service Control Manager
// and waits until it reports STOPPED.
type ServiceStop struct {
	Name    string
	Timeout time.Duration // 0 = no limit
	Poll    time.Duration
}

// String implements Action.
func (a *ServiceStop) String() string { return StopService + " " + QuoteArg(a.Name) }

// DropsSessions says that stopping IIS's own services ends its worker
// processes (and their InProc sessions): internal/iis warns about that.
func (a *ServiceStop) DropsSessions() bool {
	return strings.EqualFold(a.Name, "W3SVC") || strings.EqualFold(a.Name, "WAS")
}

func newStopService(ctx context.Context, name string, timeout time.Duration) (Action, error) {
	return newServiceStop(ctx, name, timeout)
}

// ServiceState reads a service's state; an unknown service is ErrUsage.
func ServiceState(ctx context.Context, name string) (svc.State, error) {
	return serviceState(ctx, name)
}

// WaitServiceStopped waits until the service reports STOPPED or ctx ends,
// looking every poll (0: a default).
func WaitServiceStopped(ctx context.Context, name string, poll time.Duration) error {
	return waitStopped(ctx, name, poll)
}

// openSCM connects with only the rights a query needs: mgr.Connect asks for
// full access, which a non-administrator does not get.
func openSCM() (*mgr.Mgr, error) {
	h, err := windows.OpenSCManager(nil, nil, windows.SC_MANAGER_CONNECT|windows.SC_MANAGER_ENUMERATE_SERVICE)
	if err != nil {
		return nil, fmt.Errorf("connect to the Service Control Manager: %w", err)
	}
	return &mgr.Mgr{Handle: h}, nil
}

func openService(m *mgr.Mgr, name string, access uint32) (*mgr.Service, error) {
	p, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return nil, err
	}
	h, err := windows.OpenService(m.Handle, p, access)
	if err != nil {
		if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
			return nil, fmt.Errorf("%w: no service named %q%s", ErrUsage, name, similarServices(m, name))
		}
		if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
			return nil, fmt.Errorf("%w: service %q: access denied (drain needs the right to stop it: run it elevated, as an administrator)", ErrRights, name)
		}
		return nil, fmt.Errorf("open service %q: %w", name, err)
	}
	return &mgr.Service{Name: name, Handle: h}, nil
}

// similarServices names up to five services whose name contains name, as a
// hint (the full list has hundreds).
func similarServices(m *mgr.Mgr, name string) string {
	all, err := m.ListServices()
	if err != nil {
		return ""
	}
	var near []string
	for _, s := range all {
		if strings.Contains(strings.ToLower(s), strings.ToLower(name)) || strings.Contains(strings.ToLower(name), strings.ToLower(s)) {
			near = append(near, s)
		}
	}
	slices.Sort(near)
	if len(near) == 0 {
		return " (use the service name from 'sc query', not its display name)"
	}
	return " (similar: " + strings.Join(near[:min(len(near), 5)], ", ") + ")"
}

// serviceState returns the current state of a service.
func serviceState(_ context.Context, name string) (svc.State, error) {
	m, err := openSCM()
	if err != nil {
		return 0, err
	}
	defer func() { _ = m.Disconnect() }()
	s, err := openService(m, name, windows.SERVICE_QUERY_STATUS)
	if err != nil {
		return 0, err
	}
	defer func() { _ = s.Close() }()
	st, err := s.Query()
	if err != nil {
		return 0, fmt.Errorf("query service %q: %w", name, err)
	}
	return st.State, nil
}

// newServiceStop checks that the service exists and that drain may stop it:
// Windows checks the access asked for when the service is opened, so asking
// for SERVICE_STOP now refuses a run that would fail only after the drain.
func newServiceStop(_ context.Context, name string, timeout time.Duration) (*ServiceStop, error) {
	m, err := openSCM()
	if err != nil {
		return nil, err
	}
	defer func() { _ = m.Disconnect() }()
	s, err := openService(m, name, windows.SERVICE_STOP|windows.SERVICE_QUERY_STATUS)
	if err != nil {
		return nil, err
	}
	_ = s.Close()
	return &ServiceStop{Name: name, Timeout: timeout}, nil
}

// Run implements Action.
func (a *ServiceStop) Run(ctx context.Context, stdout, _ io.Writer) (Result, error) {
	return RunBuiltin(ctx, a, a.Timeout, stdout, a.stop)
}

func (a *ServiceStop) stop(ctx context.Context, w io.Writer) (string, error) {
	m, err := openSCM()
	if err != nil {
		return "", err
	}
	defer func() { _ = m.Disconnect() }()
	s, err := openService(m, a.Name, windows.SERVICE_STOP|windows.SERVICE_QUERY_STATUS)
	if err != nil {
		return "", err
	}
	defer func() { _ = s.Close() }()
	st, err := s.Query()
	if err != nil {
		return "", fmt.Errorf("query: %w", err)
	}
	switch st.State {
	case svc.Stopped:
		return fmt.Sprintf("service %q is already stopped: nothing to do", a.Name), nil
	case svc.StopPending:
		fmt.Fprintf(w, "service %q is already stopping; waiting\n", a.Name)
	default:
		fmt.Fprintf(w, "stopping service %q (%s)\n", a.Name, stateName(st.State))
		if done, err := a.sendStop(ctx, w, s); err != nil || done != "" {
			return done, err
		}
	}
	if err := waitStopped(ctx, a.Name, a.Poll); err != nil {
		return "", err
	}
	return fmt.Sprintf("service %q stopped", a.Name), nil
}

// sendStop sends the stop control. A service that cannot take it now (still
// starting, or stopping already: ERROR_SERVICE_CANNOT_ACCEPT_CTRL, or on
// Wine ERROR_INVALID_SERVICE_CONTROL while START_PENDING) is asked again
// once its state allows, or waited on if it is already stopping. done is
// the final line when nothing is left to wait for.
func (a *ServiceStop) sendStop(ctx context.Context, w io.Writer, s *mgr.Service) (done string, err error) {
	poll := a.Poll
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	told := false
	for {
		_, err := s.Control(svc.Stop)
		switch {
		case err == nil:
			return "", nil
		case errors.Is(err, windows.ERROR_SERVICE_NOT_ACTIVE) && told:
			return fmt.Sprintf("service %q stopped before it could take the stop request (it never finished starting)", a.Name), nil
		case errors.Is(err, windows.ERROR_SERVICE_NOT_ACTIVE):
			return fmt.Sprintf("service %q is already stopped: nothing to do", a.Name), nil
		case errors.Is(err, windows.ERROR_DEPENDENT_SERVICES_RUNNING):
			return "", errors.New("other running services depend on it; stop them first (sc enumdepend " + a.Name + ")")
		case !errors.Is(err, windows.ERROR_SERVICE_CANNOT_ACCEPT_CTRL) && !errors.Is(err, windows.ERROR_INVALID_SERVICE_CONTROL):
			return "", fmt.Errorf("stop: %w", err)
		}
		st, qerr := s.Query()
		if qerr != nil {
			return "", fmt.Errorf("query: %w", qerr)
		}
		switch st.State {
		case svc.Stopped:
			return fmt.Sprintf("service %q stopped before it could take the stop request", a.Name), nil
		case svc.StopPending:
			fmt.Fprintf(w, "service %q is already stopping; waiting\n", a.Name)
			return "", nil
		case svc.StartPending, svc.ContinuePending, svc.PausePending:
			if !told {
				fmt.Fprintf(w, "service %q cannot take a stop request while %s; waiting to ask again\n", a.Name, stateName(st.State))
				told = true
			}
		default:
			if errors.Is(err, windows.ERROR_INVALID_SERVICE_CONTROL) {
				return "", fmt.Errorf("it does not accept a stop request (%s)", stateName(st.State))
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("still %s: it never took the stop request", stateName(st.State))
		case <-time.After(poll):
		}
	}
}

// waitStopped polls a service until it reports STOPPED or ctx ends.
func waitStopped(ctx context.Context, name string, poll time.Duration) error {
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	for {
		st, err := serviceState(ctx, name)
		if err != nil {
			return err
		}
		if st == svc.Stopped {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("still %s", stateName(st))
		case <-time.After(poll):
		}
	}
}

func stateName(s svc.State) string {
	switch s {
	case svc.Stopped:
		return "stopped"
	case svc.StartPending:
		return "start pending"
	case svc.StopPending:
		return "stop pending"
	case svc.Running:
		return "running"
	case svc.ContinuePending:
		return "continue pending"
	case svc.PausePending:
		return "pause pending"
	case svc.Paused:
		return "paused"
	}
	return fmt.Sprintf("state %d", s)
}
