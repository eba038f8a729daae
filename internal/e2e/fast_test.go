//go:build !windows

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/testbed"
)

// Fast by default (issue 18): with no timing flags, drain ends as soon as
// the balancer it can see has stopped sending and nothing is in flight, and
// keeps a quiet window where it cannot see the balancer. Every run here goes
// through two real HAProxy LBs in front of two real nginx backends under
// load, and A is fast-stopped (SIGTERM) by the action, so a request cut or
// sent to a stopped A shows as failed.

// fastRun is what one drain run under load showed.
type fastRun struct {
	failed  int
	late    int           // failed requests that started after the action
	gap     time.Duration // from the end of A's last request to the action
	drained fastEvent     // the drained event
	stderr  string
}

type fastEvent struct {
	Event   string   `json:"event"`
	Message string   `json:"message"`
	Rule    string   `json:"settle_rule"`
	Settle  *float64 `json:"settle_s"`
	Elapsed float64  `json:"elapsed_s"`
}

// runFast runs drain run with args (rotation, sources, anything else; no
// timing flag unless the test gives one) under load, stops A with SIGTERM as
// the action, and counts what failed. It does not judge: each test does.
func runFast(t *testing.T, p *lbPair, args ...string) fastRun {
	t.Helper()
	all := append([]string{"run", "--output", "json", "--state-dir", filepath.Join(p.dir, "state"), "--timeout", "60s"}, args...)
	out, stderr, _, results := p.runUnderLoad(t, all)
	actionStart := drainedThenActed(t, out)

	r := fastRun{stderr: stderr}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e fastEvent
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Event == "drained" {
			r.drained = e
		}
	}
	var lastA time.Time
	var viaB int
	for _, res := range results {
		if !res.OK() {
			r.failed++
			if res.Start.After(actionStart) {
				r.late++
			}
			t.Logf("request failed or cut: %s", res)
		}
		switch res.Backend {
		case "A":
			if res.OK() && res.End.After(lastA) {
				lastA = res.End
			}
		case "B":
			viaB++
		}
	}
	if viaB == 0 {
		t.Fatal("no traffic through B: the load proves nothing")
	}
	r.gap = actionStart.Sub(lastA)
	t.Logf("%d requests, %d failed (%d late); A's last request ended %s before the action; drained: %s",
		len(results), r.failed, r.late, r.gap.Round(time.Millisecond), r.drained.Message)
	return r
}

// lbSources are both LBs' view of A on their runtime API sockets (their
// own view of the server and its stot), and A's own nginx.
func lbSources(p *lbPair) []string {
	return []string{
		"--source", "nginx:" + p.a.URL("/nginx_status"),
		"--source", "haproxy:" + p.lb1.Server(p.a),
		"--source", "haproxy:" + p.lb2.Server(p.a),
	}
}

func wantZeroDrop(t *testing.T, r fastRun) {
	t.Helper()
	if r.failed > 0 {
		t.Errorf("%d requests failed with drain's defaults", r.failed)
	}
	if r.gap <= 0 {
		t.Errorf("the action started %s before A's last request ended", -r.gap)
	}
}

// TestFastDefaultsRuntimeAPI: runtime API rotation on both LBs, both LBs'
// sockets as sources, no timing flag: 0 failed, and no settle window
// (the balancers said they stopped sending and their stot stayed still).
func TestFastDefaultsRuntimeAPI(t *testing.T) {
	p := startLBPair(t)
	r := runFast(t, p, append([]string{"--haproxy", p.lb1.Server(p.a), "--haproxy", p.lb2.Server(p.a)}, lbSources(p)...)...)
	wantZeroDrop(t, r)
	if !strings.Contains(r.drained.Rule, "no settle window") || r.drained.Settle == nil || *r.drained.Settle != 0 {
		t.Errorf("drained %+v, want the no-window rule", r.drained)
	}
}

// TestFastDefaultsKeepalive: the keep-alive page (the balancers learn by
// probing), both LBs' sockets as sources, no --lb-grace, no --verify-url,
// no timing flag: drain waits until both balancers mark A down, then for
// in-flight zero; 0 failed.
func TestFastDefaultsKeepalive(t *testing.T) {
	p := startLBPair(t)
	r := runFast(t, p, append([]string{"--keepalive", p.a.Keepalive()}, lbSources(p)...)...)
	wantZeroDrop(t, r)
	if !strings.Contains(r.drained.Rule, "no settle window") {
		t.Errorf("drained %+v, want the no-window rule", r.drained)
	}
	if strings.Contains(r.stderr, "--lb-grace is 0") {
		t.Errorf("warned about --lb-grace although drain reads the balancers' view:\n%s", r.stderr)
	}
}

// TestFastDefaultsRareChecks: the same with balancers that check rarely
// (inter 2s fall 3: up to 6 s before they notice the page went away): the
// balancers' view, not a fixed time, ends the wait; 0 failed.
func TestFastDefaultsRareChecks(t *testing.T) {
	p := startLBPairCheck(t, testbed.Check{Inter: 2 * time.Second, Fall: 3, Rise: 2})
	r := runFast(t, p, append([]string{"--keepalive", p.a.Keepalive()}, lbSources(p)...)...)
	wantZeroDrop(t, r)
	for i, lb := range []*testbed.HAProxy{p.lb1, p.lb2} {
		if st, err := lb.ServerStatus(p.a); err != nil || !strings.HasPrefix(st, "DOWN") {
			t.Errorf("lb%d sees A as %q (%v), want DOWN", i+1, st, err)
		}
	}
}

// TestFastDefaultsAppSideOnly: only A's own counter (nginx stub_status) and
// a stats page URL of one LB (a balancer-side source whose view drain does
// not read): drain cannot see the balancers stop, so the quiet window
// stays (5 s by default), and it says what it assumed; 0 failed.
func TestFastDefaultsAppSideOnly(t *testing.T) {
	p := startLBPair(t)
	r := runFast(t, p, "--keepalive", p.a.Keepalive(), "--verify-url", p.a.URL("/keepalive.htm"), "--lb-grace", "1s",
		"--source", "nginx:"+p.a.URL("/nginx_status"), "--source", "haproxy:"+p.lb2.StatsCSV()+"#web/a")
	wantZeroDrop(t, r)
	if r.drained.Settle == nil || *r.drained.Settle != 5 || !strings.Contains(r.drained.Rule, "does not read") {
		t.Errorf("drained %+v, want the 5s window and what drain assumed", r.drained)
	}
	p2 := startLBPair(t)
	r = runFast(t, p2, "--keepalive", p2.a.Keepalive(), "--verify-url", p2.a.URL("/keepalive.htm"), "--lb-grace", "1s",
		"--source", "nginx:"+p2.a.URL("/nginx_status"))
	wantZeroDrop(t, r)
	if r.drained.Settle == nil || *r.drained.Settle != 5 || !strings.Contains(r.drained.Rule, "cannot see the load balancer") || !strings.Contains(r.drained.Rule, "--pool") {
		t.Errorf("drained %+v, want the 5s window, what drain assumed and the flag that removes the guess", r.drained)
	}
}

// TestFastHarnessSeesPrematureStop is the control of the tests above: the
// same harness with the waits forced off (no window, no grace, the
// counters' threshold out of reach, nothing that sees the balancer) stops
// A while the balancers, checking rarely, still send to it: failed
// requests must show.
func TestFastHarnessSeesPrematureStop(t *testing.T) {
	p := startLBPairCheck(t, testbed.Check{Inter: 2 * time.Second, Fall: 3, Rise: 2})
	r := runFast(t, p, "--keepalive", p.a.Keepalive(), "--settle", "0", "--lb-grace", "0",
		"--source", "nginx:"+p.a.URL("/nginx_status")+"<=1000")
	if r.failed == 0 {
		t.Fatal("a stop that skipped the wait cut nothing: the harness cannot see a premature stop")
	}
}
