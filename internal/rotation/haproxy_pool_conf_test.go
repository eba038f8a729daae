//go:build !windows

// These tests start a real HAProxy (Debian's), which has no Windows build,
// with a configuration written for what each is about: weights, track.

package rotation

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/testbed"
)

// confLB starts a real HAProxy with backends (the text of its backend
// sections; %s in it is replaced by the address of a web server that
// answers 200) and waits until every server of backend web reads UP or
// DRAIN.
func confLB(t *testing.T, backends string) *testbed.HAProxy {
	t.Helper()
	if _, err := testbed.Find("haproxy"); err != nil {
		if os.Getenv("DRAIN_E2E") == "require" {
			t.Fatal("haproxy not found and DRAIN_E2E=require")
		}
		t.Skip("haproxy not installed; scripts/test.sh installs it")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(srv.Close)
	lb, err := testbed.StartHAProxyConf(t.TempDir(), strings.ReplaceAll(backends, "%s", strings.TrimPrefix(srv.URL, "http://")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lb.Kill)
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := lb.Cmd("show stat")
		if err != nil {
			t.Fatal(err)
		}
		waiting := false
		for _, l := range strings.Split(out, "\n") {
			f := strings.Split(l, ",")
			if len(f) > 17 && !strings.HasPrefix(l, "#") && f[1] != "BACKEND" && f[1] != "FRONTEND" && !strings.HasPrefix(f[17], "UP") && !strings.HasPrefix(f[17], "DRAIN") && !strings.HasPrefix(f[17], "no check") {
				waiting = true
			}
		}
		if !waiting {
			return lb
		}
		if time.Now().After(deadline) {
			t.Fatalf("servers not UP: %s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A server with an effective weight of 0 gets no new traffic: it is UP and
// admin-enabled, and not in rotation, with why. Set at run time (set server
// weight 0, what a soft drain does), in the configuration, or by an agent
// check answering 0%.
func TestHAProxyPoolWeightZero(t *testing.T) {
	agent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = agent.Close() })
	go func() {
		for {
			c, err := agent.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("0%\n"))
			_ = c.Close()
		}
	}()
	_, agentPort, _ := net.SplitHostPort(agent.Addr().String())
	lb := confLB(t, `backend web
  option httpchk GET /
  default-server inter 100ms fall 1 rise 1
  server a %s check
  server b %s check
  server c %s check weight 0
  server d %s check agent-check agent-addr 127.0.0.1 agent-port `+agentPort+` agent-inter 100ms
`)
	if out, err := lb.Cmd("set server web/b weight 0"); err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("set weight: %q %v", out, err)
	}
	pv, err := NewPool("haproxy:"+lb.Sock+"#web", Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	p := waitPool(t, pv, func(p Pool) bool { return !member(p, "d").InRotation })
	for name, in := range map[string]bool{"a": true, "b": false, "c": false, "d": false} {
		m := member(p, name)
		if m.InRotation != in || m.Admin != AdminEnabled || m.Health != HealthUp {
			t.Errorf("%s: %+v, want in rotation %v (enabled, up)", name, m, in)
		}
		if !in && !strings.Contains(m.Why, "weight 0") {
			t.Errorf("%s: why %q, want it to name the weight", name, m.Why)
		}
	}
	// Its weight back: in rotation again.
	if _, err := lb.Cmd("set server web/b weight 100%"); err != nil {
		t.Fatal(err)
	}
	if p, err = pv.Pool(context.Background()); err != nil || !member(p, "b").InRotation || member(p, "b").Why != "" {
		t.Errorf("weight back: %+v %v", member(p, "b"), err)
	}
}

// A server that tracks another (track web/s2) leaves rotation with it: the
// pool says which servers each one leaves with, following chains of
// trackers and chains through another backend.
func TestHAProxyPoolTrack(t *testing.T) {
	lb := confLB(t, `backend web
  option httpchk GET /
  default-server inter 100ms fall 1 rise 1
  server s1 %s check
  server s2 %s check
  server s3 %s track web/s2
  server s4 %s track web/s3
  server s5 %s track other/o1

backend other
  server o1 %s track web/s2
`)
	m, err := NewMethod("haproxy:"+lb.Sock+"#web/s2", Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.(Pooler).Pool(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"s1": nil, "s2": nil, "s3": {"s2"}, "s4": {"s2", "s3"}, "s5": {"s2"}}
	for name, with := range want {
		got := member(p, name)
		if !got.InRotation {
			t.Errorf("%s not in rotation: %+v", name, got)
		}
		l := slices.Clone(got.LeavesWith)
		slices.Sort(l)
		if fmt.Sprint(l) != fmt.Sprint(with) {
			t.Errorf("%s leaves with %v, want %v", name, got.LeavesWith, with)
		}
	}
	if d := member(p, "s4").Detail; !strings.Contains(d, "tracks web/s3") {
		t.Errorf("s4's detail %q does not say what it tracks", d)
	}

	// HAProxy itself takes the trackers out with the server they track.
	if _, err := m.Out(context.Background(), func(any) error { return nil }); err != nil {
		t.Fatal(err)
	}
	p = waitPool(t, m.(Pooler), func(p Pool) bool { return !member(p, "s2").InRotation })
	for _, name := range []string{"s3", "s4", "s5"} {
		if member(p, name).InRotation {
			t.Errorf("%s still in rotation with s2 out: %+v", name, member(p, name))
		}
	}
	if !member(p, "s1").InRotation {
		t.Errorf("s1 left rotation: %+v", member(p, "s1"))
	}
}

// Two instances in front of the same servers: a weight of 0 on one of them
// keeps the server out of rotation (it says where), and the servers a
// tracker leaves with are named once.
func TestHAProxyPoolTwoInstancesWeightAndTrack(t *testing.T) {
	conf := `backend web
  option httpchk GET /
  default-server inter 100ms fall 1 rise 1
  server s1 %s check
  server s2 %s check
  server s3 %s track web/s2
`
	lb1, lb2 := confLB(t, conf), confLB(t, conf)
	if _, err := lb2.Cmd("set server web/s1 weight 0"); err != nil {
		t.Fatal(err)
	}
	h := newHA(t, lb1.Sock+"#web/s2", lb2.Sock+"#web/s2")
	p, err := h.Pool(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s1 := member(p, "s1"); s1.InRotation || !strings.Contains(s1.Why, "weight 0") || !strings.Contains(s1.Why, lb2.Sock) {
		t.Errorf("s1 at weight 0 on the second instance: %+v", s1)
	}
	if s3 := member(p, "s3"); !s3.InRotation || fmt.Sprint(s3.LeavesWith) != "[s2]" {
		t.Errorf("s3: %+v, want in rotation, leaving with [s2] once", s3)
	}
	if !member(p, "s2").InRotation || !member(p, "s2").Self {
		t.Errorf("s2: %+v", member(p, "s2"))
	}
}
