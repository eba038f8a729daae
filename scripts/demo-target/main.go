// Command demo-target is a small web server for the drain demo and tests.
//
// It serves a keep-alive page from a directory (so renaming the file takes
// the server "out of rotation"), slow requests that keep work in flight, and
// the in-flight count in three formats drain can poll: Prometheus text, nginx
// stub_status and JSON. On SIGTERM or SIGINT it stops at once and cuts what is
// still in flight, as a careless stop would; drain's job is to make sure
// nothing is.
//
//	demo-target -init -root DIR [-addr 127.0.0.1:0] [-port-file FILE] [-slow-default 3s] [-v]
//	demo-target load -url http://HOST:PORT [-n 3] [-d 6s] [-stagger 500ms] [-timeout 0]
//
// The load mode sends n staggered slow requests and exits 0 only if every one
// of them received its complete body.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	keepaliveName = "keepalive.htm"
	maxSlow       = 60 * time.Second
	// slowTick is how often a slow request writes one byte.
	slowTick = 250 * time.Millisecond
	// slowTrailer ends every complete slow body, so a client can tell a
	// complete answer from a cut one even without Content-Length.
	slowTrailer = "done\n"
	maxLoadN    = 100
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "load" {
		os.Exit(runLoad(context.Background(), os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(serveMain())
}

func serveMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runServe(ctx, os.Args[1:], os.Stderr)
}

// logger writes timestamped lines; safe for concurrent use.
type logger struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *logger) Printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "%s demo-target: %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

// target holds the server's counters and configuration.
type target struct {
	root        string
	slowDefault time.Duration
	verbose     bool
	log         *logger

	inFlight  atomic.Int64 // /slow requests being served
	total     atomic.Int64 // every request
	slowTotal atomic.Int64 // every /slow request
	slowSeq   atomic.Int64

	mu          sync.Mutex
	conns       map[net.Conn]http.ConnState // open connections, for nginx_status
	accepts     int64
	keepaliveOK *bool // last keep-alive answer, to log changes only
}

func newTarget(root string, slowDefault time.Duration, stderr io.Writer) *target {
	return &target{
		root:        root,
		slowDefault: slowDefault,
		log:         &logger{w: stderr},
		conns:       map[net.Conn]http.ConnState{},
	}
}

// connState tracks open connections; set it as http.Server.ConnState.
func (t *target) connState(c net.Conn, s http.ConnState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch s {
	case http.StateNew:
		t.accepts++
		t.conns[c] = s
	case http.StateClosed, http.StateHijacked:
		delete(t.conns, c)
	default:
		t.conns[c] = s
	}
}

func (t *target) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/"+keepaliveName, t.keepalive)
	mux.HandleFunc("/slow", t.slow)
	mux.HandleFunc("/metrics", t.metrics)
	mux.HandleFunc("/nginx_status", t.nginxStatus)
	mux.HandleFunc("/stats.json", t.stats)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.total.Add(1)
		w.Header().Set("Cache-Control", "no-store")
		if t.verbose && r.URL.Path != "/slow" {
			start := time.Now()
			rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
			mux.ServeHTTP(rec, r)
			t.log.Printf("%s %s -> %d in %s", r.Method, r.URL.RequestURI(), rec.status, time.Since(start).Round(time.Millisecond))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// keepalive reads the file on every request: a rename must show at once.
func (t *target) keepalive(w http.ResponseWriter, _ *http.Request) {
	b, err := os.ReadFile(filepath.Join(t.root, keepaliveName))
	ok := err == nil
	t.noteKeepalive(ok, err)
	switch {
	case err == nil:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		_, _ = w.Write(b)
	case errors.Is(err, os.ErrNotExist):
		http.Error(w, "keepalive.htm not found: out of rotation", http.StatusNotFound)
	default:
		http.Error(w, "read keepalive.htm: "+err.Error(), http.StatusInternalServerError)
	}
}

// noteKeepalive logs when the keep-alive answer changes, not every probe.
func (t *target) noteKeepalive(ok bool, err error) {
	t.mu.Lock()
	changed := t.keepaliveOK == nil || *t.keepaliveOK != ok
	t.keepaliveOK = &ok
	t.mu.Unlock()
	if !changed {
		return
	}
	if ok {
		t.log.Printf("%s answers 200 (in rotation)", keepaliveName)
	} else {
		t.log.Printf("%s does not answer 200 (out of rotation): %v", keepaliveName, err)
	}
}

// slow keeps a request in flight for d, writing one byte per tick so the
// client sees progress, then the trailer. Content-Length is set, so a client
// whose connection is cut gets an unexpected EOF rather than a short body.
func (t *target) slow(w http.ResponseWriter, r *http.Request) {
	d := t.slowDefault
	if s := r.URL.Query().Get("d"); s != "" {
		v, err := time.ParseDuration(s)
		if err != nil || v < 0 {
			http.Error(w, fmt.Sprintf("bad d=%q: want a duration such as 3s", s), http.StatusBadRequest)
			return
		}
		d = v
	}
	d = min(d, maxSlow)
	ticks := int(d / slowTick)
	rest := d - time.Duration(ticks)*slowTick

	id := t.slowSeq.Add(1)
	t.slowTotal.Add(1)
	n := t.inFlight.Add(1)
	defer t.inFlight.Add(-1)
	start := time.Now()
	t.log.Printf("slow #%d start d=%s from %s (in flight: %d)", id, d, r.RemoteAddr, n)

	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(ticks+len(slowTrailer)))
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	flush := func() {
		if flusher != nil {
			flusher.Flush()
		}
	}
	flush()

	cut := func(why string) {
		t.log.Printf("slow #%d cut after %s: %s", id, time.Since(start).Round(time.Millisecond), why)
	}
	timer := time.NewTimer(slowTick)
	defer timer.Stop()
	for i := 0; i <= ticks; i++ { // bounded: ticks <= maxSlow/slowTick
		wait := slowTick
		if i == ticks {
			wait = rest
		}
		timer.Reset(wait)
		select {
		case <-r.Context().Done():
			cut(context.Cause(r.Context()).Error())
			return
		case <-timer.C:
		}
		var err error
		if i < ticks {
			_, err = io.WriteString(w, ".")
		} else {
			_, err = io.WriteString(w, slowTrailer)
		}
		if err != nil {
			cut(err.Error())
			return
		}
		flush()
	}
	t.log.Printf("slow #%d done in %s (in flight: %d)", id, time.Since(start).Round(time.Millisecond), t.inFlight.Load()-1)
}

func (t *target) metrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	fmt.Fprintf(w, "# HELP demo_requests_in_flight Slow requests being served.\n")
	fmt.Fprintf(w, "# TYPE demo_requests_in_flight gauge\n")
	fmt.Fprintf(w, "demo_requests_in_flight %d\n", t.inFlight.Load())
	fmt.Fprintf(w, "# HELP demo_requests_total Requests received, of any path.\n")
	fmt.Fprintf(w, "# TYPE demo_requests_total counter\n")
	fmt.Fprintf(w, "demo_requests_total %d\n", t.total.Load())
	fmt.Fprintf(w, "# HELP demo_slow_requests_total Slow requests received.\n")
	fmt.Fprintf(w, "# TYPE demo_slow_requests_total counter\n")
	fmt.Fprintf(w, "demo_slow_requests_total %d\n", t.slowTotal.Load())
}

// nginxStatus mimics nginx stub_status. As in nginx, Writing counts the
// status request itself, and Waiting counts idle keep-alive connections.
func (t *target) nginxStatus(w http.ResponseWriter, _ *http.Request) {
	writing := t.inFlight.Load() + 1
	t.mu.Lock()
	active := int64(len(t.conns))
	accepts := t.accepts
	var waiting int64
	for _, s := range t.conns {
		if s == http.StateIdle {
			waiting++
		}
	}
	t.mu.Unlock()
	// Without connection tracking (a bare handler in a test), count at
	// least the requests being written.
	active = max(active, writing+waiting)
	accepts = max(accepts, active)
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(w, "Active connections: %d \n", active)
	fmt.Fprintf(w, "server accepts handled requests\n")
	fmt.Fprintf(w, " %d %d %d \n", accepts, accepts, t.total.Load())
	fmt.Fprintf(w, "Reading: 0 Writing: %d Waiting: %d \n", writing, waiting)
}

func (t *target) stats(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, "{\"in_flight\": %d}\n", t.inFlight.Load())
}

// runServe runs the server until ctx is done, then closes it at once.
func runServe(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo-target", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	root := fs.String("root", "", "directory holding "+keepaliveName+" (required)")
	initRoot := fs.Bool("init", false, "create -root and "+keepaliveName+" (content \"OK\\n\") if missing")
	portFile := fs.String("port-file", "", "write the listening host:port to this file (atomically) once listening")
	slowDefault := fs.Duration("slow-default", 3*time.Second, "duration of /slow when no d= is given (at most 60s)")
	verbose := fs.Bool("v", false, "also log every poll (/metrics, /nginx_status, /stats.json, keep-alive probes)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "demo-target: unexpected argument %q (the only subcommand is \"load\")\n", fs.Arg(0))
		return 2
	}
	if *root == "" {
		fmt.Fprintln(stderr, "demo-target: -root DIR is required")
		return 2
	}
	if *slowDefault < 0 || *slowDefault > maxSlow {
		fmt.Fprintf(stderr, "demo-target: -slow-default must be between 0 and %s\n", maxSlow)
		return 2
	}
	if err := prepareRoot(*root, *initRoot); err != nil {
		fmt.Fprintf(stderr, "demo-target: %v\n", err)
		return 1
	}

	t := newTarget(*root, *slowDefault, stderr)
	t.verbose = *verbose
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "demo-target: %v\n", err)
		return 1
	}
	if err := serve(ctx, t, ln, *portFile); err != nil {
		fmt.Fprintf(stderr, "demo-target: %v\n", err)
		return 1
	}
	return 0
}

// serve serves on ln until ctx is done. Stopping uses http.Server.Close,
// which cuts in-flight requests: that is what the demo shows drain avoids.
func serve(ctx context.Context, t *target, ln net.Listener, portFile string) error {
	srv := &http.Server{
		Handler:           t.handler(),
		ConnState:         t.connState,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	addr := ln.Addr().String()
	if portFile != "" {
		if err := writeFileAtomic(portFile, addr+"\n"); err != nil {
			_ = srv.Close()
			return fmt.Errorf("write port file: %w", err)
		}
	}
	t.log.Printf("listening on http://%s (root %s)", addr, t.root)

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	cut := t.inFlight.Load()
	_ = srv.Close()
	<-served // Close makes Serve return promptly
	t.log.Printf("stopped, %d requests were cut", cut)
	return nil
}

func prepareRoot(root string, create bool) error {
	if create {
		if err := os.MkdirAll(root, 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(filepath.Join(root, keepaliveName), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		switch {
		case errors.Is(err, os.ErrExist):
			return nil
		case err != nil:
			return err
		}
		if _, err := f.WriteString("OK\n"); err != nil {
			_ = f.Close()
			return err
		}
		return f.Close()
	}
	fi, err := os.Stat(root)
	if err != nil {
		return fmt.Errorf("-root: %w (use -init to create it)", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("-root %s is not a directory", root)
	}
	return nil
}

// writeFileAtomic writes via a temporary file and a rename, so a reader
// polling for the file never sees it half written.
func writeFileAtomic(path, content string) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if err := f.Chmod(0o644); err != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		return err
	}
	if _, err := f.WriteString(content); err != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// runLoad sends n staggered GET /slow?d=D requests and reports each one.
// It exits 0 only if all of them got 200 and their complete body.
func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo-target load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "", "base URL of the demo target, e.g. http://127.0.0.1:8080 (required)")
	n := fs.Int("n", 3, fmt.Sprintf("number of requests (1-%d)", maxLoadN))
	d := fs.Duration("d", 6*time.Second, "duration of each slow request (at most 60s)")
	stagger := fs.Duration("stagger", 500*time.Millisecond, "delay between request starts (at most 60s)")
	timeout := fs.Duration("timeout", 0, "per-request timeout (default d+30s)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "demo-target load: unexpected argument %q\n", fs.Arg(0))
		return 2
	case *base == "":
		fmt.Fprintln(stderr, "demo-target load: -url is required")
		return 2
	case *n < 1 || *n > maxLoadN:
		fmt.Fprintf(stderr, "demo-target load: -n must be between 1 and %d\n", maxLoadN)
		return 2
	case *d < 0 || *d > maxSlow:
		fmt.Fprintf(stderr, "demo-target load: -d must be between 0 and %s\n", maxSlow)
		return 2
	case *stagger < 0 || *stagger > maxSlow:
		fmt.Fprintf(stderr, "demo-target load: -stagger must be between 0 and %s\n", maxSlow)
		return 2
	case *timeout < 0:
		fmt.Fprintln(stderr, "demo-target load: -timeout must not be negative")
		return 2
	}
	if *timeout == 0 {
		*timeout = *d + 30*time.Second
	}
	url := strings.TrimRight(*base, "/") + "/slow?d=" + d.String()
	client := &http.Client{
		Timeout: *timeout,
		// No proxy, and no idle connections left behind to skew counts.
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
	}

	var (
		mu     sync.Mutex
		failed int
		wg     sync.WaitGroup
	)
	for i := 1; i <= *n; i++ {
		if i > 1 && *stagger > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(*stagger):
			}
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			line, ok := loadOne(ctx, client, url, i)
			mu.Lock()
			defer mu.Unlock()
			if !ok {
				failed++
			}
			fmt.Fprintln(stdout, line)
		}(i)
	}
	wg.Wait()
	if failed > 0 {
		fmt.Fprintf(stdout, "load: %d of %d requests failed or were cut\n", failed, *n)
		return 1
	}
	fmt.Fprintf(stdout, "load: all %d requests complete\n", *n)
	return 0
}

// loadOne makes one request and describes the outcome in one line.
func loadOne(ctx context.Context, client *http.Client, url string, i int) (string, bool) {
	start := time.Now()
	elapsed := func() string { return fmt.Sprintf("%.1fs", time.Since(start).Seconds()) }
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Sprintf("request %d: FAILED: %v", i, err), false
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Sprintf("request %d: FAILED after %s: %v", i, elapsed(), err), false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case err != nil:
		return fmt.Sprintf("request %d: CUT after %s: %s, %d bytes received: %v", i, elapsed(), resp.Status, len(body), err), false
	case resp.StatusCode != http.StatusOK:
		return fmt.Sprintf("request %d: FAILED after %s: %s, %d bytes", i, elapsed(), resp.Status, len(body)), false
	case !strings.HasSuffix(string(body), slowTrailer) ||
		(resp.ContentLength >= 0 && int64(len(body)) != resp.ContentLength):
		return fmt.Sprintf("request %d: CUT after %s: %s, incomplete body (%d bytes)", i, elapsed(), resp.Status, len(body)), false
	}
	return fmt.Sprintf("request %d: %s, %d bytes in %s", i, resp.Status, len(body), elapsed()), true
}
