package rotation

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/drain-cli/drain/internal/haproxy/haproxytest"
)

func TestHAProxyPool(t *testing.T) {
	lb := haproxytest.New(t, "web/a", "web/b", "web/c", "web/d", "other/x")
	lb.Set("web/b", haproxytest.Server{Admin: 0x08, Scur: 3})
	lb.Set("web/c", haproxytest.Server{Down: true})
	lb.Set("web/d", haproxytest.Server{Admin: 0x01})
	lb.Set("web/a", haproxytest.Server{Scur: 2, Qcur: 1})
	h := newHA(t, lb.Addr+"#web/a")
	p, err := h.Pool(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "web" || len(p.Members) != 4 {
		t.Fatalf("pool %+v", p)
	}
	want := map[string]struct {
		admin, health string
		in, self      bool
	}{
		"a": {AdminEnabled, HealthUp, true, true},
		"b": {AdminDrain, HealthUp, false, false},
		"c": {AdminEnabled, HealthDown, false, false},
		"d": {AdminDisabled, HealthUnknown, false, false},
	}
	for _, m := range p.Members {
		w := want[m.Name]
		if m.Admin != w.admin || m.Health != w.health || m.InRotation != w.in || m.Self != w.self {
			t.Errorf("%s: %+v, want %+v", m.Name, m, w)
		}
	}
	if a := p.Members[0]; a.Sessions == nil || *a.Sessions != 2 || a.Queue == nil || *a.Queue != 1 {
		t.Errorf("a's sessions/queue: %+v", a)
	}
	// The fake listens on a unix socket, or on TCP where there are none
	// (Windows): the pool ID names the address kind.
	id := h.PoolID()
	unixOrTCP := strings.HasPrefix(id, "haproxy:unix:") || strings.HasPrefix(id, "haproxy:tcp:127.0.0.1:")
	if !unixOrTCP || !strings.HasSuffix(id, "#web") {
		t.Errorf("PoolID %q", h.PoolID())
	}
	// The same pool seen through another server's method is the same pool.
	if h2 := newHA(t, lb.Addr+"#web/b"); h2.PoolID() != h.PoolID() {
		t.Errorf("PoolID differs by server: %q %q", h2.PoolID(), h.PoolID())
	}
}

// With two instances a server is in rotation only when it is in on both.
func TestHAProxyPoolTwoInstances(t *testing.T) {
	lb1, lb2 := haproxytest.New(t, "web/a", "web/b", "web/c"), haproxytest.New(t, "web/a", "web/b", "web/c")
	lb2.Set("web/b", haproxytest.Server{Admin: 0x08})
	lb1.Set("web/c", haproxytest.Server{Scur: 1})
	lb2.Set("web/c", haproxytest.Server{Scur: 4})
	h := newHA(t, lb1.Addr+"#web/a", lb2.Addr+"#web/a")
	p, err := h.Pool(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]bool{}
	for _, m := range p.Members {
		in[m.Name] = m.InRotation
		if m.Name == "c" && (m.Sessions == nil || *m.Sessions != 5) {
			t.Errorf("c's sessions not added up: %+v", m)
		}
		if m.Name == "b" && m.Admin != AdminDrain {
			t.Errorf("b: %+v", m)
		}
	}
	if !in["a"] || in["b"] || !in["c"] || len(in) != 3 {
		t.Errorf("in rotation: %v", in)
	}
	if !strings.Contains(h.PoolID(), ",") {
		t.Errorf("PoolID names one instance: %q", h.PoolID())
	}
}

func TestHAProxyPoolErrors(t *testing.T) {
	lb := haproxytest.New(t, "web/a", "api/a")
	h := newHA(t, lb.Addr+"#nope/a")
	if _, err := h.Pool(context.Background()); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "no backend") {
		t.Errorf("unknown backend: %v", err)
	}
	h = newHA(t, lb.Addr+"#web/a", lb.Addr+"#api/a")
	if _, err := h.Pool(context.Background()); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "different backends") {
		t.Errorf("two backends: %v", err)
	}
}
