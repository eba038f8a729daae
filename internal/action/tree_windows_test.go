//go:build windows

package action

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/state"
)

// TestTimeoutKillsTheTreeOnWindows: an action that started a child and hangs
// is ended with its child at --action-timeout (a job object), so nothing the
// action started keeps running after drain reported it dead.
func TestTimeoutKillsTheTreeOnWindows(t *testing.T) {
	pidFile := filepath.Join(tempDir(t), "child.pid")
	t.Setenv("DRAIN_TEST_SPAWN", pidFile)
	a, err := newExec([]string{os.Args[0]}, false)
	if err != nil {
		t.Fatal(err)
	}
	a.Timeout = 3 * time.Second
	start := time.Now()
	res, err := a.Run(context.Background(), io.Discard, io.Discard)
	if !res.TimedOut || !errors.Is(err, ErrFailed) {
		t.Fatalf("res=%+v err=%v, want a timeout", res, err)
	}
	if el := time.Since(start); el > 20*time.Second {
		t.Errorf("took %s to stop the action", el)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the child never started: %v", err)
	}
	pid, _ := strconv.Atoi(string(b))
	deadline := time.Now().Add(5 * time.Second)
	for state.ProcessAlive(pid) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if state.ProcessAlive(pid) {
		t.Fatalf("child %d survived the action timeout", pid)
	}
}

func TestExitCodeAndOutputOnWindows(t *testing.T) {
	a, err := New([]string{"cmd", "/c", "echo out& echo err 1>&2& exit 3"}, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	res, err := a.Run(context.Background(), &out, &errOut)
	if !errors.Is(err, ErrFailed) || res.ExitCode != 3 {
		t.Fatalf("res=%+v err=%v, want exit 3", res, err)
	}
	if !bytes.Contains(out.Bytes(), []byte("out")) || !bytes.Contains(errOut.Bytes(), []byte("err")) {
		t.Errorf("out=%q err=%q", out.String(), errOut.String())
	}
}

// TestNormalExitLeavesChildrenAlone: as on Unix, only a timeout or an
// interrupt ends the action's children; one that exits by itself may leave
// something running on purpose.
func TestNormalExitLeavesChildrenAlone(t *testing.T) {
	pidFile := filepath.Join(tempDir(t), "child.pid")
	t.Setenv("DRAIN_TEST_SPAWN", pidFile)
	t.Setenv("DRAIN_TEST_PARENT_EXITS", "1")
	a, err := newExec([]string{os.Args[0]}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Run(context.Background(), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	var pid int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if b, err := os.ReadFile(pidFile); err == nil && len(b) > 0 {
			pid, _ = strconv.Atoi(string(b))
			break
		}
	}
	if pid == 0 {
		t.Fatal("the child never started")
	}
	if !state.ProcessAlive(pid) {
		t.Fatalf("child %d was killed when the action exited normally", pid)
	}
	p, err := os.FindProcess(pid)
	if err == nil {
		_ = p.Kill()
	}
}
