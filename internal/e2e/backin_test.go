//go:build !windows

package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/testbed"
)

// events returns the kinds of drain's NDJSON events in order, and the last.
func kinds(t *testing.T, out string) ([]string, event) {
	t.Helper()
	evs := parseEvents(t, []byte(out))
	if len(evs) == 0 {
		t.Fatalf("no events: %q", out)
	}
	k := make([]string, len(evs))
	for i, e := range evs {
		k[i] = e.Event
	}
	return k, evs[len(evs)-1]
}

func indexOf(k []string, kind string) int {
	for i, s := range k {
		if s == kind {
			return i
		}
	}
	return -1
}

// adminOf is the server's admin state as the real HAProxy has it, read
// through status --pool.
func (f *farm) adminOf(t *testing.T, name string) string {
	t.Helper()
	out, _, code := f.run(t, "status", "--pool", "haproxy:"+f.lb.Sock+"#web", "--output", "json")
	var rep poolJSON
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil {
		t.Fatalf("status --pool: exit %d %s", code, out)
	}
	for _, m := range rep.Members {
		if m.Name == name {
			return m.Admin
		}
	}
	t.Fatalf("no %s in %s", name, out)
	return ""
}

// TestInWaitHealthyFromBalancer: in --wait-healthy waits until the real
// HAProxy's own check reports the server UP, not only until the server is
// set ready; a server whose check never passes is exit 3, IN, said so.
func TestInWaitHealthyFromBalancer(t *testing.T) {
	f := startFarm(t, testbed.Check{Inter: 100 * time.Millisecond, Fall: 1, Rise: 2}, "a", "b")
	rot := "haproxy:" + f.lb.Sock + "#web/a"
	if _, e, code := f.run(t, "out", "--rotate", rot); code != 0 {
		t.Fatalf("out: %d %s", code, e)
	}
	// The check fails while the server is out (a deploy), and passes again
	// 1.5 s after in starts.
	f.healthy["a"].Store(false)
	waitFor(t, func() bool { return strings.HasPrefix(f.status(t, "a"), "DOWN") })
	go func() {
		time.Sleep(1500 * time.Millisecond)
		f.healthy["a"].Store(true)
	}()
	start := time.Now()
	out, e, code := f.run(t, "in", "--rotate", rot, "--wait-healthy", "--interval", "100ms", "--timeout", "30s", "--output", "json")
	k, last := kinds(t, out)
	if code != 0 || last.Rotation != "IN" || indexOf(k, "healthy") < indexOf(k, "in") || time.Since(start) < 1500*time.Millisecond {
		t.Fatalf("in --wait-healthy: exit %d after %s, events %v, last %+v, %s", code, time.Since(start), k, last, e)
	}
	if st := f.status(t, "a"); st != "UP" {
		t.Errorf("after in --wait-healthy the balancer has a %s", st)
	}

	// Never healthy: exit 3 within --timeout, the server IN, the reason said.
	if _, e, code := f.run(t, "out", "--rotate", rot); code != 0 {
		t.Fatalf("out: %d %s", code, e)
	}
	f.healthy["a"].Store(false)
	waitFor(t, func() bool { return strings.HasPrefix(f.status(t, "a"), "DOWN") })
	out, e, code = f.run(t, "in", "--rotate", rot, "--wait-healthy", "--interval", "100ms", "--timeout", "2s")
	if code != 3 || !strings.Contains(e, "does not report the server up") || !strings.Contains(e, "health down") || !strings.Contains(out+e, "IN") {
		t.Errorf("never healthy: exit %d\n%s\n%s", code, out, e)
	}
	if a := f.adminOf(t, "a"); a != "enabled" {
		t.Errorf("never healthy: admin %s, want enabled (IN, as reported)", a)
	}

	// Nothing to wait on: exit 2.
	_, e, code = f.run(t, "in", "--keepalive", t.TempDir()+"/k.htm", "--wait-healthy")
	if code != 2 || !strings.Contains(e, "nothing to wait on") {
		t.Errorf("--wait-healthy without a verify URL or balancer: exit %d %s", code, e)
	}
}

// TestInWarmUp: --warm-up requests the URL until it answered 2xx
// --warm-up-count times, all before the server goes back; a server that
// never warms is left out, exit 3, said clearly.
func TestInWarmUp(t *testing.T) {
	f := startFarm(t, testbed.Check{Inter: 100 * time.Millisecond, Fall: 1, Rise: 1}, "a", "b")
	rot := "haproxy:" + f.lb.Sock + "#web/a"
	warm := "http://" + f.addrs["a"] + "/warm"
	if _, e, code := f.run(t, "out", "--rotate", rot); code != 0 {
		t.Fatalf("out: %d %s", code, e)
	}
	f.warm["a"].Store(3) // three 503s, then 2xx
	out, e, code := f.run(t, "in", "--rotate", rot, "--warm-up", warm, "--warm-up-count", "2", "--interval", "50ms", "--timeout", "20s", "--output", "json")
	k, last := kinds(t, out)
	if code != 0 || last.Rotation != "IN" || indexOf(k, "warmup") < 0 || indexOf(k, "warmup") > indexOf(k, "in") {
		t.Fatalf("warm-up: exit %d, events %v, %s", code, k, e)
	}
	if n := f.warm["a"].Load(); n != -2 {
		t.Errorf("the warm-up URL answered %d 2xx, want 2", -n)
	}

	// Never warm: exit 3, left OUT (drain on the balancer), said clearly.
	if _, e, code := f.run(t, "out", "--rotate", rot); code != 0 {
		t.Fatalf("out: %d %s", code, e)
	}
	f.warm["a"].Store(1 << 40)
	out, e, code = f.run(t, "in", "--rotate", rot, "--warm-up", warm, "--interval", "100ms", "--timeout", "1s")
	if code != 3 || !strings.Contains(e, "not warm") || !strings.Contains(e, "answered 503") || !strings.Contains(e, "left OUT") || !strings.Contains(out+e, "OUT") {
		t.Errorf("never warm: exit %d\n%s\n%s", code, out, e)
	}
	if a := f.adminOf(t, "a"); a != "drain" {
		t.Errorf("never warm: admin %s, want drain (left out)", a)
	}
	// A warm-up URL that is not a URL: exit 2, nothing changed.
	_, e, code = f.run(t, "in", "--rotate", rot, "--warm-up", "127.0.0.1/warm")
	if code != 2 || !strings.Contains(e, "is not an http(s) URL") || f.adminOf(t, "a") != "drain" {
		t.Errorf("bad --warm-up: exit %d %s", code, e)
	}
	_, e, code = f.run(t, "in", "--rotate", rot, "--warm-up", warm, "--warm-up-count", "0")
	if code != 2 || !strings.Contains(e, "warm-up-count") {
		t.Errorf("--warm-up-count 0: exit %d %s", code, e)
	}
}

// status is the server's status column in the real HAProxy's show stat.
func (f *farm) status(t *testing.T, name string) string {
	t.Helper()
	st, err := f.lb.ServerStatus(&testbed.Nginx{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// waitFor polls cond until it holds, 10 s at most.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
