//go:build !windows

// These tests start a real HAProxy (Debian's), which has no Windows build.

package rotation

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/testbed"
)

// poolLB starts a real HAProxy whose backend "web" has one server per name,
// each an httptest server whose keep-alive page answers 200 while its flag
// is true (503 otherwise): a health check that fails and passes on demand.
func poolLB(t *testing.T, names ...string) (*testbed.HAProxy, map[string]*atomic.Bool) {
	t.Helper()
	if _, err := testbed.Find("haproxy"); err != nil {
		if os.Getenv("DRAIN_E2E") == "require" {
			t.Fatal("haproxy not found and DRAIN_E2E=require")
		}
		t.Skip("haproxy not installed; scripts/test.sh installs it")
	}
	healthy := map[string]*atomic.Bool{}
	var backends []*testbed.Nginx
	for _, n := range names {
		ok := &atomic.Bool{}
		ok.Store(true)
		healthy[n] = ok
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if !ok.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		}))
		t.Cleanup(srv.Close)
		backends = append(backends, &testbed.Nginx{Name: n, Addr: strings.TrimPrefix(srv.URL, "http://")})
	}
	lb, err := testbed.StartHAProxyCheck(t.TempDir(), testbed.Check{Inter: 100 * time.Millisecond, Fall: 1, Rise: 1}, backends...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lb.Kill)
	return lb, healthy
}

// waitPool reads the pool until cond holds (10 s at most).
func waitPool(t *testing.T, v Pooler, cond func(Pool) bool) Pool {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p, err := v.Pool(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if cond(p) {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("pool never reached the state wanted: %+v", p)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestHAProxyPoolEveryState(t *testing.T) {
	lb, healthy := poolLB(t, "ready", "drained", "maint", "down")
	for cmd, want := range map[string]string{"set server web/drained state drain": "", "set server web/maint state maint": ""} {
		if out, err := lb.Cmd(cmd); err != nil || strings.TrimSpace(out) != want {
			t.Fatalf("%s: %q %v", cmd, out, err)
		}
	}
	healthy["down"].Store(false)
	pv, err := NewPool("haproxy:"+lb.Sock+"#web", Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	p := waitPool(t, pv, func(p Pool) bool { return member(p, "down").Health == HealthDown })
	if p.Name != "web" || len(p.Members) != 4 {
		t.Fatalf("pool %+v", p)
	}
	for _, want := range []Member{
		{Name: "ready", Admin: AdminEnabled, Health: HealthUp, InRotation: true},
		{Name: "drained", Admin: AdminDrain, Health: HealthUp},
		{Name: "maint", Admin: AdminDisabled},
		{Name: "down", Admin: AdminEnabled, Health: HealthDown},
	} {
		got := member(p, want.Name)
		if got.Admin != want.Admin || got.InRotation != want.InRotation || want.Health != "" && got.Health != want.Health {
			t.Errorf("%s: %+v, want admin %s health %s in %v", want.Name, got, want.Admin, want.Health, want.InRotation)
		}
		if got.Sessions == nil || got.Queue == nil || got.Addr == "" || got.Detail == "" || got.Self {
			t.Errorf("%s: sessions, queue, addr or detail missing, or marked self: %+v", want.Name, got)
		}
	}
	if k := pv.MemberKey(member(p, "ready")); k != "haproxy:unix:"+lb.Sock+"#web/ready" {
		t.Errorf("member key %q", k)
	}

	// The check passes again: the server is back up, in rotation.
	healthy["down"].Store(true)
	waitPool(t, pv, func(p Pool) bool { m := member(p, "down"); return m.Health == HealthUp && m.InRotation })

	// The method's own Pool marks its server.
	m, err := NewMethod("haproxy:"+lb.Sock+"#web/drained", Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	mp, err := m.(Pooler).Pool(context.Background())
	if err != nil || !member(mp, "drained").Self || member(mp, "ready").Self {
		t.Errorf("method pool %+v %v", mp, err)
	}
}

func TestHAProxyPoolReadErrors(t *testing.T) {
	lb, _ := poolLB(t, "a")
	for spec, want := range map[string]string{
		"haproxy:" + lb.Sock:               "want haproxy:ADDR#BACKEND",
		"haproxy:" + lb.Sock + "#":         "want a BACKEND",
		"haproxy:lb#web":                   "want a socket path",
		"keepalive:/var/www/keepalive.htm": "keepalive has no pool view",
		"nosuch:x#y":                       "--pool \"nosuch:x#y\": unknown type",
	} {
		if _, err := NewPool(spec, Options{}); err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", spec, err, want)
		}
	}
	for spec, want := range map[string]string{
		"haproxy:" + lb.Sock + "#nosuch":       `no backend "nosuch"`,
		"haproxy:" + t.TempDir() + "/none#web": "connect",
	} {
		pv, err := NewPool(spec, Options{Timeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pv.Pool(context.Background()); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", spec, err, want)
		}
	}
}
