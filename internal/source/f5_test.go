package source

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/drain-cli/drain/internal/f5/f5test"
)

// The f5 source runs against f5test, the stand-in written from F5's
// documented iControl REST API: no BIG-IP runs in CI.
func TestF5Source(t *testing.T) {
	s := f5test.New("admin", "pw-f5-src")
	defer s.Close()
	s.AddPool("/Common/web_pool",
		f5test.Member{Name: "web01:80", Address: "10.0.0.5", Session: "monitor-enabled", State: "up", CurConns: 7},
		f5test.Member{Name: "web02:80", Address: "10.0.0.6", Session: "monitor-enabled", State: "up", CurConns: 1})
	t.Setenv("DRAIN_F5_USER", "admin")
	t.Setenv("DRAIN_F5_PASSWORD", "pw-f5-src")
	open := func(target string) Source { t.Helper(); return openF5(t, s, target) }
	src := open("web01:80")
	ctx := context.Background()
	if v, err := src.Read(ctx); err != nil || v != 7 {
		t.Fatalf("read %v %v, want 7", v, err)
	}
	s.Set("/Common/web_pool", "web01:80", func(m *f5test.Member) { m.CurConns = 0 })
	if v, err := src.Read(ctx); err != nil || v != 0 {
		t.Fatalf("read %v %v, want 0", v, err)
	}
	if _, err := open("web09:80").Read(ctx); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("unknown member: %v", err)
	}
	s.ExpireTokens()
	if v, err := src.Read(ctx); err != nil || v != 0 {
		t.Fatalf("read after token expiry %v %v", v, err)
	}
	t.Setenv("DRAIN_F5_PASSWORD", "wrong")
	if _, err := open("web01:80").Read(ctx); err == nil || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("refused credentials: %v", err)
	}
	s.Close()
	if v, err := src.Read(ctx); err == nil {
		t.Fatalf("read from a closed BIG-IP gave %v, want unknown", v)
	}
	t.Setenv("DRAIN_F5_USER", "")
	t.Setenv("DRAIN_F5_PASSWORD", "")
	spec, _ := ParseSpec("f5:https://bigip#/Common/web_pool/web01:80")
	if _, err := New(spec, Options{}); !errors.Is(err, ErrSpec) || !strings.Contains(err.Error(), "DRAIN_F5_USER") {
		t.Fatalf("no credentials: %v", err)
	}
}

// The f5 source's total is the member's serverside.totConns + totRequests
// (F5's documented stats entries, served by the stand-in): the BIG-IP's
// arrivals counter; #total=off reads none.
func TestF5SourceArrivals(t *testing.T) {
	s := f5test.New("admin", "pw-f5-tot")
	defer s.Close()
	s.AddPool("/Common/web_pool",
		f5test.Member{Name: "web01:80", Address: "10.0.0.5", Session: "user-disabled", State: "up", CurConns: 2, TotConns: 40, TotRequests: 100})
	t.Setenv("DRAIN_F5_USER", "admin")
	t.Setenv("DRAIN_F5_PASSWORD", "pw-f5-tot")
	open := func(target string) Source { t.Helper(); return openF5(t, s, target) }
	ctx := context.Background()
	src := open("web01:80")
	total := func() float64 {
		t.Helper()
		if v, err := src.Read(ctx); err != nil || v != 2 {
			t.Fatalf("read %v %v, want 2", v, err)
		}
		v, ok := src.(Totaler).Total()
		if !ok {
			t.Fatal("no total")
		}
		return v
	}
	if v := total(); v != 140 {
		t.Errorf("total %v, want 140 (totConns 40 + totRequests 100)", v)
	}
	s.Set("/Common/web_pool", "web01:80", func(m *f5test.Member) { m.TotRequests++ })
	if v := total(); v != 141 {
		t.Errorf("total %v after one more request, want 141", v)
	}
	off := open("web01:80#total=off")
	if _, err := off.Read(ctx); err != nil {
		t.Fatal(err)
	}
	if v, ok := off.(Totaler).Total(); ok {
		t.Errorf("#total=off: total %v", v)
	}
	spec, _ := ParseSpec("f5:" + s.URL + "#/Common/web_pool/web01:80#total=stot")
	if _, err := New(spec, Options{Client: s.Client()}); err == nil || !strings.Contains(err.Error(), "arrivals") {
		t.Errorf("#total=stot: %v", err)
	}
}

// openF5 is the f5 source of a member of the stand-in's /Common/web_pool.
func openF5(t *testing.T, s *f5test.Server, member string) Source {
	t.Helper()
	spec, err := ParseSpec("f5:" + s.URL + "#/Common/web_pool/" + member)
	if err != nil {
		t.Fatal(err)
	}
	src, err := New(spec, Options{Client: s.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return src
}
