//go:build !windows

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// sharedSite makes what another account (nobody) can reach: base (0755)
// with a keep-alive page under base/www (0755, page 0644), and a state
// directory base/state that everyone may write.
func sharedSite(t *testing.T) (base, page, stateDir string) {
	t.Helper()
	base = t.TempDir()
	must(t, os.Chmod(filepath.Dir(base), 0o755))
	must(t, os.Chmod(base, 0o755))
	www := filepath.Join(base, "www")
	must(t, os.Mkdir(www, 0o755))
	page = filepath.Join(www, "keepalive.htm")
	must(t, os.WriteFile(page, []byte("OK\n"), 0o644))
	stateDir = filepath.Join(base, "state")
	must(t, os.Mkdir(stateDir, 0o777))
	// past the umask; sticky, as a state directory others may write must be
	// (drain refuses one that is not)
	must(t, os.Chmod(stateDir, 0o777|os.ModeSticky))
	return base, page, stateDir
}

// TestRotationPermissionDenied: the page's directory is not writable by the
// user running drain (a read-only deploy directory, or the wrong account).
// out and run must fail with one clear line, change nothing, leave no record
// behind, and say the server is IN rotation. As root, drain runs as nobody so
// the permission check is real rather than skipped.
func TestRotationPermissionDenied(t *testing.T) {
	drain := buildDrain(t)
	must(t, os.Chmod(filepath.Dir(drain), 0o755))
	_, page, stateDir := sharedSite(t)
	www := filepath.Dir(page)
	if os.Geteuid() != 0 {
		must(t, os.Chmod(www, 0o555))
		t.Cleanup(func() { _ = os.Chmod(www, 0o755) })
	}
	run := func(args ...string) (string, int) {
		full := append([]string{args[0], "--keepalive", page, "--state-dir", stateDir}, args[1:]...)
		return runAsNobody(t, drain, stateDir, os.Geteuid() == 0, full...)
	}
	for _, args := range [][]string{
		{"out"},
		{"out", "--down-content", "DOWN"},
		{"run", "--source", "exec:echo 0", "--settle", "0", "--", "true"},
	} {
		out, code := run(args...)
		if code != 1 || !strings.Contains(out, "permission denied") || !strings.Contains(out, "server is IN rotation") {
			t.Errorf("drain %s: exit %d, want 1 with 'permission denied' and the rotation state:\n%s", strings.Join(args, " "), code, out)
		}
		if b, err := os.ReadFile(page); err != nil || string(b) != "OK\n" {
			t.Errorf("drain %s changed the page: %q %v", args[0], b, err)
		}
		if names := stateLeft(stateDir); len(names) != 0 {
			t.Errorf("drain %s left state behind: %v", args[0], names)
		}
		if entries, _ := os.ReadDir(www); len(entries) != 1 {
			t.Errorf("drain %s left files next to the page: %v", args[0], entries)
		}
	}
}

// runAsNobody runs drain with HOME set to home, as nobody when asNobody,
// and returns its output and exit code.
func runAsNobody(t *testing.T, drain, home string, asNobody bool, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(drain, args...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "HOME="+home)
	if asNobody {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	out, err := cmd.CombinedOutput()
	code := 0
	var ee *exec.ExitError
	if errorsAs(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}
