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

// TestWineRenameAccessDenied: drain.exe under Wine may not rename the page
// (its folder is not writable by drain's user). out must fail at once with
// "access denied", not retry for 2 s and blame "another process holding the
// file open", change nothing and say the server is IN rotation. Wine honours
// Unix permissions except for root, so as root drain.exe runs as nobody in
// a Wine prefix of its own (set up by scripts/wine/setup.sh, ~15 s).
func TestWineRenameAccessDenied(t *testing.T) {
	if os.Getenv("DRAIN_WINE") == "" {
		if os.Getenv("DRAIN_E2E") == "require-wine" {
			t.Fatal("DRAIN_WINE unset: run eval \"$(scripts/wine/setup.sh)\" first")
		}
		t.Skip("Wine is not set up: eval \"$(scripts/wine/setup.sh)\" sets DRAIN_WINE (scripts/test.sh does)")
	}
	base, page, stateDir := sharedSite(t)
	www := filepath.Dir(page)
	exe := filepath.Join(base, "drain.exe")
	build := exec.Command("go", "build", "-o", exe, "github.com/drain-cli/drain/cmd/drain")
	build.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	env := append(os.Environ(), "NO_COLOR=1")
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
		home := filepath.Join(base, "home")
		must(t, os.Mkdir(home, 0o755))
		must(t, os.Chown(home, 65534, 65534))
		prefix := filepath.Join(home, "wine")
		setup := exec.Command("bash", "../../scripts/wine/setup.sh")
		setup.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		setup.Env = append(os.Environ(), "HOME="+home, "WINEPREFIX="+prefix)
		if out, err := setup.CombinedOutput(); err != nil {
			t.Fatalf("Wine prefix for nobody: %v\n%s", err, out)
		}
		env = append(env, "HOME="+home, "WINEPREFIX="+prefix)
		t.Cleanup(func() {
			kill := exec.Command("wineserver", "-k")
			kill.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
			kill.Env = env
			_ = kill.Run()
		})
	} else {
		must(t, os.Chmod(www, 0o555))
		t.Cleanup(func() { _ = os.Chmod(www, 0o755) })
	}
	cmd := exec.Command("wine", exe, "out", "--keepalive", winPath(page), "--state-dir", winPath(stateDir))
	cmd.Env = env
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	start := time.Now()
	outb, err := cmd.CombinedOutput()
	took := time.Since(start)
	out := string(outb)
	var ee *exec.ExitError
	if !errorsAs(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("drain.exe out: %v, want exit 1:\n%s", err, out)
	}
	if !strings.Contains(out, "access denied: drain's user may not rename") || strings.Contains(out, "held open") {
		t.Errorf("not said as access denied (or blamed on another process):\n%s", out)
	}
	if !strings.Contains(out, "server is IN rotation") {
		t.Errorf("last line does not say IN:\n%s", out)
	}
	if b, err := os.ReadFile(page); err != nil || string(b) != "OK\n" {
		t.Errorf("page changed: %q %v", b, err)
	}
	if names := stateLeft(stateDir); len(names) != 0 {
		t.Errorf("state left behind: %v", names)
	}
	t.Logf("drain.exe as a user who may not rename the page, after %s:\n%s", took.Round(time.Millisecond), out)
}
