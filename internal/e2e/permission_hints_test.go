//go:build !windows

package e2e

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/drain-cli/drain/internal/testbed"
)

// TestPermissionDeniedHints: a keep-alive page's directory, a state
// directory and an HAProxy runtime socket that the account drain runs as
// may not use each fail with the error on one line and a hint under it
// naming that account, the owner, group and mode of what was denied, and
// the fix (the group, the mode, --state-dir); nothing changes and the
// final line says where the server stands (IN; UNKNOWN when the
// balancer itself could not be read). As root, drain runs as nobody
// against root-owned files (as TestRotationPermissionDenied does); as
// another account, the modes deny that account itself.
func TestPermissionDeniedHints(t *testing.T) {
	drain := buildDrain(t)
	must(t, os.Chmod(filepath.Dir(drain), 0o755))
	must(t, os.Chmod(filepath.Dir(filepath.Dir(drain)), 0o755))
	root := os.Geteuid() == 0
	who := "nobody"
	if !root {
		u, err := user.Current()
		must(t, err)
		who = u.Username
	}
	run := func(t *testing.T, args ...string) (string, int) {
		t.Helper()
		return runAsNobody(t, drain, t.TempDir(), root, args...)
	}
	check := func(t *testing.T, name, out string, code int, hint string) {
		t.Helper()
		if code != 1 {
			t.Errorf("%s: exit %d, want 1:\n%s", name, code, out)
		}
		if !regexp.MustCompile(`(?m)^drain: .*permission denied$`).MatchString(out) {
			t.Errorf("%s: no 'drain: ... permission denied' line:\n%s", name, out)
		}
		if !regexp.MustCompile(`(?m)^hint: ` + hint).MatchString(out) {
			t.Errorf("%s: no hint matching %q:\n%s", name, hint, out)
		}
		if !regexp.MustCompile(`(?m)^failed.*; (server is IN rotation|rotation state UNKNOWN: check with 'drain status')$`).MatchString(out) {
			t.Errorf("%s: the final line does not say where the server stands:\n%s", name, out)
		}
	}

	t.Run("page directory", func(t *testing.T) {
		_, page, stateDir := sharedSite(t)
		www := filepath.Dir(page)
		if !root {
			must(t, os.Chmod(www, 0o555))
			t.Cleanup(func() { _ = os.Chmod(www, 0o755) })
		}
		out, code := run(t, "out", "--keepalive", page, "--state-dir", stateDir)
		check(t, "out", out, code, regexp.QuoteMeta(www)+` is owned by \S+:(\S+) with mode dr-?[-w]xr-xr-x and drain runs as `+who+`: let drain's account write there \(a member of group \S+, with chmod g\+w\)`)
		if b, err := os.ReadFile(page); err != nil || string(b) != "OK\n" {
			t.Errorf("the page changed: %q %v", b, err)
		}
	})

	t.Run("state directory", func(t *testing.T) {
		_, page, stateDir := sharedSite(t)
		must(t, os.Chmod(filepath.Dir(page), 0o777)) // the page may change: only the state directory denies
		mode := "drwxr-xr-x"
		must(t, os.Chmod(stateDir, 0o755))
		if !root {
			mode = "dr-xr-xr-x"
			must(t, os.Chmod(stateDir, 0o555))
			t.Cleanup(func() { _ = os.Chmod(stateDir, 0o755) })
		}
		out, code := run(t, "out", "--keepalive", page, "--state-dir", stateDir)
		check(t, "out", out, code, regexp.QuoteMeta(stateDir)+` is owned by \S+:\S+ with mode `+mode+` and drain runs as `+who+`: give --state-dir a directory this account may write`)
		if b, err := os.ReadFile(page); err != nil || string(b) != "OK\n" {
			t.Errorf("the page changed: %q %v", b, err)
		}
	})

	t.Run("haproxy socket", func(t *testing.T) {
		app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
		t.Cleanup(app.Close)
		dir := t.TempDir()
		must(t, os.Chmod(filepath.Dir(dir), 0o755))
		must(t, os.Chmod(dir, 0o755))
		lb, err := testbed.StartHAProxyConf(dir, "backend web\n  server a "+strings.TrimPrefix(app.URL, "http://")+"\n")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(lb.Kill)
		// HAProxy made it mode 600, its own (root's); another account is
		// denied by the mode alone.
		if !root {
			must(t, os.Chmod(lb.Sock, 0o000))
		}
		_, _, stateDir := sharedSite(t)
		out, code := run(t, "out", "--haproxy", lb.Sock+"#web/a", "--state-dir", stateDir)
		check(t, "out", out, code, regexp.QuoteMeta(lb.Sock)+` is owned by \S+:\S+ with mode S?-?[srw-]{9,10} and drain runs as `+who+`: run drain as a member of group (\S+) \(haproxy.cfg: stats socket \.\.\. mode 660 group \S+\), or as the socket's owner$`)
		for _, cmd := range []string{"status", "in"} {
			out, code := run(t, cmd, "--haproxy", lb.Sock+"#web/a", "--state-dir", stateDir)
			if code != 1 || !regexp.MustCompile(`(?m)^ *hint: `+regexp.QuoteMeta(lb.Sock)+` is owned by .* run drain as a member of group `).MatchString(out) {
				t.Errorf("%s: exit %d, want 1 with the socket's hint:\n%s", cmd, code, out)
			}
		}
		if !root {
			must(t, os.Chmod(lb.Sock, 0o600))
		}
		ans, err := lb.Cmd("show servers state web")
		if err != nil || !strings.Contains(ans, " a ") {
			t.Fatalf("read HAProxy: %v %q", err, ans)
		}
		_, after, _ := strings.Cut(ans, " web 1 ")
		if f := strings.Fields(after); len(f) < 4 || f[0] != "a" || f[3] != "0" {
			t.Errorf("server a's admin state changed on HAProxy (srv_admin_state %v):\n%s", f, ans)
		}
	})
}
