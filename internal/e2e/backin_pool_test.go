//go:build !windows

package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/testbed"
)

// upCount samples HAProxy's own view of backend web every 10 ms (a
// ticker: a slow answer delays the next sample, never adds up): how many
// servers it sends traffic to (status UP, or UP going down), bounded in
// count and by ctx.
type upCount struct {
	mu      sync.Mutex
	min     int
	samples int
	at      time.Time     // when min was first seen
	gap     time.Duration // the longest time between two samples
	done    chan struct{}
}

func sampleUp(ctx context.Context, t *testing.T, lb *testbed.HAProxy, maxSamples int) *upCount {
	t.Helper()
	u := &upCount{min: 1 << 30, done: make(chan struct{})}
	go func() {
		defer close(u.done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		var prev time.Time
		for i := 0; i < maxSamples && ctx.Err() == nil; i++ {
			out, err := lb.Cmd("show stat web 4 -1") // backend web's servers only
			if err == nil {
				n := 0
				for _, l := range strings.Split(out, "\n") {
					f := strings.Split(l, ",")
					if len(f) > 17 && f[0] == "web" && f[1] != "BACKEND" && (f[17] == "UP" || strings.HasPrefix(f[17], "UP ")) {
						n++
					}
				}
				now := time.Now()
				u.mu.Lock()
				u.samples++
				if n < u.min {
					u.min, u.at = n, now
				}
				if !prev.IsZero() && now.Sub(prev) > u.gap {
					u.gap = now.Sub(prev)
				}
				prev = now
				u.mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
	}()
	return u
}

func (u *upCount) result() (minUp, samples int, at time.Time, gap time.Duration) {
	<-u.done
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.min, u.samples, u.at, u.gap
}

// TestRollKeepalivePoolView: a serial roll of 3 real nginx servers behind a
// real HAProxy that checks their keep-alive pages, taken out by renaming
// the page (no runtime API), with the budget and in --wait-healthy reading
// HAProxy through a pool view named on its own (--pool, read only). HAProxy's
// view, sampled every 10 ms, never has fewer than 2 of 3 in rotation, and
// each in returns only once HAProxy has the server UP.
func TestRollKeepalivePoolView(t *testing.T) {
	requireServers(t, "nginx", "haproxy")
	dir := t.TempDir()
	must(t, os.Chmod(filepath.Dir(dir), 0o755))
	var ns []*testbed.Nginx
	for _, name := range []string{"A", "B", "C"} {
		n, err := testbed.StartNginx(filepath.Join(dir, name), name)
		must(t, err)
		t.Cleanup(n.Kill)
		ns = append(ns, n)
	}
	// rise 2: HAProxy takes 2 checks (about 400 ms) to trust a page back,
	// long after the page itself answers.
	lb, err := testbed.StartHAProxyCheck(filepath.Join(dir, "lb"), testbed.Check{Inter: 200 * time.Millisecond, Fall: 1, Rise: 2}, ns...)
	must(t, err)
	t.Cleanup(lb.Kill)
	f := &farm{lb: lb, drain: buildDrain(t), state: filepath.Join(dir, "state")}

	// Without a pool view the budget cannot read a keep-alive page's pool:
	// exit 2, the hint names --pool.
	_, e, code := f.run(t, "out", "--keepalive", ns[0].Keepalive(), "--min-in-rotation", "2")
	if code != 2 || !strings.Contains(e, "--pool") {
		t.Errorf("budget without a pool view: exit %d, want 2 naming --pool\n%s", code, e)
	}
	// A pool view that does not name this server cannot count the others.
	_, e, code = f.run(t, "out", "--keepalive", ns[0].Keepalive(), "--min-in-rotation", "2", "--pool", "haproxy:"+lb.Sock+"#web")
	if code != 2 || !strings.Contains(e, "#web/SERVER") {
		t.Errorf("pool view without the server: exit %d, want 2\n%s", code, e)
	}
	if _, err := os.Stat(ns[0].Keepalive()); err != nil {
		t.Fatalf("a refused out changed the page: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	up := sampleUp(ctx, t, lb, 12000)
	for _, n := range ns {
		pool := "haproxy:" + lb.Server(n)
		if _, e, code := f.run(t, "run", "--keepalive", n.Keepalive(), "--pool", pool, "--min-in-rotation", "2", "--wait-turn", "30s",
			"--lb-grace", "600ms", "--settle", "0s", "--interval", "50ms", "--timeout", "30s", "--", "true"); code != 0 {
			t.Fatalf("run %s: exit %d\n%s", n.Name, code, e)
		}
		out, e, code := f.run(t, "in", "--keepalive", n.Keepalive(), "--pool", pool, "--wait-healthy", "--interval", "20ms", "--timeout", "30s", "--output", "json")
		if code != 0 {
			t.Fatalf("in %s: exit %d\n%s\n%s", n.Name, code, out, e)
		}
		if st, err := lb.ServerStatus(n); err != nil || st != "UP" {
			t.Errorf("in --wait-healthy of %s returned while HAProxy has it %q (%v)", n.Name, st, err)
		}
		if k, _ := kinds(t, out); indexOf(k, "healthy") < 0 {
			t.Errorf("in %s: no healthy event: %v", n.Name, k)
		}
	}
	cancel()
	minUp, samples, at, gap := up.result()
	if samples < 100 {
		t.Fatalf("only %d samples of HAProxy's view", samples)
	}
	if minUp < 2 {
		t.Errorf("HAProxy had %d of 3 servers in rotation at %s during the roll (%d samples): below capacity", minUp, at.Format("15:04:05.000"), samples)
	}
	t.Logf("%d samples (longest gap %s), at least %d of 3 in rotation throughout", samples, gap, minUp)
}

// checkedServer is a real HTTP server whose keep-alive page (a file in
// root, so a keep-alive page drain renames) answers only while the app is
// up, and which records when HAProxy's checks came and what they got.
type checkedServer struct {
	root string
	up   atomic.Bool
	mu   sync.Mutex
	hits []checkHit
}

type checkHit struct {
	at time.Time
	ok bool
}

func startChecked(t *testing.T) (*checkedServer, string) {
	t.Helper()
	s := &checkedServer{root: t.TempDir()}
	must(t, os.WriteFile(filepath.Join(s.root, "keepalive.htm"), []byte("OK\n"), 0o644))
	s.up.Store(true)
	files := http.FileServer(http.Dir(s.root))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok := s.up.Load()
		if ok {
			_, err := os.Stat(filepath.Join(s.root, "keepalive.htm"))
			ok = err == nil
		}
		if r.URL.Path == "/keepalive.htm" {
			s.mu.Lock()
			s.hits = append(s.hits, checkHit{time.Now(), ok})
			s.mu.Unlock()
		}
		if !s.up.Load() { // the app is not answering (restarting)
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return s, strings.TrimPrefix(srv.URL, "http://")
}

func (s *checkedServer) checks() []checkHit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]checkHit(nil), s.hits...)
}

// waitNextCheck returns just after HAProxy's next check of the server.
func (s *checkedServer) waitNextCheck(t *testing.T) {
	t.Helper()
	n := len(s.checks())
	waitFor(t, func() bool { return len(s.checks()) > n })
}

// TestInWaitHealthyStaleChecks: after a restart faster than HAProxy's check
// interval (inter 2s), the app is still down when in runs and HAProxy's
// last check, made before the restart, says UP. in --wait-healthy must not
// say healthy before HAProxy has checked again: it returns only after a
// check made after the in passed. Through the runtime API (the server was
// in drain, checks running), through a keep-alive page with a pool view
// (--pool), and through a keep-alive page with an haproxy: source in the
// settings (DRAIN_SOURCE, as a config file shared with run gives it: in
// has no --source, and no --verify-url here).
func TestInWaitHealthyStaleChecks(t *testing.T) {
	requireServers(t, "haproxy")
	for _, mode := range []string{"runtime-api", "runtime-api-fall3", "keepalive-pool", "keepalive-source"} {
		t.Run(mode, func(t *testing.T) {
			a, addrA := startChecked(t)
			_, addrB := startChecked(t)
			// fall 3 (HAProxy's default): the first failed checks show as
			// UP 2/3, UP 1/3, still in rotation, for 4 s before DOWN.
			check := testbed.Check{Inter: 2 * time.Second, Fall: 1, Rise: 1}
			if mode == "runtime-api-fall3" {
				check.Fall = 3
			}
			lb, err := testbed.StartHAProxyCheck(t.TempDir(), check,
				&testbed.Nginx{Name: "a", Addr: addrA}, &testbed.Nginx{Name: "b", Addr: addrB})
			must(t, err)
			t.Cleanup(lb.Kill)
			f := &farm{lb: lb, drain: buildDrain(t), state: filepath.Join(t.TempDir(), "state")}
			page := filepath.Join(a.root, "keepalive.htm")
			rot := []string{"--rotate", "haproxy:" + lb.Sock + "#web/a"}
			var env []string
			switch mode {
			case "keepalive-pool":
				rot = []string{"--keepalive", page, "--pool", "haproxy:" + lb.Sock + "#web/a"}
			case "keepalive-source":
				rot = []string{"--keepalive", page}
				env = []string{"DRAIN_SOURCE=haproxy:" + lb.Sock + "#web/a"}
			}

			// Just after a check: out, the app restarts (down), in, all
			// long before HAProxy checks again.
			a.waitNextCheck(t)
			if _, e, code := f.run(t, append([]string{"out"}, rot...)...); code != 0 {
				t.Fatalf("out: exit %d %s", code, e)
			}
			a.up.Store(false)
			inAt := time.Now()
			cmd := exec.Command(f.drain, append(append([]string{"in", "--state-dir", f.state}, rot...), "--wait-healthy", "--interval", "20ms", "--timeout", "30s", "--output", "json")...)
			cmd.Env = append(os.Environ(), env...)
			var out, errb strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &errb
			must(t, cmd.Start())
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()

			// HAProxy's next check finds the app down; then it comes up.
			var downAt time.Time
			deadline := time.After(30 * time.Second)
		watch:
			for {
				select {
				case err := <-done:
					t.Fatalf("in returned (%v) %s after the in, before HAProxy's checks found the app down (it had a %s):\n%s\n%s",
						err, time.Since(inAt).Round(time.Millisecond), f.status(t, "a"), out.String(), errb.String())
				case <-deadline:
					t.Fatal("HAProxy never saw the app down")
				case <-time.After(20 * time.Millisecond):
					if strings.HasPrefix(f.status(t, "a"), "DOWN") {
						downAt = time.Now()
						break watch
					}
				}
			}
			a.up.Store(true)
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("in: %v\n%s\n%s", err, out.String(), errb.String())
				}
			case <-time.After(30 * time.Second):
				t.Fatal("in did not return")
			}
			endAt := time.Now()
			passed := false
			for _, c := range a.checks() {
				passed = passed || c.ok && c.at.After(downAt) && c.at.Before(endAt)
			}
			if !passed {
				t.Errorf("in returned without a passing check of HAProxy's after the app came back: %+v", a.checks())
			}
			if k, last := kinds(t, out.String()); indexOf(k, "healthy") < 0 || last.Rotation != "IN" {
				t.Errorf("events %v, last %+v", k, last)
			}
			if st := f.status(t, "a"); st != "UP" {
				t.Errorf("HAProxy has a %s after in --wait-healthy", st)
			}
		})
	}
}

// TestInWaitHealthyWithinOneCheck: the app restarted faster than HAProxy's
// check (inter 4s, rise 2), so HAProxy's UP is from checks made before the
// in, and the app is healthy again. Through the runtime API, in
// --wait-healthy, with no timing flag, must return only once a check made
// after the in has passed (never on the stale UP alone: inter 4s is longer
// than any fixed wait drain could guess), and within one check of it: before
// HAProxy's second check after the in.
func TestInWaitHealthyWithinOneCheck(t *testing.T) {
	requireServers(t, "haproxy")
	a, addrA := startChecked(t)
	_, addrB := startChecked(t)
	const inter = 4 * time.Second
	lb, err := testbed.StartHAProxyCheck(t.TempDir(), testbed.Check{Inter: inter, Fall: 2, Rise: 2},
		&testbed.Nginx{Name: "a", Addr: addrA}, &testbed.Nginx{Name: "b", Addr: addrB})
	must(t, err)
	t.Cleanup(lb.Kill)
	f := &farm{lb: lb, drain: buildDrain(t), state: filepath.Join(t.TempDir(), "state")}
	rot := []string{"--rotate", "haproxy:" + lb.Sock + "#web/a"}
	waitFor(t, func() bool { return f.status(t, "a") == "UP" })

	// Just after a check: out, a restart HAProxy never sees, in.
	a.waitNextCheck(t)
	if _, e, code := f.run(t, append([]string{"out"}, rot...)...); code != 0 {
		t.Fatalf("out: exit %d %s", code, e)
	}
	inAt := time.Now()
	out, e, code := f.run(t, append(append([]string{"in"}, rot...), "--wait-healthy", "--timeout", "30s", "--output", "json")...)
	endAt := time.Now()
	if code != 0 {
		t.Fatalf("in --wait-healthy: exit %d\n%s\n%s", code, out, e)
	}
	var after []time.Time // HAProxy's checks after the in
	for _, c := range a.checks() {
		if c.at.After(inAt) {
			after = append(after, c.at)
		}
	}
	if len(after) == 0 || !after[0].Before(endAt) {
		t.Fatalf("in returned %s after the in, before any check of HAProxy's made after it (checks after the in: %v)", endAt.Sub(inAt).Round(time.Millisecond), after)
	}
	if len(after) > 1 && after[1].Before(endAt) {
		t.Errorf("in returned %s after the first check made after the in: after the second too (more than one check)", endAt.Sub(after[0]).Round(time.Millisecond))
	}
	if k, last := kinds(t, out); indexOf(k, "healthy") < 0 || last.Rotation != "IN" {
		t.Errorf("events %v, last %+v", k, last)
	}
	if st := f.status(t, "a"); st != "UP" {
		t.Errorf("HAProxy has a %s after in --wait-healthy", st)
	}
	t.Logf("in returned %s after the in, %s after the first check made after it", endAt.Sub(inAt).Round(time.Millisecond), endAt.Sub(after[0]).Round(time.Millisecond))
}
