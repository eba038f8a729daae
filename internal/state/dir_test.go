package state

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"
)

// machineEnv points the machine-wide and the per-user directories at
// temporary ones.
func machineEnv(t *testing.T) (machine, user string) {
	t.Helper()
	tmp := t.TempDir()
	machine, user = filepath.Join(tmp, "machine"), filepath.Join(tmp, "user")
	t.Setenv(MachineDirEnv, machine)
	t.Setenv("XDG_STATE_HOME", user)
	t.Setenv("LOCALAPPDATA", user)
	t.Setenv("HOME", filepath.Join(tmp, "home"))
	return machine, filepath.Join(user, "drain")
}

func asAdmin(t *testing.T, admin bool) {
	t.Helper()
	was := isAdmin
	isAdmin = func() bool { return admin }
	t.Cleanup(func() { isAdmin = was })
}

// TestDefaultStoreIsMachineWideForAdministrators (issue 9): an
// administrator's records and locks live in the machine-wide directory, and
// the per-user one where older drains kept them is still read.
func TestDefaultStoreIsMachineWideForAdministrators(t *testing.T) {
	machine, user := machineEnv(t)
	asAdmin(t, true)
	s, err := DefaultStore()
	if err != nil {
		t.Fatal(err)
	}
	if s.Dir != machine || !s.Machine {
		t.Errorf("store %+v, want the machine-wide dir %s", s, machine)
	}
	if !slices.Contains(s.Old, user) {
		t.Errorf("old dirs %v do not include the per-user dir %s", s.Old, user)
	}
	if err := s.Save(&Record{Target: "/srv/www/keepalive.htm", PID: os.Getpid()}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(machine); err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o700) {
		t.Errorf("machine dir after save: %v, %v; want created, mode 0700", fi, err)
	}
}

// TestDefaultStoreOfOtherAccounts: an account that is not an administrator
// keeps its per-user directory unless an administrator has made the
// machine-wide one writable for it.
func TestDefaultStoreOfOtherAccounts(t *testing.T) {
	machine, user := machineEnv(t)
	asAdmin(t, false)
	s, err := DefaultStore()
	if err != nil || s.Dir != user || s.Machine || len(s.Old) != 0 {
		t.Fatalf("no machine dir: store %+v, %v; want the per-user dir %s", s, err, user)
	}
	if err := os.MkdirAll(machine, 0o770); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS == "windows" {
		// Made by this (plain) account: on Windows the owner decides.
		var ue *UnsafeDirError
		if _, err := DefaultStore(); !errors.As(err, &ue) {
			t.Errorf("machine dir owned by a plain account: %v, want it refused", err)
		}
		return
	}
	s, err = DefaultStore()
	if err != nil || s.Dir != machine {
		t.Fatalf("writable machine dir: store %+v, %v; want %s", s, err, machine)
	}
}

// TestUntrustedMachineDirIsRefused: records say which files to rename back,
// so a machine-wide directory that any user could have written is refused,
// with the fix.
func TestUntrustedMachineDirIsRefused(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the Windows owner check is TestMachineDirRights")
	}
	machine, _ := machineEnv(t)
	asAdmin(t, true)
	if err := os.MkdirAll(machine, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(machine, 0o777); err != nil {
		t.Fatal(err)
	}
	_, err := DefaultStore()
	var ue *UnsafeDirError
	if !errors.As(err, &ue) || ue.Hint() == "" {
		t.Fatalf("world-writable machine dir: %v, want an UnsafeDirError with a hint", err)
	}
	if err := os.Chmod(machine, 0o700); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(machine, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if _, err := DefaultStore(); !errors.As(err, &ue) {
			t.Errorf("machine dir owned by nobody: %v, want an UnsafeDirError", err)
		}
	}
}

// TestRecordInOldDirIsFoundAndRemoved: a record an older drain left in the
// per-user directory is found (and said to be there), and Delete (drain in)
// and Save (a new run) remove it.
func TestRecordInOldDirIsFoundAndRemoved(t *testing.T) {
	tmp := t.TempDir()
	old := Store{Dir: filepath.Join(tmp, "user")}
	s := Store{Dir: filepath.Join(tmp, "machine"), Old: []string{old.Dir}}
	target := "/srv/www/keepalive.htm"
	if err := old.Save(&Record{Target: target, Method: "content", Reason: "UP", PID: 1}); err != nil {
		t.Fatal(err)
	}
	r, file, err := s.Find(target)
	if err != nil || r == nil || r.Reason != "UP" || !s.IsOld(file) {
		t.Fatalf("Find: %+v %s %v; want the old record, in the old dir", r, file, err)
	}
	if err := s.Delete(target); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("old record still there after Delete: %v", err)
	}
	if err := old.Save(&Record{Target: target, PID: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(&Record{Target: target, PID: os.Getpid()}); err != nil {
		t.Fatal(err)
	}
	if r, file, _ := s.Find(target); r == nil || s.IsOld(file) || r.PID != os.Getpid() {
		t.Errorf("after Save: %+v in %s; want the new record in %s", r, file, s.Dir)
	}
	if _, err := os.Stat(old.file(target)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("old record still there after Save: %v", err)
	}
}

// TestProcessStart: the start time read back for a child is when it started,
// and a record naming its pid with another start time is not it (a reused
// pid, issue 12 item 9).
func TestProcessStart(t *testing.T) {
	before := time.Now()
	child := exec.Command(os.Args[0], "-test.run=^TestSleepForever$")
	child.Env = append(os.Environ(), "DRAIN_SLEEP_FOREVER=1")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	pid := child.Process.Pid
	start, err := ProcessStart(pid)
	if err != nil {
		t.Fatalf("ProcessStart: %v", err)
	}
	if start.Before(before.Add(-3*time.Second)) || start.After(after.Add(3*time.Second)) {
		t.Errorf("start %v, want between %v and %v", start, before, after)
	}
	if !SameProcess(pid, start) {
		t.Error("SameProcess(pid, its start) = false")
	}
	if !SameProcess(pid, time.Time{}) {
		t.Error("SameProcess(pid, no start recorded) = false; want the pid alone to decide")
	}
	if SameProcess(pid, start.Add(-time.Hour)) {
		t.Error("SameProcess(pid, start an hour earlier) = true: a reused pid is taken for the recorder")
	}
	me, err := ProcessStart(os.Getpid())
	if err != nil || me.After(time.Now()) || !SameProcess(os.Getpid(), me) {
		t.Errorf("own start %v, %v", me, err)
	}
	_ = child.Process.Kill()
	_ = child.Wait()
	if SameProcess(pid, start) {
		t.Error("SameProcess of a process that has exited = true")
	}
}
