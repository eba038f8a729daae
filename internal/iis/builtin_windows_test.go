package iis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/windows"

	"github.com/drain-cli/drain/internal/action"
	"github.com/drain-cli/drain/internal/testutil"
)

func TestNewChecksThePoolBeforeAnything(t *testing.T) {
	state := fake(t, fakeState{Pools: pools()})
	_, err := action.New([]string{"stop-apppool", "Nope"}, false, time.Minute)
	if !errors.Is(err, action.ErrUsage) || !strings.Contains(err.Error(), `no app pool named "Nope"`) {
		t.Errorf("err = %v", err)
	}
	a, err := action.New([]string{"recycle-apppool", "defaultapppool"}, false, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if a.String() != "recycle-apppool DefaultAppPool" {
		t.Errorf("String = %q (want IIS's spelling)", a.String())
	}
	if _, calls := state(); len(changes(calls)) != 0 {
		t.Errorf("New changed something: %q", changes(calls))
	}
}

func TestNewWithoutIIS(t *testing.T) {
	t.Setenv("DRAIN_APPCMD", filepath.Join(testutil.TempDir(t), "appcmd.exe"))
	_, err := action.New([]string{"stop-site", "Default Web Site"}, false, 0)
	if !errors.Is(err, action.ErrNotFound) || !strings.Contains(err.Error(), "stop-site needs IIS") {
		t.Errorf("err = %v", err)
	}
}

// unelevated runs the test binary's newChild with the limited token linked
// to this process's elevated one (as UAC gives an administrator's unelevated
// programs; Wine has it too), and returns what New answered there.
func unelevated(t *testing.T, argv ...string) string {
	t.Helper()
	var tok windows.Token
	if err := windows.OpenProcessToken(windows.CurrentProcess(), windows.TOKEN_QUERY, &tok); err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	if !tok.IsElevated() {
		t.Skip("the tests run unelevated already: TestNewRefusesUnelevated needs an elevated run with a linked limited token")
	}
	linked, err := tok.GetLinkedToken()
	if err != nil || linked.IsElevated() {
		t.Skipf("no limited token linked to this elevated one (UAC off?): %v", err)
	}
	defer linked.Close()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(argv)
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "DRAIN_TEST_NEW="+string(b))
	cmd.SysProcAttr = &syscall.SysProcAttr{Token: syscall.Token(linked)}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("start unelevated: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// An unelevated drain must refuse a built-in that changes IIS before
// anything changes (it used to drain first and fail at the stop, left OUT).
func TestNewRefusesUnelevated(t *testing.T) {
	state := fake(t, fakeState{Pools: pools(), Sites: map[string]*fakeObj{"Default Web Site": {State: "Started"}}})
	for _, argv := range [][]string{{"stop-apppool", "DefaultAppPool"}, {"recycle-apppool", "DefaultAppPool"}, {"stop-site", "Default Web Site"}} {
		got := unelevated(t, argv...)
		want := "error rights=true usage=false: not allowed: " + argv[0] + " changes IIS and needs an elevated drain"
		if !strings.HasPrefix(got, want) {
			t.Errorf("%q unelevated: %s\nwant %s...", argv, got, want)
		}
	}
	if _, calls := state(); len(changes(calls)) != 0 {
		t.Errorf("changes = %q, want none", changes(calls))
	}
	// The same New elevated accepts it.
	if got := strings.TrimSpace(fmt.Sprint(action.New([]string{"stop-apppool", "DefaultAppPool"}, false, time.Minute))); !strings.HasPrefix(got, "stop-apppool DefaultAppPool") {
		t.Errorf("elevated New = %s", got)
	}
}

// IIS is not installed under Wine (nor on most CI machines): iisreset-stop
// must say so before anything changes.
func TestIISResetStopNeedsW3SVC(t *testing.T) {
	if _, err := action.ServiceState(context.Background(), "W3SVC"); err == nil {
		t.Skip("W3SVC exists on this machine: see TestRealIIS")
	}
	_, err := action.New([]string{"iisreset-stop"}, false, 0)
	if !errors.Is(err, action.ErrUsage) || !strings.Contains(err.Error(), "iisreset-stop needs IIS: the W3SVC service is not installed") {
		t.Errorf("err = %v", err)
	}
}

// TestRealIIS runs against a real IIS: it stops and starts an app pool, so it
// runs only when DRAIN_REAL_IIS names a pool that may be stopped.
func TestRealIIS(t *testing.T) {
	pool := os.Getenv("DRAIN_REAL_IIS")
	if pool == "" {
		t.Skip("needs a real IIS: set DRAIN_REAL_IIS=POOL (a pool this test may stop and start) on a Windows machine with IIS, as administrator")
	}
	for _, op := range []string{StopAppPool, StopAppPool, StartAppPool, StartAppPool, RecycleAppPool} {
		a, err := action.New([]string{op, pool}, false, 2*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if _, err := a.Run(context.Background(), &out, &out); err != nil {
			t.Fatalf("%s: %v\n%s", a, err, out.String())
		}
		t.Logf("%s: %s", a, strings.TrimSpace(out.String()))
	}
	if _, err := Executing(context.Background(), Scope{Pool: pool}); err != nil {
		t.Errorf("Executing: %v (is the Request Monitor feature installed?)", err)
	}
}
