//go:build !windows

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestTwoAccountsShareStateAndLock (issue 9): root and another account
// (nobody, as a pipeline agent's service account would be) drain the same
// server without --state-dir. With the machine-wide directory made writable
// for the agent's group (install -d -m 3770 -g GROUP), both see the same
// record and take the same lock: a second drain by the other account fails
// at once naming the first, and each sees the other's record. root acts
// only on records root wrote (issue 23): it refuses to undo the agent's,
// saying whose it is; the agent undoes its own.
func TestTwoAccountsShareStateAndLock(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, to run drain as a second account (nobody)")
	}
	drain := buildDrain(t)
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base, filepath.Dir(drain)} {
		must(t, os.Chmod(d, 0o755))
	}
	www := filepath.Join(base, "www")
	must(t, os.Mkdir(www, 0o777))
	must(t, os.Chmod(www, 0o777))
	page := filepath.Join(www, "keepalive.htm")
	must(t, os.WriteFile(page, []byte("OK\n"), 0o666))
	must(t, os.Chmod(page, 0o666))            // both accounts may write the page (content mode writes it in place)
	machine := filepath.Join(base, "machine") // stands in for /var/lib/drain
	must(t, os.Mkdir(machine, 0o700))
	must(t, os.Chown(machine, 0, 65534))
	must(t, os.Chmod(machine, 0o770|os.ModeSetgid|os.ModeSticky))

	cmd := func(asNobody bool, args ...string) *exec.Cmd {
		c := exec.Command(drain, append(args[:1:1], append([]string{"--keepalive", page}, args[1:]...)...)...)
		home := filepath.Join(base, "home-root")
		if asNobody {
			home = filepath.Join(base, "home-nobody")
			c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		}
		env := []string{"NO_COLOR=1", "HOME=" + home, "PATH=" + os.Getenv("PATH"), "DRAIN_MACHINE_STATE_DIR=" + machine}
		if asNobody {
			env = append(env, "USER=nobody")
		} else {
			env = append(env, "USER=root")
		}
		c.Env = env
		return c
	}
	run := func(asNobody bool, args ...string) (string, int) {
		out, err := cmd(asNobody, args...).CombinedOutput()
		var ee *exec.ExitError
		switch {
		case errorsAs(err, &ee):
			return string(out), ee.ExitCode()
		case err != nil:
			t.Fatal(err)
		}
		return string(out), 0
	}

	// root drains; the source stays busy, so it holds the lock while waiting.
	first := cmd(false, "run", "--source", "exec:echo 5", "--interval", "100ms", "--reason", "root release", "--", "true")
	var firstOut strings.Builder
	first.Stdout, first.Stderr = &firstOut, &firstOut
	must(t, first.Start())
	t.Cleanup(func() { _ = first.Process.Kill(); _ = first.Wait() })
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		out, _ := run(true, "status")
		if strings.Contains(out, "phase: waiting") {
			if !strings.Contains(out, "reason: root release") || !strings.Contains(out, "(pid ") || !strings.Contains(out, " running)") {
				t.Errorf("nobody's status of root's run:\n%s", out)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("root's run never showed as waiting to nobody; last status:\n%s\nrun:\n%s", out, firstOut.String())
		}
	}
	out, code := run(true, "out")
	if code != 1 || !strings.Contains(out, "is busy: drain run (pid ") || !strings.Contains(out, `reason "root release"`) {
		t.Errorf("nobody's out while root drains: exit %d, want 1 naming root's run:\n%s", code, out)
	}
	must(t, first.Process.Signal(syscall.SIGINT))
	_ = first.Wait()
	if !strings.Contains(firstOut.String(), "server is IN rotation") {
		t.Fatalf("root's run after SIGINT:\n%s", firstOut.String())
	}

	// nobody takes it out; root sees nobody's record and undoes it.
	if out, code := run(true, "out", "--down-content", "DOWN", "--reason", "agent release"); code != 0 {
		t.Fatalf("nobody's out: exit %d\n%s", code, out)
	}
	out, _ = run(false, "status", "--down-content", "DOWN")
	if !strings.Contains(out, "rotation: OUT") || !strings.Contains(out, "by nobody@") || !strings.Contains(out, "reason: agent release") {
		t.Errorf("root's status after nobody's out:\n%s", out)
	}
	if out, code := run(false, "in"); code != 1 || !strings.Contains(out, "was written by uid 65534, not by root") {
		t.Errorf("root's in of nobody's record: exit %d, want 1 saying whose it is\n%s", code, out)
	}
	if out, code := run(true, "in"); code != 0 || !strings.Contains(out, "put back into rotation") {
		t.Errorf("nobody's in: exit %d\n%s", code, out)
	}
	if b, _ := os.ReadFile(page); string(b) != "OK\n" {
		t.Errorf("page after root's in: %q, want the original bytes", b)
	}
}
