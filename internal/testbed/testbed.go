// Package testbed starts real nginx backends behind real HAProxy on
// 127.0.0.1 and drives a bounded load through them, recording every request.
// The end-to-end tests and the benchmark harness (scripts/bench) share it;
// the drain binary does not import it.
package testbed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/drain-cli/drain/internal/haproxy"
)

// BigSize is the slow download: 240 KiB at 80 KiB/s, about 3 s.
const BigSize = 240 << 10

// FastBody is the fast page.
const FastBody = "fast\n"

// Find looks a server binary up in PATH and the usual sbin directories.
func Find(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

// Proc is a server process started in the foreground.
type Proc struct {
	Cmd    *exec.Cmd
	exited chan struct{}
}

func start(cmd *exec.Cmd) (*Proc, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Proc{Cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	return p, nil
}

// Pid is the server's process id.
func (p *Proc) Pid() int { return p.Cmd.Process.Pid }

// Kill stops the process at once and waits for it.
func (p *Proc) Kill() {
	_ = p.Cmd.Process.Kill()
	<-p.exited
}

// Exited is closed when the process has ended.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Nginx is one backend: keepalive.htm, /nginx_status, /big.bin (slow),
// /fast.txt, and an X-Backend header naming it on every answer.
type Nginx struct {
	*Proc
	Name, Dir, Root, Addr string
}

// URL is an address on this backend.
func (n *Nginx) URL(p string) string { return "http://" + n.Addr + p }

// Keepalive is the path of the page HAProxy probes.
func (n *Nginx) Keepalive() string { return filepath.Join(n.Root, "keepalive.htm") }

// StartNginx starts a backend in dir (which nginx workers must be able to enter).
func StartNginx(dir, name string) (*Nginx, error) {
	bin, err := Find("nginx")
	if err != nil {
		return nil, err
	}
	n := &Nginx{Name: name, Dir: dir, Root: filepath.Join(dir, "www")}
	if err := os.MkdirAll(n.Root, 0o755); err != nil {
		return nil, err
	}
	for _, d := range []string{filepath.Dir(dir), dir} {
		_ = os.Chmod(d, 0o755) // nginx workers drop root privileges
	}
	files := map[string][]byte{"keepalive.htm": []byte("OK\n"), "big.bin": bytes.Repeat([]byte("x"), BigSize), "fast.txt": []byte(FastBody)}
	for f, b := range files {
		if err := os.WriteFile(filepath.Join(n.Root, f), b, 0o644); err != nil {
			return nil, err
		}
	}
	if n.Addr, err = FreeAddr(); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`
daemon off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path %[1]s/tmp_body;
  proxy_temp_path %[1]s/tmp_proxy;
  fastcgi_temp_path %[1]s/tmp_fcgi;
  uwsgi_temp_path %[1]s/tmp_uwsgi;
  scgi_temp_path %[1]s/tmp_scgi;
  server {
    listen %[2]s;
    root %[3]s;
    add_header X-Backend %[4]s always;
    location = /keepalive.htm { open_file_cache off; }
    location = /nginx_status { stub_status; }
    location = /big.bin { limit_rate 80k; limit_rate_after 0; }
  }
}
`, dir, n.Addr, n.Root, name)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-p", dir, "-c", confPath, "-e", filepath.Join(dir, "error.log"))
	cmd.Stderr = os.Stderr
	if n.Proc, err = start(cmd); err != nil {
		return nil, err
	}
	if err := waitListen(n.Addr, n.exited); err != nil {
		n.Kill()
		log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return nil, fmt.Errorf("nginx %s: %w: %s", name, err, log)
	}
	return n, nil
}

// HAProxy is one load balancer in front of the backends, backend "web" with
// one server per backend named after it in lower case (a, b). Retries and
// redispatch are off so no failure is masked; the health check probes the
// keep-alive page (every 200 ms, down after 2 failures, up after 1, unless
// started with StartHAProxyCheck).
type HAProxy struct {
	*Proc
	Dir, Addr, StatsAddr, Sock string
}

// URL is an address on the load balancer's frontend.
func (h *HAProxy) URL(p string) string { return "http://" + h.Addr + p }

// StatsCSV is the stats page's CSV URL.
func (h *HAProxy) StatsCSV() string { return "http://" + h.StatsAddr + "/stats;csv" }

// Server names a backend's server on this LB for --haproxy and the source:
// SOCKET#web/a.
func (h *HAProxy) Server(n *Nginx) string { return h.Sock + "#web/" + strings.ToLower(n.Name) }

// Check is HAProxy's health check of the keep-alive page: a probe every
// Inter, a server down after Fall failed probes in a row, up after Rise good
// ones. A renamed page is noticed between (Fall-1) x Inter and Fall x Inter
// after the rename, depending on where the probe cycle stands.
type Check struct {
	Inter      time.Duration
	Fall, Rise int
}

// FastCheck is StartHAProxy's check: every 200 ms, fall 2, rise 1.
var FastCheck = Check{Inter: 200 * time.Millisecond, Fall: 2, Rise: 1}

// Detection is the longest an LB with this check takes to notice a removed
// page (Inter x Fall), what --lb-grace should be.
func (c Check) Detection() time.Duration { return c.Inter * time.Duration(c.Fall) }

func (c Check) String() string {
	return fmt.Sprintf("inter %s fall %d rise %d", c.Inter, c.Fall, c.Rise)
}

// StartHAProxy starts a load balancer in dir with FastCheck.
func StartHAProxy(dir string, backends ...*Nginx) (*HAProxy, error) {
	return StartHAProxyCheck(dir, FastCheck, backends...)
}

// StartHAProxyCheck starts a load balancer in dir whose health check is c.
func StartHAProxyCheck(dir string, c Check, backends ...*Nginx) (*HAProxy, error) {
	if c.Inter < time.Millisecond || c.Fall < 1 || c.Rise < 1 {
		return nil, fmt.Errorf("haproxy: bad check %s", c)
	}
	var servers strings.Builder
	for _, n := range backends {
		fmt.Fprintf(&servers, "  server %s %s check\n", strings.ToLower(n.Name), n.Addr)
	}
	h, err := StartHAProxyConf(dir, fmt.Sprintf(`backend web
  balance roundrobin
  option httpchk GET /keepalive.htm
  default-server inter %dms fall %d rise %d
%s`, c.Inter.Milliseconds(), c.Fall, c.Rise, servers.String()))
	if err != nil {
		return nil, err
	}
	// Wait until every server is UP: the first checks take a moment.
	deadline := time.Now().Add(10*time.Second + c.Inter*time.Duration(c.Rise))
	for {
		up := 0
		for _, n := range backends {
			if st, err := h.ServerStatus(n); err == nil && st == "UP" {
				up++
			}
		}
		if up == len(backends) {
			return h, nil
		}
		if time.Now().After(deadline) {
			h.Kill()
			return nil, errors.New("haproxy: servers not UP in time")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Cmd sends one runtime API command.
func (h *HAProxy) Cmd(cmd string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return haproxy.Command(ctx, haproxy.Addr{Network: "unix", Address: h.Sock}, cmd)
}

// ServerStatus is the status column of `show stat` for a backend's server
// (UP, DOWN, DRAIN, MAINT, ...).
func (h *HAProxy) ServerStatus(n *Nginx) (string, error) {
	out, err := h.Cmd("show stat")
	if err != nil {
		return "", err
	}
	lines := strings.Split(out, "\n")
	cols := strings.Split(strings.TrimPrefix(lines[0], "# "), ",")
	idx := map[string]int{}
	for i, c := range cols {
		idx[c] = i
	}
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		if len(f) > idx["status"] && f[idx["pxname"]] == "web" && f[idx["svname"]] == strings.ToLower(n.Name) {
			return f[idx["status"]], nil
		}
	}
	return "", fmt.Errorf("no server %s in show stat", n.Name)
}

// AdminDrained says whether `show servers state web` has the server in
// drain (srv_admin_state bit 0x08).
func (h *HAProxy) AdminDrained(n *Nginx) (bool, error) {
	out, err := h.Cmd("show servers state web")
	if err != nil {
		return false, err
	}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) > 6 && f[1] == "web" && f[3] == strings.ToLower(n.Name) {
			var v int
			_, err := fmt.Sscan(f[6], &v)
			return v&0x08 != 0, err
		}
	}
	return false, fmt.Errorf("no server %s in show servers state", n.Name)
}

// FreeAddr returns a free 127.0.0.1 TCP address.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

func waitListen(addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			return c.Close()
		}
		select {
		case <-exited:
			return errors.New("exited at start")
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not listening on %s after 10s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Result is one client request and how it ended.
type Result struct {
	Slow       bool
	Start, End time.Time
	Backend    string // X-Backend of the answer
	Status     int
	Bytes      int
	Err        string
}

// OK says whether the request succeeded in full.
func (r Result) OK() bool {
	want := len(FastBody)
	if r.Slow {
		want = BigSize
	}
	return r.Err == "" && r.Status == http.StatusOK && r.Bytes == want
}

func (r Result) String() string {
	kind := "fast"
	if r.Slow {
		kind = "slow"
	}
	return fmt.Sprintf("%s via %q: HTTP %d, %d bytes, %s..%s, err %q", kind, r.Backend, r.Status, r.Bytes,
		r.Start.Format("15:04:05.000"), r.End.Format("15:04:05.000"), r.Err)
}

// Load runs clients concurrent clients against urls (round robin) until
// ctx ends or each has made maxPerClient requests. Every other request is a
// slow download; after a fast page a client pauses briefly. Wait returns
// every result once all requests have ended.
type Load struct {
	mu      sync.Mutex
	results []Result
	wg      sync.WaitGroup
}

// Shape is what each client of a load does: every SlowEvery-th request is a
// slow download, the others the fast page, after which the client pauses
// for Pause.
type Shape struct {
	SlowEvery int
	Pause     time.Duration
}

// BusyShape is StartLoad's: every other request slow, 50 ms after a fast page.
var BusyShape = Shape{SlowEvery: 2, Pause: 50 * time.Millisecond}

// StartLoad begins the load with BusyShape.
func StartLoad(ctx context.Context, urls []string, clients, maxPerClient int) *Load {
	return StartLoadShape(ctx, urls, clients, maxPerClient, BusyShape)
}

// StartLoadShape begins a load whose clients follow sh.
func StartLoadShape(ctx context.Context, urls []string, clients, maxPerClient int, sh Shape) *Load {
	sh.SlowEvery = max(sh.SlowEvery, 1)
	l := &Load{}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for c := range clients {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			time.Sleep(time.Duration(c) * 100 * time.Millisecond)
			for i := 0; i < maxPerClient && ctx.Err() == nil; i++ {
				slow := (c+i)%sh.SlowEvery == 0
				path := "/fast.txt"
				if slow {
					path = "/big.bin"
				}
				r := get(client, urls[(c+i)%len(urls)]+path)
				r.Slow = slow
				l.mu.Lock()
				l.results = append(l.results, r)
				l.mu.Unlock()
				if !slow {
					time.Sleep(sh.Pause)
				}
			}
		}()
	}
	return l
}

func get(client *http.Client, url string) Result {
	r := Result{Start: time.Now()}
	// Not bound to the load's context: a request once started runs to its end.
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, url, http.NoBody)
	resp, err := client.Do(req)
	if err != nil {
		r.Err, r.End = err.Error(), time.Now()
		return r
	}
	r.Status, r.Backend = resp.StatusCode, resp.Header.Get("X-Backend")
	n, err := io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	r.Bytes, r.End = int(n), time.Now()
	if err != nil {
		r.Err = err.Error()
	}
	return r
}

// Wait waits for every request and returns the results.
func (l *Load) Wait() []Result {
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Result(nil), l.results...)
}
