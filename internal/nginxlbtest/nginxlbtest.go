// Package nginxlbtest starts a real open-source nginx as a load balancer for
// tests: upstream "web" includes a pool file, on a free 127.0.0.1 port,
// with its own configuration, prefix, pid file and logs in a test
// directory (Linux).
package nginxlbtest

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// LB is one running nginx load balancer.
type LB struct {
	Dir, Conf, Upstream, Addr string
	cmd                       *exec.Cmd
	done                      chan struct{}
}

// Args are the options that point an nginx command at this instance:
// -p PREFIX -c CONF -e ERRORLOG.
func (n *LB) Args() []string {
	return []string{"-p", n.Dir, "-c", n.Conf, "-e", filepath.Join(n.Dir, "error.log")}
}

// Argv is `nginx EXTRA... -p ... -c ... -e ...`.
func (n *LB) Argv(extra ...string) []string {
	return append(append([]string{"nginx"}, extra...), n.Args()...)
}

// Log is the error log, for failure messages.
func (n *LB) Log() string {
	b, _ := os.ReadFile(filepath.Join(n.Dir, "error.log"))
	return string(b)
}

// URL is a path through the balancer.
func (n *LB) URL(p string) string { return "http://" + n.Addr + p }

// Binary finds nginx.
func Binary() (string, error) {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

// Start runs nginx with `upstream web { include UPSTREAM; }` where the
// file UPSTREAM holds pool (mode 0640), and proxies / to it without retries
// on another server (so no failure is masked). It fails the test when nginx
// is not installed.
func Start(t testing.TB, pool string) *LB {
	t.Helper()
	return start(t, pool, nil)
}

// StartUpstreams runs nginx with the file UPSTREAM, which holds upstream
// blocks, included at http level: /NAME/ is proxied to upstream NAME for
// each of names, / to the first (no retries on another server).
func StartUpstreams(t testing.TB, file string, names ...string) *LB {
	t.Helper()
	if len(names) == 0 {
		t.Fatal("nginxlbtest.StartUpstreams: name an upstream")
	}
	return start(t, file, names)
}

func start(t testing.TB, pool string, names []string) *LB {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the nginx load balancer runs on Linux here")
	}
	bin, err := Binary()
	if err != nil {
		t.Fatal("nginx not installed (apt-get install nginx-light)")
	}
	dir := t.TempDir()
	_ = os.Chmod(dir, 0o755) // workers drop root privileges
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := &LB{Dir: dir, Conf: filepath.Join(dir, "nginx.conf"), Upstream: filepath.Join(dir, "upstream.conf"), Addr: l.Addr().String()}
	_ = l.Close()
	if err := os.WriteFile(n.Upstream, []byte(pool), 0o640); err != nil {
		t.Fatal(err)
	}
	conf := strings.NewReplacer("DIR", dir, "UPSTREAM", n.Upstream, "ADDR", n.Addr).Replace(`
daemon off;
worker_processes 2;
pid DIR/nginx.pid;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path DIR/tmp_body;
  proxy_temp_path DIR/tmp_proxy;
  fastcgi_temp_path DIR/tmp_fcgi;
  uwsgi_temp_path DIR/tmp_uwsgi;
  scgi_temp_path DIR/tmp_scgi;
  @UPS@
  server {
    listen ADDR;
    @LOCS@
  }
}
`)
	ups, locs := "upstream web { include "+n.Upstream+"; }", "location / { proxy_pass http://web; proxy_next_upstream off; }"
	if len(names) > 0 {
		ups = "include " + n.Upstream + ";"
		locs = "location / { proxy_pass http://" + names[0] + "; proxy_next_upstream off; }"
		for _, name := range names {
			locs += "\n    location /" + name + "/ { proxy_pass http://" + name + "; proxy_next_upstream off; }"
		}
	}
	conf = strings.NewReplacer("@UPS@", ups, "@LOCS@", locs).Replace(conf)
	if err := os.WriteFile(n.Conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	n.cmd = exec.CommandContext(context.Background(), bin, n.Args()...)
	n.cmd.Stderr = os.Stderr
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.done = make(chan struct{})
	go func() { _ = n.cmd.Wait(); close(n.done) }()
	t.Cleanup(n.stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := (&net.Dialer{Timeout: 200 * time.Millisecond}).DialContext(context.Background(), "tcp", n.Addr)
		if err == nil {
			_ = c.Close()
			break
		}
		select {
		case <-n.done:
			t.Fatalf("nginx exited at start: %s", n.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx not listening: %s", n.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// -s reload needs the pid file, written after the sockets are open.
	for {
		if _, err := os.Stat(filepath.Join(dir, "nginx.pid")); err == nil {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatal("nginx wrote no pid file")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (n *LB) stop() {
	_ = n.cmd.Process.Signal(os.Interrupt)
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
	}
}

// Workers lists the master's worker processes (from /proc).
func (n *LB) Workers() map[int]bool {
	out := map[int]bool{}
	ents, _ := os.ReadDir("/proc")
	master := strconv.Itoa(n.cmd.Process.Pid)
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 && f[1] == master {
			out[pid] = true
		}
	}
	return out
}

// WaitReloaded waits until no worker from old is left: from then on every
// new connection is served by the configuration of the last reload.
func (n *LB) WaitReloaded(t testing.TB, old map[int]bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		left := false
		for pid := range n.Workers() {
			if old[pid] {
				left = true
			}
		}
		if !left {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("old nginx workers still running 20 s after the reload: %s", n.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
