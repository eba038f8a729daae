//go:build windows

package action

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/drain-cli/drain/internal/state"
	"github.com/drain-cli/drain/internal/testutil"
)

// TestTimeoutKillsTheTreeOnWindows: an action that started a child and hangs
// is ended with its child at --action-timeout (a job object), so nothing the
// action started keeps running after drain reported it dead.
func TestTimeoutKillsTheTreeOnWindows(t *testing.T) {
	pidFile := filepath.Join(testutil.TempDir(t), "child.pid")
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
	pidFile := filepath.Join(testutil.TempDir(t), "child.pid")
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

// init: with DRAIN_TEST_IN_JOB set, the test binary puts itself in a job
// object that forbids nesting (UI limits), then runs an action that starts a
// child and hangs, with a short timeout, and prints the action's stderr.
func init() {
	pidFile := os.Getenv("DRAIN_TEST_IN_JOB")
	if pidFile == "" {
		return
	}
	_ = os.Unsetenv("DRAIN_TEST_IN_JOB")
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		fmt.Println("create job:", err)
		os.Exit(99)
	}
	ui := struct{ UIRestrictionsClass uint32 }{windows.JOB_OBJECT_UILIMIT_HANDLES}
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectBasicUIRestrictions,
		uintptr(unsafe.Pointer(&ui)), uint32(unsafe.Sizeof(ui))); err != nil {
		fmt.Println("set UI limits:", err)
		os.Exit(99)
	}
	if err := windows.AssignProcessToJobObject(job, windows.CurrentProcess()); err != nil {
		fmt.Println("assign self:", err)
		os.Exit(99)
	}
	_ = os.Setenv("DRAIN_TEST_SPAWN", pidFile)
	a := &Exec{Argv: []string{os.Args[0]}, Timeout: 3 * time.Second}
	var errOut bytes.Buffer
	_, err = a.Run(context.Background(), io.Discard, &errOut)
	fmt.Printf("stderr: %s\nerr: %v\n", errOut.String(), err)
	os.Exit(0)
}

// Where the action cannot be put in a job object of its own (drain itself
// runs in a job that forbids nesting), drain says so rather than silently
// ending only the direct child at the timeout.
func TestActionOutsideAJobIsSaidSo(t *testing.T) {
	pidFile := filepath.Join(testutil.TempDir(t), "child.pid")
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "DRAIN_TEST_IN_JOB="+pidFile)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got := string(out)
	if !strings.Contains(got, "err: action failed: timed out") {
		t.Fatalf("the action did not time out:\n%s", got)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the action's child never started: %v", err)
	}
	pid, _ := strconv.Atoi(string(b))
	deadline := time.Now().Add(5 * time.Second)
	for state.ProcessAlive(pid) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	alive := state.ProcessAlive(pid)
	if alive {
		if p, err := os.FindProcess(pid); err == nil {
			_ = p.Kill()
		}
	}
	switch said := strings.Contains(got, "runs outside a job object"); {
	case said && alive:
		t.Logf("nesting refused and said so: %s", got) // the child outlived the timeout, as announced
	case said:
		t.Errorf("said it runs outside a job, yet its child died with it:\n%s", got)
	case alive:
		t.Errorf("child %d survived the timeout and nothing said the action was outside a job:\n%s", pid, got)
	default:
		t.Logf("nesting allowed here (Wine 8 allows it): the child died with the action")
	}
}
