package action

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"
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
	dir := tempDir(t)
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
