package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The lock tests re-execute the test binary as real, separate drain-like
// processes: DRAIN_LOCKTEST_CHILD=DIR|TARGET makes it take the lock, check
// that nobody else holds it at the same time, and exit.
func TestMain(m *testing.M) {
	if spec := os.Getenv("DRAIN_LOCKTEST_CHILD"); spec != "" {
		os.Exit(lockChild(spec))
	}
	os.Exit(m.Run())
}

const (
	childHeld    = 0
	childBusy    = 3
	childOverlap = 5
)

// lockChild waits for the start signal (a file named go), takes the lock and,
// while holding it, creates the file holding with O_EXCL: if it exists,
// another process holds the lock at the same time.
func lockChild(spec string) int {
	dir, target, _ := strings.Cut(spec, "|")
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(filepath.Join(dir, "go")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			fmt.Fprintln(os.Stderr, "no start signal")
			return 1
		}
	}
	host, _ := os.Hostname()
	l, _, err := Store{Dir: filepath.Join(dir, "state")}.Lock(target, Holder{PID: os.Getpid(), Host: host, Command: "test", Since: time.Now()})
	var le *LockedError
	if errors.As(err, &le) {
		return childBusy
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer l.Release()
	marker := filepath.Join(dir, "holding")
	f, err := os.OpenFile(marker, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, "two holders:", err)
		return childOverlap
	}
	_ = f.Close()
	time.Sleep(30 * time.Millisecond) // hold it a while, so that an overlap shows
	_ = os.Remove(marker)
	return childHeld
}

// deadPID returns the pid of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// writeStaleLock leaves a lock file as a drain killed with SIGKILL does.
func writeStaleLock(t *testing.T, s Store, target string, h any) string {
	t.Helper()
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	path := strings.TrimSuffix(s.file(target), ".json") + ".lock"
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestStaleLockTakeOverIsExclusive starts 12 processes at once against a
// lock left by a dead drain, many times over: at most one may hold the lock
// at any moment (issue 12, item 8: the old read-check-remove-recreate
// take-over let three hold it together).
func TestStaleLockTakeOverIsExclusive(t *testing.T) {
	rounds, procs := 25, 12
	if runtime.GOOS == "windows" {
		rounds = 3 // each process start costs about a second under Wine
	}
	if testing.Short() {
		rounds = 3
	}
	host, _ := os.Hostname()
	dead := deadPID(t)
	target := filepath.Join(t.TempDir(), "keepalive.htm")
	for round := range rounds {
		dir := t.TempDir()
		s := Store{Dir: filepath.Join(dir, "state")}
		writeStaleLock(t, s, target, map[string]any{"pid": dead, "host": host, "command": "run", "since": time.Now().Add(-time.Hour)})
		cmds := make([]*exec.Cmd, procs)
		outs := make([]*strings.Builder, procs)
		for i := range cmds {
			outs[i] = &strings.Builder{}
			cmds[i] = exec.Command(os.Args[0], "-test.run=^$")
			cmds[i].Env = append(os.Environ(), "DRAIN_LOCKTEST_CHILD="+dir+"|"+target)
			cmds[i].Stderr = outs[i]
			if err := cmds[i].Start(); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		held, overlaps := 0, 0
		for i, c := range cmds {
			err := c.Wait()
			code := c.ProcessState.ExitCode()
			switch code {
			case childHeld:
				held++
			case childBusy:
			case childOverlap:
				overlaps++
			default:
				t.Errorf("round %d: child exited %d (%v): %s", round, code, err, outs[i])
			}
		}
		if overlaps > 0 {
			t.Fatalf("round %d: %d processes found the lock held by another while they held it", round, overlaps)
		}
		if held == 0 {
			t.Fatalf("round %d: no process took over the stale lock", round)
		}
	}
}

// TestLockNamingALiveUnrelatedProcessIsTakenOver: a lock file left behind
// (a killed drain, a reboot) whose pid now belongs to some other live
// process must not block (issue 12, item 9).
func TestLockNamingALiveUnrelatedProcessIsTakenOver(t *testing.T) {
	other := exec.Command(os.Args[0], "-test.run=^TestSleepForever$")
	other.Env = append(os.Environ(), "DRAIN_SLEEP_FOREVER=1")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Process.Kill(); _ = other.Wait() })
	host, _ := os.Hostname()
	s := Store{Dir: t.TempDir()}
	target := "/srv/www/keepalive.htm"
	// As written by a drain that ran an hour ago under that pid.
	writeStaleLock(t, s, target, map[string]any{"pid": other.Process.Pid, "host": host, "command": "run", "since": time.Now().Add(-time.Hour), "start": time.Now().Add(-time.Hour)})
	l, stale, err := s.Lock(target, Holder{PID: os.Getpid(), Host: host, Command: "out", Since: time.Now()})
	if err != nil {
		t.Fatalf("a lock naming an unrelated live process blocks: %v", err)
	}
	defer l.Release()
	if stale == nil || stale.PID != other.Process.Pid {
		t.Errorf("stale holder = %+v, want the one the file named (pid %d)", stale, other.Process.Pid)
	}
}

// TestLockOfAnOlderDrainNamingALivePidBlocks: a lock file without a start
// time was written by an older drain, which took no OS lock: its pid alive
// may be that drain running now, so it blocks, naming the file to remove if
// that pid is not a drain.
func TestLockOfAnOlderDrainNamingALivePidBlocks(t *testing.T) {
	other := exec.Command(os.Args[0], "-test.run=^TestSleepForever$")
	other.Env = append(os.Environ(), "DRAIN_SLEEP_FOREVER=1")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Process.Kill(); _ = other.Wait() })
	host, _ := os.Hostname()
	s := Store{Dir: t.TempDir()}
	target := "/srv/www/keepalive.htm"
	file := writeStaleLock(t, s, target, map[string]any{"pid": other.Process.Pid, "host": host, "command": "run", "since": time.Now()})
	_, _, err := s.Lock(target, Holder{PID: os.Getpid(), Host: host, Command: "out", Since: time.Now()})
	var le *LockedError
	if !errors.As(err, &le) || !le.Legacy {
		t.Fatalf("err = %v, want a LockedError for an older drain's lock", err)
	}
	if !strings.Contains(le.Error(), "written by an older drain") || !strings.Contains(le.Hint(), "remove "+file) {
		t.Errorf("message %q, hint %q", le.Error(), le.Hint())
	}
	// Once that process is gone, the lock is taken over.
	_ = other.Process.Kill()
	_ = other.Wait()
	l, stale, err := s.Lock(target, Holder{PID: os.Getpid(), Host: host, Command: "out", Since: time.Now()})
	if err != nil || stale == nil {
		t.Fatalf("after the holder died: %v, stale %v", err, stale)
	}
	l.Release()
}

// TestSleepForever is the unrelated process of the tests above.
func TestSleepForever(t *testing.T) {
	if os.Getenv("DRAIN_SLEEP_FOREVER") == "" {
		t.Skip("helper process")
	}
	time.Sleep(time.Hour)
}

// TestLockIsExclusiveAndReleased: a second taker fails while the first
// holds it, with an error naming the holder and the lock file; after
// Release the next taker gets it without a stale report.
func TestLockIsExclusiveAndReleased(t *testing.T) {
	dir := t.TempDir()
	s := Store{Dir: filepath.Join(dir, "state")}
	target := "/srv/www/keepalive.htm"
	host, _ := os.Hostname()
	me := Holder{PID: os.Getpid(), Host: host, Command: "run", Reason: "release 7", Since: time.Now()}
	l, stale, err := s.Lock(target, me)
	if err != nil || stale != nil {
		t.Fatalf("first lock: %v, stale %v", err, stale)
	}
	// Another process tries while we hold it.
	if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "DRAIN_LOCKTEST_CHILD="+dir+"|"+target)
	_ = child.Run()
	if code := child.ProcessState.ExitCode(); code != childBusy {
		t.Errorf("a second process taking a held lock exited %d, want busy (%d)", code, childBusy)
	}
	_, _, err = s.Lock(target, me)
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second lock in the same process: %v, want a LockedError", err)
	}
	msg := le.Error()
	for _, want := range []string{"is busy", "pid " + strconv.Itoa(os.Getpid()), `reason "release 7"`, ".lock"} {
		if !strings.Contains(msg, want) {
			t.Errorf("busy error %q does not say %q", msg, want)
		}
	}
	l.Release()
	l2, stale, err := s.Lock(target, me)
	if err != nil || stale != nil {
		t.Fatalf("after release: %v, stale %v", err, stale)
	}
	l2.Release()
	if _, err := os.Stat(s.Dir); errors.Is(err, fs.ErrNotExist) {
		t.Fatal("state dir gone")
	}
}

// TestBusyMessageWhenTheNamedHolderIsGone: the OS lock is held, but the file
// names a process that is gone (a drain taking over this instant, or another
// program holding the file): the message says so, and the hint how to find
// the real holder.
func TestBusyMessageWhenTheNamedHolderIsGone(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	target := "/srv/www/keepalive.htm"
	host, _ := os.Hostname()
	l, _, err := s.Lock(target, Holder{PID: os.Getpid(), Host: host, Command: "run", Since: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	writeStaleLock(t, s, target, map[string]any{"pid": deadPID(t), "host": host, "command": "run", "since": time.Now()})
	_, _, err = s.Lock(target, Holder{PID: os.Getpid(), Host: host, Command: "out", Since: time.Now()})
	var le *LockedError
	if !errors.As(err, &le) || le.Verified {
		t.Fatalf("err = %v (%+v), want an unverified LockedError", err, le)
	}
	if !strings.Contains(le.Error(), "held by a process other than the drain run") || !strings.Contains(le.Hint(), "find the process holding the file") {
		t.Errorf("message %q, hint %q", le.Error(), le.Hint())
	}
}
