//go:build !windows

package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// winPath is how a Windows program under Wine names a Linux path.
func winPath(p string) string { return `Z:` + strings.ReplaceAll(p, "/", `\`) }

// TestWineRunWaitsOnPDH runs the Windows drain.exe under Wine against the
// stand-in pdh.dll (scripts/wine/setup.sh): it takes the server out by
// renaming the keep-alive page, waits while a pdh counter goes 3 -> 0, then
// runs a cmd /c action.
func TestWineRunWaitsOnPDH(t *testing.T) {
	if os.Getenv("DRAIN_WINE") == "" {
		if os.Getenv("DRAIN_E2E") == "require-wine" {
			t.Fatal("DRAIN_WINE unset: run eval \"$(scripts/wine/setup.sh)\" first")
		}
		t.Skip("Wine is not set up: eval \"$(scripts/wine/setup.sh)\" sets DRAIN_WINE (scripts/test.sh does)")
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "drain.exe")
	build := exec.Command("go", "build", "-o", exe, "github.com/drain-cli/drain/cmd/drain")
	build.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	counters := filepath.Join(dir, "counters.txt")
	setCount := func(n string) {
		t.Helper()
		must(t, os.WriteFile(counters, []byte(`\W3SVC_W3WP(1234_Shop)\Active Requests `+n+"\n"), 0o600))
	}
	setCount("3")
	keepalive := filepath.Join(dir, "keepalive.htm")
	must(t, os.WriteFile(keepalive, []byte("OK"), 0o600))

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "wine", exe, "run",
		"--keepalive", winPath(keepalive), "--state-dir", winPath(filepath.Join(dir, "state")),
		"--source", `pdh:\W3SVC_W3WP(*)\Active Requests`,
		"--interval", "200ms", "--settle", "600ms", "--timeout", "30s",
		"--", "cmd", "/c", "echo", "stopped>", "marker")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PDHSTUB_FILE="+winPath(counters), "NO_COLOR=1")
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	must(t, cmd.Start())

	// Wait until drain has taken the server out and is waiting on 3.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "=3") {
		if time.Now().After(deadline) {
			t.Fatalf("drain never reported the counter at 3:\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := os.Stat(keepalive + ".disabled"); err != nil {
		t.Errorf("keep-alive page not renamed while waiting: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "marker")); err == nil {
		t.Fatal("the action ran while the counter was 3")
	}
	setCount("0")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("drain.exe run: %v\n%s", err, out.String())
	}
	got := out.String()
	marker, err := os.ReadFile(filepath.Join(dir, "marker"))
	if err != nil || !strings.Contains(string(marker), "stopped") {
		t.Errorf("the cmd /c action did not run (marker %q, %v):\n%s", marker, err, got)
	}
	if _, err := os.Stat(keepalive); err == nil {
		t.Error("keep-alive page is back after a successful run")
	}
	if !strings.Contains(got, "OUT") || !strings.Contains(got, "drained") {
		t.Errorf("output does not say drained and OUT:\n%s", got)
	}
	t.Logf("drain.exe under Wine:\n%s", got)
}
