package action

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNewChecksThePoolBeforeAnything(t *testing.T) {
	state := fake(t, fakeState{Pools: pools()})
	_, err := New([]string{"stop-apppool", "Nope"}, false, time.Minute)
	if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), `no app pool named "Nope"`) {
		t.Errorf("err = %v", err)
	}
	a, err := New([]string{"recycle-apppool", "defaultapppool"}, false, time.Minute)
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
	t.Setenv("DRAIN_APPCMD", filepath.Join(tempDir(t), "appcmd.exe"))
	_, err := New([]string{"stop-site", "Default Web Site"}, false, 0)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "stop-site needs IIS") {
		t.Errorf("err = %v", err)
	}
}

func TestStopServiceUnknown(t *testing.T) {
	_, err := New([]string{"stop-service", "NoSuchServiceDrainTest"}, false, 0)
	if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), `no service named "NoSuchServiceDrainTest"`) {
		t.Errorf("err = %v", err)
	}
}

// IIS is not installed under Wine (nor on most CI machines): iisreset-stop
// must say so before anything changes.
func TestIISResetStopNeedsW3SVC(t *testing.T) {
	if _, err := serviceState(context.Background(), "W3SVC"); err == nil {
		t.Skip("W3SVC exists on this machine: see TestRealIIS")
	}
	_, err := New([]string{"iisreset-stop"}, false, 0)
	if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "iisreset-stop needs IIS: the W3SVC service is not installed") {
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
		a, err := New([]string{op, pool}, false, 2*time.Minute)
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
