//go:build windows

package state

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The Windows side of issue 23 item 9: a symbolic link or a hard link put
// where a lock or record is expected is opened itself
// (FILE_FLAG_OPEN_REPARSE_POINT), seen through the handle and refused; the
// file it leads to is unchanged.

const winKey = `keepalive:C:\inetpub\wwwroot\keepalive.htm`

func winSecret(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(p, []byte("secret\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func winSecretUnchanged(t *testing.T, p string) {
	t.Helper()
	if b, err := os.ReadFile(p); err != nil || string(b) != "secret\r\n" {
		t.Errorf("the linked file was changed: %q %v", b, err)
	}
}

func refused(t *testing.T, err error, file, what string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), what) || strings.Contains(err.Error(), "\n") {
		t.Errorf("error %v; want one line naming %s as %s", err, file, what)
	}
}

func TestWindowsLockRefusesASymlink(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	secret := winSecret(t)
	if err := os.Symlink(secret, s.LockFile(winKey)); err != nil {
		t.Skipf("cannot create a symlink here (a privilege on Windows): %v", err)
	}
	if _, err := os.Lstat(s.LockFile(winKey)); err != nil {
		// Wine 8's CreateSymbolicLinkW answers success and makes nothing.
		t.Skipf("CreateSymbolicLinkW succeeded but made no link (Wine): %v; runs on a real Windows", err)
	}
	l, _, err := s.Lock(winKey, Holder{PID: os.Getpid(), Command: "out", Since: time.Now()})
	if err == nil {
		l.Release()
	}
	winSecretUnchanged(t, secret)
	refused(t, err, s.LockFile(winKey), "symbolic link")
	_, _, err = s.Find(winKey)
	if err != nil {
		t.Fatalf("Find with no record: %v", err)
	}
	if err := os.Symlink(secret, s.File(winKey)); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Find(winKey)
	refused(t, err, s.File(winKey), "symbolic link")
}

func TestWindowsLockRefusesAHardLink(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	secret := winSecret(t)
	if err := os.Link(secret, s.LockFile(winKey)); err != nil {
		t.Fatal(err)
	}
	l, _, err := s.Lock(winKey, Holder{PID: os.Getpid(), Command: "out", Since: time.Now()})
	if err == nil {
		l.Release()
	}
	winSecretUnchanged(t, secret)
	refused(t, err, s.LockFile(winKey), "hard link")
}

// A record this account wrote is its own: read back, owner checked.
func TestWindowsOwnRecordIsTrustedByAnAdministrator(t *testing.T) {
	asAdmin(t, true)
	s := Store{Dir: t.TempDir()}
	if err := s.Save(&Record{Target: winKey, PID: os.Getpid(), Reason: "mine"}); err != nil {
		t.Fatal(err)
	}
	if r, _, err := s.Find(winKey); err != nil || r == nil || r.Reason != "mine" {
		t.Fatalf("own record: %+v %v", r, err)
	}
	if h, err := openFile(s.File(winKey), false, false, 0); err != nil {
		t.Fatal(err)
	} else {
		defer h.Close()
		ff, err := factsOf(h)
		if err != nil || ff.kind != "" || ff.links != 1 || ff.untrusted != "" {
			t.Errorf("facts of own record: %+v %v", ff, err)
		}
	}
}
