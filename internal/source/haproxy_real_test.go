//go:build !windows

// These tests start a real HAProxy (Debian's), which has no Windows build.

package source

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/haproxy"
	"github.com/drain-cli/drain/internal/testbed"
)

// bigHAProxy starts a real HAProxy whose backend web has n servers s1..sN
// (ids 1..N, or N..1 when reversed), s1 and sN forwarding to upstream and
// chosen by the request header x-srv; it returns the runtime API socket and
// the frontend's address, and stop. It is stopped at the end of the test
// if not before.
func bigHAProxy(t *testing.T, dir string, n int, reversed bool, upstream string) (sock, front string, stop func()) {
	t.Helper()
	bin, err := testbed.Find("haproxy")
	if err != nil {
		if os.Getenv("DRAIN_E2E") == "require" {
			t.Fatal("haproxy not found and DRAIN_E2E=require")
		}
		t.Skip("haproxy not installed; scripts/test.sh installs it")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	sock = filepath.Join(dir, "admin.sock")
	if front, err = testbed.FreeAddr(); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "global\n  stats socket %s mode 600 level admin\n  maxconn 200\n\ndefaults\n  mode http\n  timeout connect 2s\n  timeout client 10s\n  timeout server 10s\n\n", sock)
	fmt.Fprintf(&b, "frontend fe\n  bind %s\n  default_backend web\n\nbackend other\n  server o1 127.0.0.1:1\n\nbackend web\n", front)
	fmt.Fprintf(&b, "  use-server s1 if { req.hdr(x-srv) s1 }\n  use-server s%d if { req.hdr(x-srv) s%d }\n", n, n)
	for i := 1; i <= n; i++ {
		addr := "127.0.0.1:1"
		if i == 1 || i == n {
			addr = upstream
		}
		id := i
		if reversed {
			id = n + 1 - i
		}
		fmt.Fprintf(&b, "  server s%d %s id %d\n", i, addr, id)
	}
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(sock)
	cmd := exec.Command(bin, "-db", "-f", cfg)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop = func() { _ = cmd.Process.Kill(); <-done }
	t.Cleanup(stop)
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		out, err := haproxy.Command(ctx, haproxy.Addr{Network: "unix", Address: sock}, "show info")
		cancel()
		if err == nil && strings.Contains(out, "Name: HAProxy") {
			return sock, front, stop
		}
		select {
		case <-done:
			t.Fatal("haproxy exited")
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy not answering: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The first and the last server of a 2000-server backend on a real
// HAProxy 2.6: the value and stot come from the one row HAProxy is asked
// for, and stay right after a restart that renumbered the servers.
func TestHAProxySourceRealBigBackend(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	defer up.Close()
	const n = 2000
	dir := t.TempDir()
	send := func(front, srv string, k int) {
		t.Helper()
		for range k {
			req, _ := http.NewRequest("GET", "http://"+front+"/", nil)
			req.Header.Set("x-srv", srv)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("request to %s: %s", srv, resp.Status)
			}
		}
	}
	srcs := map[string]Source{}
	sock, front, stop := bigHAProxy(t, filepath.Join(dir, "1"), n, false, strings.TrimPrefix(up.URL, "http://"))
	for _, s := range []string{"s1", fmt.Sprintf("s%d", n)} {
		spec, err := ParseSpec("haproxy:" + sock + "#web/" + s)
		if err != nil {
			t.Fatal(err)
		}
		if srcs[s], err = New(spec, Options{}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(stot map[string]float64, ids map[string]int) {
		t.Helper()
		for s, src := range srcs {
			for range 2 { // the second read asks for the one row
				if v, err := src.Read(context.Background()); err != nil || v != 0 {
					t.Fatalf("%s: %v, %v; want 0", s, v, err)
				}
			}
			if v, ok := src.(Totaler).Total(); !ok || v != stot[s] {
				t.Errorf("%s: stot %v, %v; want %v", s, v, ok, stot[s])
			}
			if h := src.(*haproxySource); h.iid != 4 || h.sid != ids[s] {
				t.Errorf("%s: ids %d %d, want 4 %d", s, h.iid, h.sid, ids[s])
			}
		}
	}
	last := fmt.Sprintf("s%d", n)
	send(front, "s1", 3)
	send(front, last, 5)
	check(map[string]float64{"s1": 3, last: 5}, map[string]int{"s1": 1, last: n})
	// A restart with the ids reversed, on the same socket path.
	stop()
	sock2, front2, _ := bigHAProxy(t, filepath.Join(dir, "2"), n, true, strings.TrimPrefix(up.URL, "http://"))
	_ = os.Remove(sock)
	if err := os.Symlink(sock2, sock); err != nil {
		t.Fatal(err)
	}
	send(front2, "s1", 2)
	send(front2, last, 1)
	check(map[string]float64{"s1": 2, last: 1}, map[string]int{"s1": n, last: 1})
}
