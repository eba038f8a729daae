package rotation

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/haproxy/haproxytest"
	"github.com/drain-cli/drain/internal/state"
)

func newHA(t *testing.T, specs ...string) *HAProxy {
	t.Helper()
	h, err := NewHAProxy(specs, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestParseLBServer(t *testing.T) {
	for _, tc := range []struct{ in, net, addr, be, srv, err string }{
		{in: "/run/haproxy/admin.sock#web/app1", net: "unix", addr: "/run/haproxy/admin.sock", be: "web", srv: "app1"},
		{in: "unix:/run/a.sock#web/app1", net: "unix", addr: "/run/a.sock", be: "web", srv: "app1"},
		{in: "127.0.0.1:9999#web/app1", net: "tcp", addr: "127.0.0.1:9999", be: "web", srv: "app1"},
		{in: "tcp:lb2:9999#be/s", net: "tcp", addr: "lb2:9999", be: "be", srv: "s"},
		{in: "/run/a.sock", err: "want ADDR#BACKEND/SERVER"},
		{in: "/run/a.sock#web", err: "want BACKEND/SERVER"},
		{in: "/run/a.sock#web/", err: "want BACKEND/SERVER"},
		{in: "lb2#web/a", err: "want a socket path"},
	} {
		s, err := ParseLBServer(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrConfig) {
				t.Errorf("%q: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || s.Addr.Network != tc.net || s.Addr.Address != tc.addr || s.Backend != tc.be || s.Server != tc.srv {
			t.Errorf("%q: %+v, %v", tc.in, s, err)
		}
	}
	if _, err := NewHAProxy([]string{"/a#b/c", "unix:/a#b/c"}, 0); err == nil {
		t.Error("the same server twice was accepted")
	}
}

func TestHAProxyOutInTwoInstances(t *testing.T) {
	lb1, lb2 := haproxytest.New(t, "web/a", "web/b"), haproxytest.New(t, "web/a", "web/b")
	second := "unix:" + lb2.Addr // both spellings of a socket path
	if strings.HasPrefix(lb2.Addr, "tcp:") {
		second = lb2.Addr // Windows: the fakes listen on TCP
	}
	h := newHA(t, lb1.Addr+"#web/a", second+"#web/a")
	ctx := context.Background()
	if st, err := h.Status(ctx); st != In || err != nil {
		t.Fatalf("status %s %v, want IN", st, err)
	}
	saved := 0
	rec := &state.Record{}
	changed, err := one(t, h).Out(ctx, rec, func(r *state.Record) error {
		saved++
		if lb1.Get("web/a").Admin != 0 {
			t.Error("record saved after a change")
		}
		return nil
	})
	if err != nil || !changed || saved != 1 {
		t.Fatalf("out: %v changed=%v saved=%d", err, changed, saved)
	}
	for _, lb := range []*haproxytest.Fake{lb1, lb2} {
		if lb.Get("web/a").Admin != 0x08 || lb.Get("web/b").Admin != 0 {
			t.Errorf("after out: a=%#x b=%#x, want a drained only", lb.Get("web/a").Admin, lb.Get("web/b").Admin)
		}
	}
	if u := haUndoOf(t, rec); rec.Method != MethodHAProxy || len(u.HAProxy) != 2 || !u.HAProxy[1].Changed || u.HAProxy[1].Before != "ready" {
		t.Errorf("record %+v", rec)
	}
	if st, err := h.Status(ctx); st != Out || err != nil {
		t.Errorf("status %s %v, want OUT", st, err)
	}
	if changed, err := one(t, h).Out(ctx, &state.Record{}, func(*state.Record) error { return nil }); changed || err != nil {
		t.Errorf("second out: changed=%v %v", changed, err)
	}
	if changed, err := one(t, h).In(ctx, rec); !changed || err != nil {
		t.Fatalf("in: %v %v", changed, err)
	}
	if lb1.Get("web/a").Admin != 0 || lb2.Get("web/a").Admin != 0 {
		t.Error("in did not set ready everywhere")
	}
	if changed, err := one(t, h).In(ctx, nil); changed || err != nil {
		t.Errorf("second in: changed=%v %v", changed, err)
	}
}

// One instance refuses the change: the other must be rolled back and the
// error must name the failing instance.
func TestHAProxyOutAllOrNothing(t *testing.T) {
	lb1, lb2 := haproxytest.New(t, "web/a"), haproxytest.New(t, "web/a")
	lb2.FailSet = "Permission denied"
	h := newHA(t, lb1.Addr+"#web/a", lb2.Addr+"#web/a")
	changed, err := one(t, h).Out(context.Background(), &state.Record{}, func(*state.Record) error { return nil })
	if err == nil || changed {
		t.Fatal("out succeeded with one instance refusing")
	}
	msg := err.Error()
	if !strings.Contains(msg, lb2.Addr) || !strings.Contains(msg, "Permission denied") || !strings.Contains(msg, "put back to ready on "+lb1.Addr) || strings.Contains(msg, "\n") {
		t.Errorf("error %q does not name the failing instance and the rollback on one line", msg)
	}
	if lb1.Get("web/a").Admin != 0 {
		t.Error("first instance left drained after the second failed")
	}
}

func TestHAProxyMixedAndMissing(t *testing.T) {
	lb1, lb2 := haproxytest.New(t, "web/a"), haproxytest.New(t, "web/a")
	lb2.Set("web/a", haproxytest.Server{Admin: 0x08})
	h := newHA(t, lb1.Addr+"#web/a", lb2.Addr+"#web/a")
	st, err := h.Status(context.Background())
	if st != Unknown || err == nil || !strings.Contains(err.Error(), lb1.Addr+"#web/a ready") || !strings.Contains(err.Error(), lb2.Addr+"#web/a drain") {
		t.Errorf("mixed: %s %v", st, err)
	}
	// Out completes a half-done change.
	if changed, err := one(t, h).Out(context.Background(), &state.Record{}, func(*state.Record) error { return nil }); !changed || err != nil {
		t.Errorf("out from mixed: %v %v", changed, err)
	}
	if lb1.Get("web/a").Admin != 0x08 {
		t.Error("out from mixed did not drain the ready instance")
	}
	lb1.Set("web/a", haproxytest.Server{Admin: 0x01})
	if st, err := h.Status(context.Background()); st != Out || err != nil {
		t.Errorf("maint+drain: %s %v, want OUT", st, err)
	}

	for _, tc := range []struct{ spec, want string }{
		{lb1.Addr + "#web/zz", `no server "zz" in backend "web" (it has: a)`},
		{lb1.Addr + "#nope/a", `no backend "nope"`},
		{absentAddr(t) + "#web/a", ""},
	} {
		_, err := one(t, newHA(t, tc.spec)).Out(context.Background(), &state.Record{}, func(*state.Record) error {
			t.Error("record saved though nothing can change")
			return nil
		})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.spec) {
			t.Errorf("%s: %v, want %q and the instance", tc.spec, err, tc.want)
		}
	}
}

// Set: keep-alive page and HAProxy change together; when HAProxy fails
// the page is put back.
func TestMultiAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	page := filepath.Join(dir, "keepalive.htm")
	if err := os.WriteFile(page, []byte("OK"), 0o644); err != nil {
		t.Fatal(err)
	}
	k, err := NewKeepalive(page, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	lb := haproxytest.New(t, "web/a")
	m, err := NewSet(k, newHA(t, lb.Addr+"#web/a"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rec := &state.Record{}
	var savedEntries int
	changed, err := m.Out(ctx, rec, func(r *state.Record) error { savedEntries = len(r.Entries); return nil })
	if err != nil || !changed {
		t.Fatalf("out: %v %v", changed, err)
	}
	if savedEntries != 2 || len(rec.Entries) != 2 || rec.Entries[0].Key() != Key(k) || rec.Method != MethodRename+"+"+MethodHAProxy {
		t.Errorf("record entries %d / %+v method %q, want one per method, rename+haproxy", savedEntries, rec.Entries, rec.Method)
	}
	if st, err := m.Status(ctx); st != Out || err != nil {
		t.Errorf("status %s %v", st, err)
	}
	if changed, err := m.In(ctx, rec); !changed || err != nil {
		t.Fatalf("in: %v %v", changed, err)
	}
	if st, err := m.Status(ctx); st != In || err != nil {
		t.Errorf("status after in %s %v", st, err)
	}

	lb.FailSet = "Permission denied"
	_, err = m.Out(ctx, &state.Record{}, func(*state.Record) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "Permission denied") || !strings.Contains(err.Error(), "put back "+page) {
		t.Fatalf("out with a failing LB: %v", err)
	}
	if st, _ := k.Status(ctx); st != In {
		t.Error("keep-alive page left out after the LB failed")
	}
	lb.FailSet = ""
	lb.Set("web/a", haproxytest.Server{Admin: 0x08})
	if st, err := m.Status(ctx); st != Unknown || err == nil || !errors.Is(err, ErrMixed) {
		t.Errorf("disagreeing methods: %s %v", st, err)
	}
}

// absentAddr is a runtime API address where nothing listens.
func absentAddr(t *testing.T) string {
	if runtime.GOOS == "windows" {
		return "tcp:127.0.0.1:1"
	}
	return filepath.Join(t.TempDir(), "none.sock")
}

// LB 1 was put in maint by hand before out; LB 2 was ready. in (and the
// restore after a failed run, which is the same call) puts back only LB 2.
func TestHAProxyInPutsBackOnlyWhatDrainChanged(t *testing.T) {
	lb1, lb2 := haproxytest.New(t, "web/a"), haproxytest.New(t, "web/a")
	lb1.Set("web/a", haproxytest.Server{Admin: 0x01}) // maint, by hand
	h := newHA(t, lb1.Addr+"#web/a", lb2.Addr+"#web/a")
	store := state.Store{Dir: t.TempDir()}
	if changed, err := one(t, h).Out(ctx, &state.Record{}, saveIn(store)); !changed || err != nil {
		t.Fatalf("out: %v %v", changed, err)
	}
	rec, err := LoadRecord(store, one(t, h))
	if err != nil || rec == nil {
		t.Fatalf("record: %v %v", rec, err)
	}
	if changed, err := one(t, h).In(ctx, rec); !changed || err != nil {
		t.Fatalf("in: %v %v", changed, err)
	}
	if lb1.Get("web/a").Admin != 0x01 {
		t.Errorf("LB 1 admin %#x after in: someone's maintenance was undone", lb1.Get("web/a").Admin)
	}
	if lb2.Get("web/a").Admin != 0 {
		t.Errorf("LB 2 admin %#x after in, want ready", lb2.Get("web/a").Admin)
	}
	notes := h.Notes()
	if len(notes) != 1 || !strings.Contains(notes[0], lb1.Addr+"#web/a left in maint") || !strings.Contains(notes[0], "already maint before out") {
		t.Errorf("notes %q, want LB 1 named as left in maint, and why", notes)
	}
	// status: one line per instance rather than an error.
	parts, err := h.Parts(ctx)
	if err != nil || len(parts) != 2 || parts[0].State != "maint" || parts[1].State != "ready" || !strings.Contains(parts[0].Target, lb1.Addr) {
		t.Errorf("parts %+v %v", parts, err)
	}
	// Without a record, in means back in rotation everywhere.
	if changed, err := one(t, h).In(ctx, nil); !changed || err != nil || lb1.Get("web/a").Admin != 0 {
		t.Errorf("in without a record: %v %v, LB 1 admin %#x", changed, err, lb1.Get("web/a").Admin)
	}
	if len(h.Notes()) != 0 {
		t.Errorf("notes left from the previous in: %q", h.Notes())
	}
}

// The same load balancers spelled differently are one key (lock and record).
func TestHAProxyKeyIsResolved(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("socket paths and symlinks: Unix")
	}
	key := func(specs ...string) string { return Key(newHA(t, specs...)) }
	if a, b := key("localhost:9999#web/a"), key("127.0.0.1:9999#web/a"); a != b {
		t.Errorf("localhost and 127.0.0.1: %s != %s", a, b)
	}
	if a, b := key("127.0.0.1:9999#web/a", "127.0.0.2:9999#web/a"), key("127.0.0.2:9999#web/a", "127.0.0.1:9999#web/a"); a != b {
		t.Errorf("order of instances matters: %s != %s", a, b)
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "admin.sock")
	if err := os.WriteFile(sock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dir, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if a, b := key(sock+"#web/a"), key("unix:"+filepath.Join(dir, "link", "admin.sock")+"#web/a"); a != b {
		t.Errorf("socket via a symlink: %s != %s", a, b)
	}
	if a, b := key("127.0.0.1:9999#web/a"), key("127.0.0.1:9999#web/b"); a == b {
		t.Errorf("two servers share a key: %s", a)
	}
	h := newHA(t, "localhost:9999#web/a")
	if prefix, _, typed := h.v1Key(); prefix+typed != "haproxy:localhost:9999#web/a" {
		t.Errorf("legacy key %s, want the value as typed", prefix+typed)
	}
}

func haUndoOf(t *testing.T, r *state.Record) haUndo {
	t.Helper()
	var u haUndo
	if len(r.Entries) != 1 || json.Unmarshal(r.Entries[0].Undo, &u) != nil {
		t.Fatalf("record %+v: want one entry of HAProxy undo data", r)
	}
	return u
}

// A method already out by hand when another is changed is recorded as
// unchanged, and in leaves it as it was: drain puts back only what it
// changed, whatever the method.
func TestSetLeavesWhatWasAlreadyOut(t *testing.T) {
	p := page(t, "OK")
	if err := os.Rename(p, p+".disabled"); err != nil { // out by hand
		t.Fatal(err)
	}
	k, err := NewKeepalive(p, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	lb := haproxytest.New(t, "web/a")
	s, err := NewSet(k, newHA(t, lb.Addr+"#web/a"))
	if err != nil {
		t.Fatal(err)
	}
	store := state.Store{Dir: t.TempDir()}
	if changed, err := s.Out(ctx, &state.Record{}, saveIn(store)); !changed || err != nil {
		t.Fatalf("out: %v %v", changed, err)
	}
	rec, err := LoadRecord(store, s)
	if err != nil || rec == nil || len(rec.Entries) != 2 {
		t.Fatalf("record %+v %v, want an entry per method", rec, err)
	}
	for _, e := range rec.Entries {
		if want := e.Type == MethodHAProxy; e.Changed != want {
			t.Errorf("entry %s changed=%v, want %v", e.Key(), e.Changed, want)
		}
	}
	if changed, err := s.In(ctx, rec); !changed || err != nil {
		t.Fatalf("in: %v %v", changed, err)
	}
	if lb.Get("web/a").Admin != 0 {
		t.Error("HAProxy not put back")
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("the page renamed by hand was put back: %v", err)
	}
	if n := s.Notes(); len(n) != 1 || !strings.Contains(n[0], k.Target()) || !strings.Contains(n[0], "already out before out") {
		t.Errorf("notes %q, want the page named as left out", n)
	}
}
