//go:build !windows

package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Issue 23 item 9: a state directory shared with a group (a pipeline agent's)
// must not be a way for a member of that group to make root's drain clobber
// a file. These tests run as root (here and in CI) with a real
// group-writable directory and real links to a root-only file.

const nogroup = 65534

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the attack is on root's drain (the tests run as root in CI)")
	}
}

// sharedDir is a state directory made as the README says for a group:
// owned by root, writable by the group, setgid and sticky.
func sharedDir(t *testing.T, mode os.FileMode) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 0, nogroup); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
	return dir
}

const sharedMode = 0o770 | os.ModeSetgid | os.ModeSticky

// rootSecret is a root-only file (a stand-in for /etc/shadow).
func rootSecret(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "shadow")
	if err := os.WriteFile(p, []byte("root:$6$secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func secretUnchanged(t *testing.T, p string) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if fi.Mode().Perm() != 0o600 || string(b) != "root:$6$secret\n" {
		t.Errorf("the root-only file was changed: mode %v, content %q", fi.Mode().Perm(), b)
	}
}

func oneLine(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one naming %q", want)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not say %q", msg, w)
		}
	}
}

const sharedKey = "keepalive:/srv/www/keepalive.htm"

func TestLockRefusesASymlinkToARootFile(t *testing.T) {
	needRoot(t)
	s := Store{Dir: sharedDir(t, sharedMode)}
	secret := rootSecret(t)
	if err := os.Symlink(secret, s.LockFile(sharedKey)); err != nil {
		t.Fatal(err)
	}
	l, _, err := s.Lock(sharedKey, Holder{PID: os.Getpid(), Command: "out", Since: time.Now()})
	if err == nil {
		l.Release()
	}
	secretUnchanged(t, secret)
	oneLine(t, err, s.LockFile(sharedKey), "symbolic link")
}

func TestLockRefusesAHardLinkToARootFile(t *testing.T) {
	needRoot(t)
	s := Store{Dir: sharedDir(t, sharedMode)}
	secret := rootSecret(t)
	if err := os.Link(secret, s.LockFile(sharedKey)); err != nil {
		t.Fatal(err)
	}
	l, _, err := s.Lock(sharedKey, Holder{PID: os.Getpid(), Command: "out", Since: time.Now()})
	if err == nil {
		l.Release()
	}
	secretUnchanged(t, secret)
	oneLine(t, err, s.LockFile(sharedKey), "hard link")
}

func TestFindRefusesASymlinkedRecord(t *testing.T) {
	needRoot(t)
	s := Store{Dir: sharedDir(t, sharedMode)}
	secret := rootSecret(t)
	if err := os.Symlink(secret, s.File(sharedKey)); err != nil {
		t.Fatal(err)
	}
	_, _, err := s.Find(sharedKey)
	oneLine(t, err, s.File(sharedKey), "symbolic link")
	if strings.Contains(err.Error(), "corrupt") || strings.Contains(err.Error(), "'r'") {
		t.Errorf("the error reads the linked file: %v", err)
	}
	// Save replaces the link itself, never writes through it.
	if err := s.Save(&Record{Target: sharedKey, PID: os.Getpid()}); err != nil {
		t.Fatal(err)
	}
	secretUnchanged(t, secret)
}

func TestFindRefusesAFIFORecord(t *testing.T) {
	needRoot(t)
	s := Store{Dir: sharedDir(t, sharedMode)}
	if err := syscall.Mkfifo(s.File(sharedKey), 0o660); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, _, err := s.Find(sharedKey); done <- err }()
	select {
	case err := <-done:
		oneLine(t, err, s.File(sharedKey), "named pipe")
	case <-time.After(30 * time.Second):
		t.Fatal("Find blocked on a FIFO for 30 s")
	}
}

// A record root's drain would act on must be root's own: one the group
// could have written (a pipeline agent's, or planted) is refused, saying
// whose it is.
func TestRootRefusesARecordOfAnotherAccount(t *testing.T) {
	needRoot(t)
	s := Store{Dir: sharedDir(t, sharedMode)}
	if err := s.Save(&Record{Target: sharedKey, PID: os.Getpid(), Reason: "mine"}); err != nil {
		t.Fatal(err)
	}
	if r, _, err := s.Find(sharedKey); err != nil || r == nil || r.Reason != "mine" {
		t.Fatalf("root's own record: %+v, %v", r, err)
	}
	if err := os.Chown(s.File(sharedKey), nogroup, nogroup); err != nil {
		t.Fatal(err)
	}
	r, _, err := s.Find(sharedKey)
	oneLine(t, err, s.File(sharedKey), "uid 65534", "not by root", "chown root "+s.File(sharedKey))
	if r == nil || r.Reason != "mine" {
		t.Errorf("the record comes with the error, for status to show: %+v", r)
	}
	var ue *UntrustedFileError
	if !errors.As(err, &ue) {
		t.Errorf("error %v: want an UntrustedFileError", err)
	}
	// The account that wrote it still reads it.
	asAdmin(t, false)
	if r, _, err := s.Find(sharedKey); err != nil || r == nil {
		t.Errorf("a plain account's Find of a group record: %+v, %v", r, err)
	}
}

// A record renamed onto another target's file name is not that target's.
func TestFindRefusesTheRecordOfAnotherTarget(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	other := "keepalive:/srv/www/other.htm"
	if err := s.Save(&Record{Target: other, Version: RecordVersion, PID: os.Getpid()}); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(s.File(other), s.File(sharedKey)); err != nil {
		t.Fatal(err)
	}
	_, _, err := s.Find(sharedKey)
	oneLine(t, err, s.File(sharedKey), other)
}

// Without the sticky bit any member of the group can remove or replace
// another account's records and locks (a lock file removed while held lets
// a second drain lock a new one): refused, with the fix.
func TestGroupWritableStateDirWithoutStickyBitIsRefused(t *testing.T) {
	needRoot(t)
	dir := sharedDir(t, 0o770|os.ModeSetgid)
	s := Store{Dir: dir}
	l, _, err := s.Lock(sharedKey, Holder{PID: os.Getpid(), Command: "out", Since: time.Now()})
	if err == nil {
		l.Release()
	}
	oneLine(t, err, dir, "sticky")
	var ue *UnsafeDirError
	if !errors.As(err, &ue) || !strings.Contains(ue.Hint(), "chmod +t "+dir) {
		t.Errorf("error %v: want an UnsafeDirError whose hint is chmod +t", err)
	}
	oneLine(t, s.Save(&Record{Target: sharedKey, PID: os.Getpid()}), dir, "sticky")
}

// In a shared directory, lock files are writable by the group (every drain
// writes its name into the lock it holds) but records are not: a member of
// the group must not be able to rewrite root's record in place.
func TestSharedRecordsAreNotGroupWritable(t *testing.T) {
	needRoot(t)
	s := Store{Dir: sharedDir(t, sharedMode)}
	if err := s.Save(&Record{Target: sharedKey, PID: os.Getpid()}); err != nil {
		t.Fatal(err)
	}
	l, _, err := s.Lock(sharedKey, Holder{PID: os.Getpid(), Command: "out", Since: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	for file, want := range map[string]os.FileMode{s.File(sharedKey): 0o640, s.LockFile(sharedKey): 0o660} {
		fi, err := os.Lstat(file)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", file, fi.Mode(), want)
		}
	}
}

// A lock file left by another account of the group (0600 from before the
// directory was shared) is still taken by root, through the open file.
func TestLockFileOfAnotherAccountIsTaken(t *testing.T) {
	needRoot(t)
	s := Store{Dir: sharedDir(t, sharedMode)}
	p := s.LockFile(sharedKey)
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, nogroup, nogroup); err != nil {
		t.Fatal(err)
	}
	l, _, err := s.Lock(sharedKey, Holder{PID: os.Getpid(), Command: "out", Since: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	l.Release()
}
