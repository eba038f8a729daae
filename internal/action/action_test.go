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
	"sync"
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

// TestBackgroundChildDoesNotFailTheAction: sh -c 'sleep 30 & exit 0' exits
// 0 while its child holds stderr open. The action's own exit decides: Run
// returns without waiting for the child, reports success, forwards what was
// printed before the exit, and leaves the child running; a write of the
// child after Run returned does not kill it with a broken pipe.
func TestBackgroundChildDoesNotFailTheAction(t *testing.T) {
	dir := t.TempDir()
	pidFile, wrote, goOn := filepath.Join(dir, "child.pid"), filepath.Join(dir, "wrote"), filepath.Join(dir, "go")
	// The child writes its pid, waits until the test says Run has returned,
	// then writes to the inherited stdout and stderr and records how that went.
	script := `echo before; echo before-err >&2; ` +
		`(sh -c 'echo $PPID' > ` + pidFile + `; i=0; while [ ! -e ` + goOn + ` ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; ` +
		`echo late >&2; echo late; echo $? > ` + wrote + `; sleep 30) & exit 0`
	a, err := newExec([]string{script}, true)
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut syncBuffer
	res, err := a.Run(context.Background(), &out, &errOut)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("res=%+v err=%v, want success: the action itself exited 0", res, err)
	}
	if !strings.Contains(out.String(), "before") || !strings.Contains(errOut.String(), "before-err") {
		t.Errorf("output before the exit was not forwarded: out=%q err=%q", out.String(), errOut.String())
	}
	var pid int
	for deadline := time.Now().Add(10 * time.Second); pid == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(pidFile); err == nil {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
	}
	if pid == 0 {
		t.Fatal("the child never wrote its pid")
	}
	if pgid, err := syscall.Getpgid(pid); err == nil {
		defer func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) }() // the child and its sleep
	}
	if !alive(pid) {
		t.Fatalf("child %d is gone when Run returned: it was waited for or killed", pid)
	}
	if err := os.WriteFile(goOn, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var status []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if status, err = os.ReadFile(wrote); err == nil && len(status) > 0 {
			break
		}
	}
	if strings.TrimSpace(string(status)) != "0" || !alive(pid) {
		t.Fatalf("the child's late write failed (status %q) or it died (alive %v)", status, alive(pid))
	}
	if strings.Contains(out.String(), "late") {
		t.Errorf("output after Run returned reached its writer: %q", out.String())
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
