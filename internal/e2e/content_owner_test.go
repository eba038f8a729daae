//go:build !windows

package e2e

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// TestNginxContentModeKeepsThePageReadable: the keep-alive page belongs to
// the user nginx's workers run as (nobody) with mode 0600. Content mode must
// keep it theirs: a page rewritten as root:root 0600 answers 403, so the load
// balancer would keep the server out while drain says IN (issue 12 item 1).
func TestNginxContentModeKeepsThePageReadable(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: nginx workers drop to nobody, and the page is given to nobody (CI runs as root)")
	}
	n := startNginx(t)
	drain := buildDrain(t)
	page := n.Keepalive()
	must(t, os.Chown(page, 65534, 65534))
	must(t, os.Chmod(page, 0o600))
	get := func(when string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, n.URL("/keepalive.htm"), http.NoBody)
		must(t, err)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("before"); code != 200 || body != "OK\n" {
		t.Fatalf("before: %d %q; nginx cannot read a page owned by nobody 0600 (workers not nobody?)", code, body)
	}
	state := filepath.Join(n.Dir, "state")
	for _, step := range []struct {
		args []string
		want string
	}{
		{[]string{"out", "--down-content", "DOWN"}, "DOWN"},
		{[]string{"in"}, "OK\n"},
	} {
		args := append([]string{step.args[0], "--keepalive", page, "--state-dir", state}, step.args[1:]...)
		if out, err := exec.Command(drain, args...).CombinedOutput(); err != nil {
			t.Fatalf("drain %s: %v\n%s", step.args[0], err, out)
		}
		if code, body := get("after " + step.args[0]); code != 200 || body != step.want {
			t.Errorf("after drain %s: nginx answers %d %q, want 200 %q", step.args[0], code, body, step.want)
		}
		fi, err := os.Stat(page)
		must(t, err)
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != 65534 || st.Gid != 65534 || fi.Mode().Perm() != 0o600 {
			t.Errorf("after drain %s: page %d:%d %v, want 65534:65534 0600", step.args[0], st.Uid, st.Gid, fi.Mode().Perm())
		}
	}
}
