//go:build !windows

package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// sharedBed is a machine-wide state directory shared with a group, as the
// README says (install -d -m 3770 -g GROUP), a keep-alive page only root may
// write, a root-only file (a stand-in for /etc/shadow), and the built drain
// run as root or as nobody (a member of the directory's group, as a
// pipeline agent's account would be).
type sharedBed struct {
	drain, base, machine, page, secret string
}

const nobodyID = 65534

func newSharedBed(t *testing.T, mode os.FileMode) *sharedBed {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the attack is a group member's on root's drain (the tests run as root in CI)")
	}
	b := &sharedBed{drain: buildDrain(t), base: t.TempDir()}
	for _, d := range []string{filepath.Dir(b.base), b.base, filepath.Dir(b.drain)} {
		must(t, os.Chmod(d, 0o755))
	}
	www := filepath.Join(b.base, "www")
	must(t, os.Mkdir(www, 0o755))
	b.page = filepath.Join(www, "keepalive.htm")
	must(t, os.WriteFile(b.page, []byte("OK\n"), 0o644))
	b.secret = filepath.Join(b.base, "shadow")
	must(t, os.WriteFile(b.secret, []byte("root:$6$secret\n"), 0o600))
	b.machine = filepath.Join(b.base, "machine") // stands in for /var/lib/drain
	must(t, os.Mkdir(b.machine, 0o700))
	must(t, os.Chown(b.machine, 0, nobodyID))
	must(t, os.Chmod(b.machine, mode))
	return b
}

// run runs drain (or, with prog, another program) as root or as nobody.
func (b *sharedBed) run(t *testing.T, asNobody bool, prog string, args ...string) (string, int) {
	t.Helper()
	if prog == "" {
		prog = b.drain
	}
	c := exec.Command(prog, args...)
	user, home := "root", filepath.Join(b.base, "home-root")
	if asNobody {
		user, home = "nobody", filepath.Join(b.base, "home-nobody")
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobodyID, Gid: nobodyID}}
	}
	c.Env = []string{"NO_COLOR=1", "HOME=" + home, "USER=" + user, "PATH=" + os.Getenv("PATH"), "DRAIN_MACHINE_STATE_DIR=" + b.machine}
	out, err := c.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case errorsAs(err, &ee):
		return string(out), ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return string(out), 0
}

func (b *sharedBed) secretUnchanged(t *testing.T) {
	t.Helper()
	fi, err := os.Stat(b.secret)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(b.secret)
	if fi.Mode().Perm() != 0o600 || string(got) != "root:$6$secret\n" {
		t.Fatalf("root's drain changed the root-only file: mode %v, content %q", fi.Mode().Perm(), got)
	}
}

func (b *sharedBed) pageIn(t *testing.T) {
	t.Helper()
	if got, err := os.ReadFile(b.page); err != nil || string(got) != "OK\n" {
		t.Fatalf("page: %q, %v; want it in place, unchanged", got, err)
	}
}

// stateFile is the name drain gives the page's record or lock (ext
// ".json" or ".lock") in the machine directory, found by an out and in in a
// scratch directory (while the page is in).
func (b *sharedBed) stateFile(t *testing.T, ext string) string {
	t.Helper()
	scratch := t.TempDir()
	for _, cmd := range []string{"out", "in"} {
		if out, code := b.run(t, false, "", cmd, "--keepalive", b.page, "--state-dir", scratch); code != 0 {
			t.Fatalf("scratch %s: exit %d\n%s", cmd, code, out)
		}
	}
	m, _ := filepath.Glob(filepath.Join(scratch, "*.lock"))
	if len(m) != 1 {
		t.Fatalf("scratch state dir has %v, want one lock file", m)
	}
	return filepath.Join(b.machine, strings.TrimSuffix(filepath.Base(m[0]), ".lock")+ext)
}

// TestSharedDirSymlinkedLock (issue 23 item 9): a member of the state
// directory's group plants a symlink to a root-only file where the page's
// lock file will be. root's drain out refuses with one line naming the
// lock file; the file is unchanged (it used to be chmodded 0660 and
// truncated) and the page is still in rotation.
func TestSharedDirSymlinkedLock(t *testing.T) {
	b := newSharedBed(t, 0o770|os.ModeSetgid|os.ModeSticky)
	lock := b.stateFile(t, ".lock")
	if out, code := b.run(t, true, "ln", "-s", b.secret, lock); code != 0 {
		t.Fatalf("nobody's ln -s: exit %d\n%s", code, out)
	}
	out, code := b.run(t, false, "", "out", "--keepalive", b.page)
	b.secretUnchanged(t)
	b.pageIn(t)
	if code != 1 || !strings.Contains(out, lock+" is a symbolic link") || !strings.Contains(out, "refusing to use it") {
		t.Errorf("root's out with a symlinked lock: exit %d, want 1 and one line naming it:\n%s", code, out)
	}
	// Once it is removed, root drains as usual.
	must(t, os.Remove(lock))
	for _, cmd := range []string{"out", "in"} {
		if out, code := b.run(t, false, "", cmd, "--keepalive", b.page); code != 0 {
			t.Fatalf("root's %s: exit %d\n%s", cmd, code, out)
		}
	}
	b.pageIn(t)
}

// TestSharedDirEditedRecord (issue 23 item 10): root's record is edited so
// that the page's disabled name is another file. root's drain in refuses
// (exit 2) naming it; the file stays where it was (it used to be renamed
// onto the keep-alive page and in reported IN).
func TestSharedDirEditedRecord(t *testing.T) {
	b := newSharedBed(t, 0o770|os.ModeSetgid|os.ModeSticky)
	recFile := b.stateFile(t, ".json")
	if out, code := b.run(t, false, "", "out", "--keepalive", b.page); code != 0 {
		t.Fatalf("root's out: exit %d\n%s", code, out)
	}
	raw, err := os.ReadFile(recFile)
	must(t, err)
	var rec map[string]any
	must(t, json.Unmarshal(raw, &rec))
	undo := rec["entries"].([]any)[0].(map[string]any)["undo"].(map[string]any)
	undo["disabled_path"] = b.secret
	edited, err := json.Marshal(rec)
	must(t, err)
	must(t, os.WriteFile(recFile, edited, 0o640))

	out, code := b.run(t, false, "", "in", "--keepalive", b.page)
	b.secretUnchanged(t)
	if _, err := os.Lstat(b.page); err == nil {
		t.Fatal("something was put at the page")
	}
	if code != 2 || !strings.Contains(out, "refusing to rename that file onto the page") || !strings.Contains(out, b.secret) {
		t.Errorf("root's in with an edited record: exit %d, want 2 naming the file:\n%s", code, out)
	}
	must(t, os.WriteFile(recFile, raw, 0o640))
	if out, code := b.run(t, false, "", "in", "--keepalive", b.page); code != 0 {
		t.Fatalf("root's in with its own record: exit %d\n%s", code, out)
	}
	b.pageIn(t)
}

// TestSharedDirRecordOfAGroupMember (issue 23 item 10): a record written by
// another account (nobody, a member of the group) is refused by root's
// drain in, saying whose it is and how to accept it; nobody's own in
// undoes it.
func TestSharedDirRecordOfAGroupMember(t *testing.T) {
	b := newSharedBed(t, 0o770|os.ModeSetgid|os.ModeSticky)
	recFile := b.stateFile(t, ".json")
	must(t, os.Chown(filepath.Dir(b.page), nobodyID, nobodyID)) // nobody may rename its page
	if out, code := b.run(t, true, "", "out", "--keepalive", b.page); code != 0 {
		t.Fatalf("nobody's out: exit %d\n%s", code, out)
	}
	out, code := b.run(t, false, "", "in", "--keepalive", b.page)
	if code != 1 || !strings.Contains(out, recFile+" was written by uid 65534, not by root") || !strings.Contains(out, "chown root "+recFile) {
		t.Errorf("root's in of nobody's record: exit %d, want 1 saying whose it is:\n%s", code, out)
	}
	if _, err := os.Lstat(b.page); err == nil {
		t.Error("root's refused in put the page back")
	}
	if out, code := b.run(t, true, "", "in", "--keepalive", b.page); code != 0 {
		t.Fatalf("nobody's in: exit %d\n%s", code, out)
	}
	b.pageIn(t)
}

// TestSharedDirWithoutStickyBit: a directory made with the README's old
// advice (install -d -m 2770) lets any member remove or replace the other
// accounts' records and locks: drain refuses it with the fix, nothing
// changed.
func TestSharedDirWithoutStickyBit(t *testing.T) {
	b := newSharedBed(t, 0o770|os.ModeSetgid)
	out, code := b.run(t, false, "", "out", "--keepalive", b.page)
	b.pageIn(t)
	if code != 1 || !strings.Contains(out, b.machine+" is writable by its group but not sticky") || !strings.Contains(out, "chmod +t "+b.machine) {
		t.Errorf("root's out in a 2770 directory: exit %d, want 1 with the fix:\n%s", code, out)
	}
	if strings.Count(strings.TrimSpace(out), "\n") > 2 {
		t.Errorf("more than a line and its result:\n%s", out)
	}
}
