//go:build !windows

package action

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestNotFoundBeforeAnything(t *testing.T) {
	_, err := newExec([]string{"no-such-program-drain-test"}, false)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

func TestExitCodeAndOutputStreamed(t *testing.T) {
	a, err := newExec([]string{"echo out; echo err >&2; exit 3"}, true)
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	res, err := a.Run(context.Background(), &out, &errOut)
	if !errors.Is(err, ErrFailed) || res.ExitCode != 3 {
		t.Fatalf("res=%+v err=%v, want exit 3", res, err)
	}
	if out.String() != "out\n" || errOut.String() != "err\n" || res.Tail != "err" {
		t.Errorf("out=%q err=%q tail=%q", out.String(), errOut.String(), res.Tail)
	}
}

func TestSuccess(t *testing.T) {
	a, _ := newExec([]string{"true"}, false)
	res, err := a.Run(context.Background(), &bytes.Buffer{}, &bytes.Buffer{})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("res=%+v err=%v", res, err)
	}
}

// alive reports whether pid exists.
func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func TestTimeoutKillsTheWholeTree(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	// The child ignores SIGTERM, so only the hard kill of the group ends it.
	a, err := newExec([]string{`sh -c 'trap "" TERM; echo $$ > ` + pidFile + `; while :; do sleep 0.1; done' & wait`}, true)
	if err != nil {
		t.Fatal(err)
	}
	a.Timeout = 300 * time.Millisecond
	old := KillGrace
	KillGrace = 300 * time.Millisecond
	defer func() { KillGrace = old }()
	res, err := a.Run(context.Background(), &bytes.Buffer{}, &bytes.Buffer{})
	if !res.TimedOut || !errors.Is(err, ErrFailed) {
		t.Fatalf("res=%+v err=%v, want a timeout", res, err)
	}
	b, rerr := os.ReadFile(pidFile)
	if rerr != nil {
		t.Fatal(rerr)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(2 * time.Second)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if alive(pid) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("grandchild %d survived the timeout", pid)
	}
}

func TestCancelStopsAction(t *testing.T) {
	a, _ := newExec([]string{"sleep", "30"}, false)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := a.Run(ctx, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || time.Since(start) > 10*time.Second {
		t.Fatalf("err=%v after %s", err, time.Since(start))
	}
}

func TestHugeOutputKeepsOnlyATail(t *testing.T) {
	a, _ := newExec([]string{"head -c 5000000 /dev/zero | tr '\\0' x; echo; echo last line >&2; yes err | head -n 100000 >&2"}, true)
	var out countWriter
	res, err := a.Run(context.Background(), &out, &countWriter{})
	if err != nil {
		t.Fatal(err)
	}
	if out.n < 5000000 {
		t.Errorf("streamed %d bytes, want all 5000001", out.n)
	}
	if len(res.Tail) > 2048 || !strings.HasSuffix(res.Tail, "err") {
		t.Errorf("tail is %d bytes: %.40q", len(res.Tail), res.Tail)
	}
}

type countWriter struct{ n int }

func (c *countWriter) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }
