//go:build linux

// Command backin measures how soon `drain in --wait-healthy`, with no timing
// flag, returns after a real HAProxy has the server UP again from a check
// made after the in, and whether it ever returns before such a check (on an
// UP left from checks made before a restart). It prints a Markdown table;
// scripts/bench/backin.sh runs it with an older binary to compare.
//
// Each run: a real HTTP server (its keep-alive page answers 2xx while the
// app is up, 503 while it restarts; it logs when HAProxy's checks came and
// what they got) behind a real HAProxy; just after a check, drain out, the
// app restarts (quick: 100 ms, so HAProxy never sees it down; slow: until
// HAProxy has it DOWN), then drain in --wait-healthy. HAProxy's status is
// sampled every 10 ms.
//
//	go run ./scripts/bench/backin -old /path/to/older/drain -runs 3
package main

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drain-cli/drain/internal/testbed"
)

type app struct {
	root string
	up   atomic.Bool
	mu   sync.Mutex
	hits []hit
	srv  *http.Server
	addr string
}

type hit struct {
	at time.Time
	ok bool
}

func startApp(dir string) *app {
	a := &app{root: dir}
	check(os.MkdirAll(dir, 0o755))
	check(os.WriteFile(filepath.Join(dir, "keepalive.htm"), []byte("OK\n"), 0o644))
	a.up.Store(true)
	files := http.FileServer(http.Dir(dir))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	a.addr = ln.Addr().String()
	a.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok := a.up.Load()
		if ok {
			_, err := os.Stat(filepath.Join(dir, "keepalive.htm"))
			ok = err == nil
		}
		if r.URL.Path == "/keepalive.htm" {
			a.mu.Lock()
			a.hits = append(a.hits, hit{time.Now(), ok})
			a.mu.Unlock()
		}
		if !a.up.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		files.ServeHTTP(w, r)
	})}
	go func() { _ = a.srv.Serve(ln) }()
	return a
}

func (a *app) checks() []hit {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]hit(nil), a.hits...)
}

// waitNextCheck returns just after HAProxy's next check (within 30 s).
func (a *app) waitNextCheck() {
	n := len(a.checks())
	for deadline := time.Now().Add(30 * time.Second); len(a.checks()) == n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			fatal("no check of HAProxy's in 30 s")
		}
	}
}

type sample struct {
	at     time.Time
	status string
}

type variant struct {
	rotation string // "runtime API" or "keep-alive page"
	check    testbed.Check
	slow     bool // the restart lasts until HAProxy has the server DOWN
}

func (v variant) String() string {
	r := "quick restart (100 ms, HAProxy never sees it down)"
	if v.slow {
		r = "slow restart (until HAProxy has it DOWN)"
	}
	return fmt.Sprintf("%s, inter %s fall %d rise %d, %s", v.rotation, v.check.Inter, v.check.Fall, v.check.Rise, r)
}

type result struct {
	lag     time.Duration // in's return minus HAProxy UP from a check made after the in
	total   time.Duration // in's whole time
	checks  int           // HAProxy's checks between the in and its return
	early   bool          // returned before any check made after the in passed
	failure string
}

func main() {
	old := flag.String("old", "", "an older drain binary to compare with (scripts/bench/backin.sh builds one)")
	runs := flag.Int("runs", 3, "runs per variant and binary, interleaved")
	flag.Parse()
	root, err := os.MkdirTemp("", "drain-backin")
	check(err)
	defer os.RemoveAll(root)
	check(os.Chmod(root, 0o755))
	bin := filepath.Join(root, "drain")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/drain").CombinedOutput(); err != nil {
		fatal("go build: %v\n%s", err, out)
	}
	bins := []struct{ name, path string }{{"this tree", bin}}
	if *old != "" {
		bins = append([]struct{ name, path string }{{"before", *old}}, bins...)
	}
	var variants []variant
	for _, rot := range []string{"runtime API", "keep-alive page"} {
		for _, c := range []testbed.Check{{Inter: time.Second, Fall: 2, Rise: 2}, {Inter: 2 * time.Second, Fall: 3, Rise: 2}} {
			for _, slow := range []bool{false, true} {
				variants = append(variants, variant{rot, c, slow})
			}
		}
	}
	res := map[string][]result{}
	n := 0
	for r := range *runs {
		for _, v := range variants {
			for _, b := range bins {
				n++
				dir := filepath.Join(root, fmt.Sprintf("run%d", n))
				o := one(dir, b.path, v)
				fmt.Fprintf(os.Stderr, "run %d/%d %s [%s]: lag %s, in took %s, %d checks, early %v %s\n", r+1, *runs, v, b.name, o.lag.Round(time.Millisecond), o.total.Round(time.Millisecond), o.checks, o.early, o.failure)
				res[v.String()+"|"+b.name] = append(res[v.String()+"|"+b.name], o)
			}
		}
	}
	fmt.Println("| variant | binary | runs | returned on a stale UP (before any check after the in) | in's return after HAProxy's UP from a check after the in: median (min..max) | in's whole time: median (min..max) | HAProxy checks during the in: max |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, v := range variants {
		for _, b := range bins {
			rs := res[v.String()+"|"+b.name]
			var lags, totals []time.Duration
			early, maxChecks := 0, 0
			for _, o := range rs {
				if o.failure != "" {
					continue
				}
				totals = append(totals, o.total)
				maxChecks = max(maxChecks, o.checks)
				if o.early {
					early++
					continue
				}
				lags = append(lags, o.lag)
			}
			fmt.Printf("| %s | %s | %d | %d | %s | %s | %d |\n", v, b.name, len(rs), early, spread(lags), spread(totals), maxChecks)
		}
	}
}

// one run: out, the restart, in --wait-healthy, with HAProxy sampled.
func one(dir, bin string, v variant) result {
	a := startApp(filepath.Join(dir, "a"))
	defer a.srv.Close()
	bApp := startApp(filepath.Join(dir, "b"))
	defer bApp.srv.Close()
	lb, err := testbed.StartHAProxyCheck(filepath.Join(dir, "lb"), v.check, &testbed.Nginx{Name: "a", Addr: a.addr}, &testbed.Nginx{Name: "b", Addr: bApp.addr})
	check(err)
	defer lb.Kill()
	status := func() string {
		st, err := lb.ServerStatus(&testbed.Nginx{Name: "a"})
		if err != nil {
			return "?"
		}
		return st
	}
	for deadline := time.Now().Add(30 * time.Second); status() != "UP"; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			return result{failure: "a never UP"}
		}
	}
	state := filepath.Join(dir, "state")
	rot := []string{"--rotate", "haproxy:" + lb.Sock + "#web/a"}
	if v.rotation == "keep-alive page" {
		rot = []string{"--keepalive", filepath.Join(a.root, "keepalive.htm"), "--pool", "haproxy:" + lb.Sock + "#web/a"}
	}
	a.waitNextCheck()
	if out, err := exec.Command(bin, append([]string{"out", "--state-dir", state}, rot...)...).CombinedOutput(); err != nil {
		return result{failure: fmt.Sprintf("out: %v %s", err, out)}
	}
	a.up.Store(false)
	if v.slow {
		for deadline := time.Now().Add(30 * time.Second); !strings.HasPrefix(status(), "DOWN"); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				return result{failure: "a never DOWN"}
			}
		}
	} else {
		time.Sleep(100 * time.Millisecond)
	}
	a.up.Store(true)

	var mu sync.Mutex
	var samples []sample
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for i := 0; i < 6000; i++ {
			s := sample{time.Now(), status()}
			mu.Lock()
			samples = append(samples, s)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	inAt := time.Now()
	cmd := exec.Command(bin, append(append([]string{"in", "--state-dir", state}, rot...), "--wait-healthy", "--timeout", "30s")...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err = cmd.Run()
	endAt := time.Now()
	time.Sleep(50 * time.Millisecond)
	close(stop)
	<-sampled
	if err != nil {
		return result{failure: fmt.Sprintf("in: %v %s", err, lastLine(errb.String()))}
	}
	r := result{total: endAt.Sub(inAt)}
	var firstOK time.Time
	for _, c := range a.checks() {
		if c.at.After(inAt) && c.at.Before(endAt) {
			r.checks++
		}
		if c.ok && c.at.After(inAt) && firstOK.IsZero() {
			firstOK = c.at
		}
	}
	if firstOK.IsZero() || !firstOK.Before(endAt) {
		r.early = true
		return r
	}
	var upAt time.Time
	for _, s := range samples {
		if !s.at.Before(firstOK) && s.status == "UP" {
			upAt = s.at
			break
		}
	}
	if upAt.IsZero() {
		upAt = firstOK
	}
	r.lag = endAt.Sub(upAt)
	return r
}

func spread(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	f := func(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
	return fmt.Sprintf("%s (%s..%s)", f(s[len(s)/2]), f(s[0]), f(s[len(s)-1]))
}

func lastLine(s string) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return l[len(l)-1]
}

func check(err error) {
	if err != nil {
		fatal("%v", err)
	}
}

func fatal(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "backin: "+format+"\n", a...)
	os.Exit(1)
}
