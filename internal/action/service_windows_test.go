package action

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"

	"github.com/drain-cli/drain/internal/testutil"
)

// init: run by the Service Control Manager as a test service (argv:
// -drain-test-service DIR), the test binary never connects to it, so the
// service stays START_PENDING until the SCM gives up (Windows: 30 s, Wine:
// 10 s) and refuses a stop meanwhile (ERROR_SERVICE_CANNOT_ACCEPT_CTRL on
// Windows, ERROR_INVALID_SERVICE_CONTROL on Wine).
func init() {
	if len(os.Args) == 3 && os.Args[1] == "-drain-test-service" {
		_ = os.WriteFile(filepath.Join(os.Args[2], "began"), nil, 0o600)
		time.Sleep(60 * time.Second)
		os.Exit(0)
	}
}

// installStuckService creates and starts a service that never finishes
// starting, deleted at the end of the test. It skips where services cannot
// be created.
func installStuckService(t *testing.T) string {
	t.Helper()
	m, err := mgr.Connect()
	if err != nil {
		t.Skipf("cannot create services here (not elevated?): %v", err)
	}
	t.Cleanup(func() { _ = m.Disconnect() })
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := testutil.TempDir(t)
	name := fmt.Sprintf("DrainTest%d", time.Now().UnixNano()%1e6)
	s, err := m.CreateService(name, exe, mgr.Config{DisplayName: "drain test service", StartType: mgr.StartManual}, "-drain-test-service", dir)
	if err != nil {
		t.Skipf("cannot create services here (not elevated?): %v", err)
	}
	t.Cleanup(func() {
		_ = s.Delete()
		_ = s.Close()
	})
	// StartService returns when the service has connected or the SCM gave
	// up on it (Wine), or at once (Windows): start it aside.
	go func() { _ = s.Start() }()
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, berr := os.Stat(filepath.Join(dir, "began"))
		st, err := serviceState(context.Background(), name)
		if berr == nil && err == nil && st == svc.StartPending {
			return name
		}
		if time.Now().After(end) {
			t.Fatalf("test service never START_PENDING: %v %v %v", st, err, berr)
		}
	}
}

// A stop the service cannot take yet (still starting) is asked again and
// waited on, not reported as a failure.
func TestStopServiceThatCannotAcceptAStopYet(t *testing.T) {
	name := installStuckService(t)
	a, err := New([]string{StopService, name}, false, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	a.(*ServiceStop).Poll = 100 * time.Millisecond
	var out bytes.Buffer
	if _, err := a.Run(context.Background(), &out, &out); err != nil {
		t.Fatalf("stop: %v\n%s", err, out.String())
	}
	got := out.String()
	if !strings.Contains(got, "cannot take a stop request while start pending; waiting to ask again") ||
		!strings.Contains(got, fmt.Sprintf("service %q stopped", name)) {
		t.Errorf("out = %q", got)
	}
	if st, err := serviceState(context.Background(), name); err != nil || st != svc.Stopped {
		t.Errorf("state after = %v, %v", st, err)
	}
}

// realService is the test binary run by a real Service Control Manager
// (argv: -drain-real-service): a service that stops when asked.
type realService struct{}

func (realService) Execute(_ []string, req <-chan svc.ChangeRequest, st chan<- svc.Status) (bool, uint32) {
	st <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for r := range req {
		switch r.Cmd {
		case svc.Interrogate:
			st <- r.CurrentStatus
		case svc.Stop, svc.Shutdown:
			st <- svc.Status{State: svc.StopPending}
			return false, 0
		}
	}
	return false, 0
}

func init() {
	if len(os.Args) == 2 && os.Args[1] == "-drain-real-service" {
		if err := svc.Run("", realService{}); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
}

// TestRealStopServiceWithDependent needs a real Windows (Wine's SCM does not
// run Go services): stop-service refuses while a dependent runs, naming the
// fix, and stops the service once the dependent is stopped.
func TestRealStopServiceWithDependent(t *testing.T) {
	if os.Getenv("DRAIN_REAL_WINDOWS") == "" {
		t.Skip("needs a real Windows, as administrator: set DRAIN_REAL_WINDOWS=1 (the windows workflow does)")
	}
	m, err := mgr.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = m.Disconnect() }()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	create := func(name string, deps ...string) *mgr.Service {
		if old, err := m.OpenService(name); err == nil { // a previous run's
			_, _ = old.Control(svc.Stop)
			_ = old.Delete()
			_ = old.Close()
			time.Sleep(2 * time.Second)
		}
		s, err := m.CreateService(name, exe, mgr.Config{StartType: mgr.StartManual, Dependencies: deps}, "-drain-real-service")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = s.Control(svc.Stop); _ = s.Delete(); _ = s.Close() })
		return s
	}
	base := create("DrainTestBase")
	dep := create("DrainTestDependent", "DrainTestBase")
	if err := dep.Start(); err != nil { // starts DrainTestBase first
		t.Fatal(err)
	}
	waitState := func(name string, want svc.State) {
		for end := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			if st, err := serviceState(context.Background(), name); err == nil && st == want {
				return
			}
			if time.Now().After(end) {
				t.Fatalf("%s never reached %s", name, stateName(want))
			}
		}
	}
	waitState("DrainTestDependent", svc.Running)
	a, err := New([]string{StopService, "DrainTestBase"}, false, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	_, err = a.Run(context.Background(), &out, &out)
	if err == nil || !strings.Contains(err.Error(), "other running services depend on it; stop them first (sc enumdepend DrainTestBase)") {
		t.Errorf("with a running dependent: err = %v", err)
	}
	if st, _ := serviceState(context.Background(), "DrainTestBase"); st != svc.Running {
		t.Errorf("DrainTestBase is %s after a refused stop, want running", stateName(st))
	}
	if _, err := dep.Control(svc.Stop); err != nil {
		t.Fatal(err)
	}
	waitState("DrainTestDependent", svc.Stopped)
	out.Reset()
	if _, err := a.Run(context.Background(), &out, &out); err != nil || !strings.Contains(out.String(), `service "DrainTestBase" stopped`) {
		t.Errorf("after the dependent stopped: err=%v out=%q", err, out.String())
	}
	_ = base
}

func TestStopServiceUnknown(t *testing.T) {
	_, err := New([]string{"stop-service", "NoSuchServiceDrainTest"}, false, 0)
	if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), `no service named "NoSuchServiceDrainTest"`) {
		t.Errorf("err = %v", err)
	}
}
