package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the server's concurrent logging.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newTestServer starts the demo handlers on an httptest server, with
// connection tracking wired as in the real server.
func newTestServer(t *testing.T) (*target, *httptest.Server, string) {
	t.Helper()
	root := t.TempDir()
	if err := prepareRoot(root, true); err != nil {
		t.Fatal(err)
	}
	tgt := newTarget(root, time.Second, &syncBuffer{})
	srv := httptest.NewUnstartedServer(tgt.handler())
	srv.Config.ConnState = tgt.connState
	srv.Start()
	t.Cleanup(srv.Close)
	return tgt, srv, root
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// waitFor polls cond for at most 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startSlow runs GET /slow?d=... in the background and waits until the
// server counts it in flight. The returned channel yields the status code.
func startSlow(t *testing.T, tgt *target, base, d string) <-chan int {
	t.Helper()
	before := tgt.inFlight.Load()
	done := make(chan int, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/slow?d="+d, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- -1
			return
		}
		defer resp.Body.Close()
		if _, err := io.ReadAll(resp.Body); err != nil {
			done <- -1
			return
		}
		done <- resp.StatusCode
	}()
	waitFor(t, "slow request in flight", func() bool { return tgt.inFlight.Load() > before })
	return done
}

var metricLine = regexp.MustCompile(`(?m)^(demo_[a-z_]+) (\d+)$`)

func parseMetrics(t *testing.T, body string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, m := range metricLine.FindAllStringSubmatch(body, -1) {
		n, _ := strconv.Atoi(m[2])
		out[m[1]] = n
	}
	return out
}

func TestMetricsCountsInFlightSlowRequest(t *testing.T) {
	tgt, srv, _ := newTestServer(t)

	code, body := get(t, srv.URL+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: status %d", code)
	}
	for _, want := range []string{"# TYPE demo_requests_in_flight gauge\n", "# TYPE demo_requests_total counter\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
	idle := parseMetrics(t, body)
	if got, ok := idle["demo_requests_in_flight"]; !ok || got != 0 {
		t.Fatalf("idle in flight = %d (present %v), want 0:\n%s", got, ok, body)
	}

	done := startSlow(t, tgt, srv.URL, "500ms")
	_, body = get(t, srv.URL+"/metrics")
	busy := parseMetrics(t, body)
	if busy["demo_requests_in_flight"] != 1 {
		t.Errorf("in flight during a slow request = %d, want 1:\n%s", busy["demo_requests_in_flight"], body)
	}
	if busy["demo_requests_total"] <= idle["demo_requests_total"] {
		t.Errorf("demo_requests_total did not grow: %d -> %d", idle["demo_requests_total"], busy["demo_requests_total"])
	}
	if _, js := get(t, srv.URL+"/stats.json"); strings.TrimSpace(js) != `{"in_flight": 1}` {
		t.Errorf("/stats.json = %q, want {\"in_flight\": 1}", js)
	}

	if code := <-done; code != http.StatusOK {
		t.Fatalf("slow request: status %d", code)
	}
	_, body = get(t, srv.URL+"/metrics")
	if after := parseMetrics(t, body); after["demo_requests_in_flight"] != 0 {
		t.Errorf("in flight after the slow request = %d, want 0", after["demo_requests_in_flight"])
	}
}

func TestKeepaliveReflectsRename(t *testing.T) {
	_, srv, root := newTestServer(t)
	page := filepath.Join(root, keepaliveName)
	url := srv.URL + "/" + keepaliveName

	if code, body := get(t, url); code != http.StatusOK || body != "OK\n" {
		t.Fatalf("before rename: %d %q, want 200 \"OK\\n\"", code, body)
	}
	if err := os.Rename(page, page+".disabled"); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, url); code != http.StatusNotFound {
		t.Fatalf("after rename: status %d, want 404", code)
	}
	if err := os.WriteFile(page+".disabled", []byte("back\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(page+".disabled", page); err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, url); code != http.StatusOK || body != "back\n" {
		t.Fatalf("after restore: %d %q, want 200 \"back\\n\" (no caching)", code, body)
	}
}

var nginxStatus = regexp.MustCompile(`^Active connections: (\d+) \n` +
	`server accepts handled requests\n` +
	` (\d+) (\d+) (\d+) \n` +
	`Reading: (\d+) Writing: (\d+) Waiting: (\d+) \n$`)

type stubStatus struct{ active, accepts, handled, requests, reading, writing, waiting int }

func parseStubStatus(t *testing.T, body string) stubStatus {
	t.Helper()
	m := nginxStatus.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("not nginx stub_status format:\n%q", body)
	}
	n := make([]int, 8)
	for i := 1; i < len(m); i++ {
		n[i], _ = strconv.Atoi(m[i])
	}
	return stubStatus{n[1], n[2], n[3], n[4], n[5], n[6], n[7]}
}

func TestNginxStatusFormat(t *testing.T) {
	tgt, srv, _ := newTestServer(t)

	_, body := get(t, srv.URL+"/nginx_status")
	idle := parseStubStatus(t, body)
	if idle.writing != 1 || idle.reading != 0 {
		t.Errorf("idle: Reading %d Writing %d, want 0 and 1 (the status request itself)", idle.reading, idle.writing)
	}

	done := startSlow(t, tgt, srv.URL, "300ms")
	_, body = get(t, srv.URL+"/nginx_status")
	busy := parseStubStatus(t, body)
	if busy.writing != 2 {
		t.Errorf("busy: Writing %d, want 2 (one slow request + the status request)", busy.writing)
	}
	if busy.accepts != busy.handled {
		t.Errorf("accepts %d != handled %d", busy.accepts, busy.handled)
	}
	if busy.active < busy.reading+busy.writing+busy.waiting {
		t.Errorf("Active %d < Reading+Writing+Waiting %d", busy.active, busy.reading+busy.writing+busy.waiting)
	}
	if busy.requests <= idle.requests {
		t.Errorf("requests did not grow: %d -> %d", idle.requests, busy.requests)
	}
	if code := <-done; code != http.StatusOK {
		t.Fatalf("slow request: status %d", code)
	}
}

func TestSlowRejectsBadDuration(t *testing.T) {
	_, srv, _ := newTestServer(t)
	for _, d := range []string{"xx", "-1s"} {
		if code, _ := get(t, srv.URL+"/slow?d="+d); code != http.StatusBadRequest {
			t.Errorf("d=%s: status %d, want 400", d, code)
		}
	}
}

func TestPrepareRoot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "www")
	if err := prepareRoot(dir, false); err == nil {
		t.Fatal("missing root without -init: want an error")
	}
	if err := prepareRoot(dir, true); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(dir, keepaliveName)
	if b, err := os.ReadFile(page); err != nil || string(b) != "OK\n" {
		t.Fatalf("keepalive after -init: %q, %v", b, err)
	}
	if err := os.WriteFile(page, []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := prepareRoot(dir, true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(page); string(b) != "mine\n" {
		t.Fatalf("-init overwrote an existing keepalive.htm: %q", b)
	}
}

func TestLoadSucceeds(t *testing.T) {
	_, srv, _ := newTestServer(t)
	var out, errOut bytes.Buffer
	rc := runLoad(context.Background(), []string{"-url", srv.URL + "/", "-n", "2", "-d", "200ms", "-stagger", "50ms"}, &out, &errOut)
	if rc != 0 {
		t.Fatalf("rc = %d, want 0\n%s%s", rc, out.String(), errOut.String())
	}
	for _, want := range []string{"request 1: 200 OK, 5 bytes in", "request 2: 200 OK, 5 bytes in", "load: all 2 requests complete"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestLoadDetectsIncompleteBody(t *testing.T) {
	// A 200 whose body lacks the trailer is a failure, not a success.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "..")
	}))
	defer srv.Close()
	var out bytes.Buffer
	if rc := runLoad(context.Background(), []string{"-url", srv.URL, "-n", "1", "-d", "0s"}, &out, io.Discard); rc != 1 {
		t.Fatalf("rc = %d, want 1\n%s", rc, out.String())
	}
	if !strings.Contains(out.String(), "request 1: CUT") {
		t.Errorf("output does not report the cut:\n%s", out.String())
	}
}

func TestLoadUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"-url", "http://x", "-n", "0"}, {"-url", "http://x", "-d", "2m"}} {
		if rc := runLoad(context.Background(), args, io.Discard, io.Discard); rc != 2 {
			t.Errorf("runLoad(%q) = %d, want 2", args, rc)
		}
	}
}

// TestStopCutsInFlightAndLoadFails runs the real serve loop: stopping it
// while requests are in flight cuts them, the server says how many, and the
// load client exits 1.
func TestStopCutsInFlightAndLoadFails(t *testing.T) {
	root := t.TempDir()
	if err := prepareRoot(root, true); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	tgt := newTarget(root, time.Second, logs)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	portFile := filepath.Join(t.TempDir(), "port")
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	served := make(chan error, 1)
	go func() { served <- serve(ctx, tgt, ln, portFile) }()

	var addr []byte
	waitFor(t, "port file", func() bool {
		addr, err = os.ReadFile(portFile)
		return err == nil
	})
	if got := strings.TrimSpace(string(addr)); got != ln.Addr().String() {
		t.Fatalf("port file = %q, want %q", got, ln.Addr().String())
	}

	var out syncBuffer
	loaded := make(chan int, 1)
	go func() {
		loaded <- runLoad(context.Background(), []string{
			"-url", "http://" + strings.TrimSpace(string(addr)), "-n", "2", "-d", "10s", "-stagger", "0s", "-timeout", "20s",
		}, &out, io.Discard)
	}()
	waitFor(t, "2 slow requests in flight", func() bool { return tgt.inFlight.Load() == 2 })
	stop()

	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server did not stop within 5s")
	}
	select {
	case rc := <-loaded:
		if rc != 1 {
			t.Errorf("load rc = %d, want 1\n%s", rc, out.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("load client did not finish within 5s of the stop")
	}
	if got := strings.Count(out.String(), ": CUT after"); got != 2 {
		t.Errorf("load reported %d cut requests, want 2:\n%s", got, out.String())
	}
	if !strings.Contains(out.String(), "load: 2 of 2 requests failed or were cut") {
		t.Errorf("load summary missing:\n%s", out.String())
	}
	if !strings.Contains(logs.String(), "demo-target: stopped, 2 requests were cut") {
		t.Errorf("server log lacks the cut count:\n%s", logs.String())
	}
}
