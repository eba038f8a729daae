package etcdlock

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/clock/clocktest"
	"github.com/drain-cli/drain/internal/testbed"
)

// startEtcd starts a real etcd (Debian's etcd-server) for one test.
func startEtcd(t *testing.T) *testbed.Etcd {
	t.Helper()
	if _, err := testbed.Find("etcd"); err != nil {
		if os.Getenv("DRAIN_E2E") == "require" {
			t.Fatal("etcd not found and DRAIN_E2E=require: apt-get install etcd-server")
		}
		t.Skip("etcd not installed; scripts/test.sh installs it (etcd-server) and sets DRAIN_E2E=require")
	}
	e, err := testbed.StartEtcd(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Kill)
	return e
}

func TestParseEndpoints(t *testing.T) {
	got, err := ParseEndpoints([]string{"http://a:2379,b:2379", " https://c:2379/ "})
	if err != nil || strings.Join(got, " ") != "http://a:2379 http://b:2379 https://c:2379" {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{"", "ftp://a:1", "http://", "http://u:p@a:2379"} {
		if _, err := ParseEndpoints([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := ParseEndpoints([]string{"http://u:secret@a:2379"}); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("password shown or accepted: %v", err)
	}
}

// Two holders on one key: the second waits, is told who holds it, and gets
// it only once the first lets go; the key is gone after both. The waits
// run on a fake clock; etcd's leases (30 s, real time) outlive the test.
func TestLockExcludesAndWaits(t *testing.T) {
	e := startEtcd(t)
	clk := clocktest.New(time.Now())
	c := &Client{Endpoints: []string{e.URL}, Clock: clk}
	const ttl = 30 * time.Second
	ctx := context.Background()
	key := LockKey("haproxy:unix:/run/a.sock#web")
	if !strings.HasPrefix(key, "/drain/pools/") || strings.Count(key, "/") != 4 {
		t.Fatalf("key %q: the pool must be one path segment", key)
	}
	a, err := c.Acquire(ctx, key, "A", ttl, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Lost(); err != nil {
		t.Fatalf("fresh lock lost: %v", err)
	}
	var inside atomic.Int32
	var seen []string
	var mu sync.Mutex
	got := make(chan *Lock)
	go func() {
		b, err := c.Acquire(ctx, key, "B", ttl, func(h string) { mu.Lock(); seen = append(seen, h); mu.Unlock() })
		if err != nil {
			t.Error(err)
		}
		inside.Add(1)
		got <- b
	}()
	// B tries again after 100, 200, 400, 800 ms while A holds the key
	// (three timers wait then: both keep-alives and B's retry).
	for _, d := range []time.Duration{100, 200, 400, 800} {
		clk.WaitForWaiters(t, 3)
		if inside.Load() != 0 {
			t.Fatal("B got the lock while A held it")
		}
		clk.Advance(d * time.Millisecond)
	}
	clk.WaitForWaiters(t, 3)
	if inside.Load() != 0 {
		t.Fatal("B got the lock while A held it")
	}
	a.Release()
	clk.Advance(time.Second)
	var b *Lock
	select {
	case b = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("B never got the lock after A released it")
	}
	mu.Lock()
	if len(seen) == 0 || seen[0] != "A" {
		t.Errorf("B was told %q, want A first", seen)
	}
	mu.Unlock()
	if v, ok, err := c.Get(ctx, key); err != nil || !ok || v != "B" {
		t.Errorf("key holds %q %v %v, want B", v, ok, err)
	}
	b.Release()
	if _, ok, err := c.Get(ctx, key); err != nil || ok {
		t.Errorf("key still there after release: %v %v", ok, err)
	}
}

// The lease is renewed past its TTL while held; a holder that dies (its
// keep-alive stops, no release) frees the lock when the lease expires.
func TestLeaseRenewedAndExpires(t *testing.T) {
	e := startEtcd(t)
	c := &Client{Endpoints: []string{e.URL}}
	ctx := context.Background()
	key := LockKey("p")
	a, err := c.Acquire(ctx, key, "A", 2*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second) // more than twice the TTL
	if err := a.Lost(); err != nil {
		t.Fatalf("lock lost although renewed: %v", err)
	}
	// Die: stop renewing without releasing.
	a.cancel()
	<-a.done
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, ok, err := c.Get(ctx, key); err == nil && !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the key outlived its lease")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := a.Lost(); err == nil {
		t.Fatal("Lost says held after the lease expired")
	}
	b, err := c.Acquire(ctx, key, "B", 2*time.Second, nil)
	if err != nil {
		t.Fatalf("the lock of a dead holder was not freed: %v", err)
	}
	b.Release()
}

// An etcd that is not there is an error at once, naming it, with a hint.
func TestUnreachable(t *testing.T) {
	addr, err := testbed.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{Endpoints: []string{"http://" + addr}, Timeout: 2 * time.Second}
	start := time.Now()
	_, err = c.Acquire(context.Background(), LockKey("p"), "A", 0, nil)
	var ue *UnreachableError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), addr) || !strings.Contains(ue.Hint(), "nothing was changed") {
		t.Fatalf("err %v", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("took %s to say so", time.Since(start))
	}
}

// etcd killed while the lock is held: Lost says so (it cannot be confirmed),
// and after a whole TTL without renewal the keep-alive marks it lost too
// (the TTL passes on a fake clock, one renewal every third of it).
func TestLostWhenEtcdDies(t *testing.T) {
	e := startEtcd(t)
	clk := clocktest.New(time.Now())
	c := &Client{Endpoints: []string{e.URL}, Timeout: time.Second, Clock: clk}
	a, err := c.Acquire(context.Background(), LockKey("p"), "A", 2*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	e.Kill()
	if err := a.Lost(); err == nil || !strings.Contains(err.Error(), "cannot confirm") {
		t.Fatalf("Lost with etcd gone: %v", err)
	}
	lost := func() error { a.mu.Lock(); defer a.mu.Unlock(); return a.lost }
	for i := 0; lost() == nil; i++ {
		if i == 5 {
			t.Fatal("keep-alive never marked the lock lost after its TTL")
		}
		clk.WaitForWaiters(t, 1) // the keep-alive waits for its next renewal
		clk.Advance(a.TTL() / 3)
		deadline := time.Now().Add(15 * time.Second)
		for clk.Waiters() == 0 && lost() == nil && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond) // the renewal, refused by the dead etcd
		}
	}
	if !errors.Is(lost(), ErrLeaseExpired) {
		t.Errorf("lost: %v", lost())
	}
}

func TestRecordPutListDelete(t *testing.T) {
	e := startEtcd(t)
	c := &Client{Endpoints: []string{e.URL}}
	ctx := context.Background()
	k := OutKey("haproxy:unix:/s#web", "app/1")
	if err := c.Put(ctx, k, `{"by":"me"}`); err != nil {
		t.Fatal(err)
	}
	m, err := c.List(ctx, PoolKey("haproxy:unix:/s#web")+"/out/")
	if err != nil || m[k] != `{"by":"me"}` || len(m) != 1 {
		t.Fatalf("%v %v", m, err)
	}
	if err := c.Delete(ctx, k); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.Get(ctx, k); ok {
		t.Fatal("deleted key still there")
	}
}

// silentEndpoint takes connections and never answers (a paused member, a
// host that drops packets after the handshake).
func silentEndpoint(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
	})
	return "http://" + ln.Addr().String()
}

// A first endpoint that never answers: every call still ends within the
// client's one timeout through the live one, which is asked first from
// then on; the lock is taken, held past its TTL and confirmed.
func TestDeadFirstEndpoint(t *testing.T) {
	e := startEtcd(t)
	c := &Client{Endpoints: []string{silentEndpoint(t), e.URL}, Timeout: 5 * time.Second}
	start := time.Now()
	l, err := c.Acquire(context.Background(), LockKey("p"), "A", 2*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("Acquire took %s", took)
	}
	start = time.Now()
	if _, _, err := c.Get(context.Background(), "/x"); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("a read after the live endpoint answered took %s: it asked the dead one first", took)
	}
	time.Sleep(5 * time.Second) // more than twice the TTL
	if err := l.Lost(); err != nil {
		t.Fatalf("lock lost with a live endpoint: %v", err)
	}
	if l.Remaining() <= 0 {
		t.Fatalf("remaining %s", l.Remaining())
	}
}

// Every endpoint silent: one error naming each, after one timeout (not
// one per endpoint).
func TestAllEndpointsSilent(t *testing.T) {
	a, b := silentEndpoint(t), silentEndpoint(t)
	c := &Client{Endpoints: []string{a, b}, Timeout: 2 * time.Second}
	start := time.Now()
	_, _, err := c.Get(context.Background(), "/x")
	var ue *UnreachableError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), a) || !strings.Contains(err.Error(), b) {
		t.Fatalf("err %v", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %s, want about the one 2s timeout", took)
	}
}

// A waiter behind a holder that stopped renewing (paused, stuck) keeps its
// own lease alive while waiting, gets the lock when the holder's lease
// expires, and holds it with a fresh TTL.
func TestWaiterOutlivesItsLease(t *testing.T) {
	e := startEtcd(t)
	c := &Client{Endpoints: []string{e.URL}, Timeout: 2 * time.Second}
	ctx := context.Background()
	key := LockKey("p")
	var g struct{ ID string }
	if err := c.call(ctx, "/v3/lease/grant", map[string]any{"TTL": 6}, &g); err != nil {
		t.Fatal(err)
	}
	if err := c.call(ctx, "/v3/kv/put", map[string]any{"key": b64(key), "value": b64("stuck"), "lease": g.ID}, nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	l, err := c.Acquire(ctx, key, "B", 2*time.Second, nil)
	if err != nil {
		t.Fatalf("after %s: %v", time.Since(start), err)
	}
	defer l.Release()
	if took := time.Since(start); took < 3*time.Second {
		t.Fatalf("got the lock after %s, while the stuck holder's lease lived", took)
	}
	if err := l.Lost(); err != nil {
		t.Fatal(err)
	}
	if left := l.Remaining(); left < time.Second {
		t.Errorf("lock acquired with %s of its lease left", left)
	}
}

// A lease etcd no longer has is called that, not a wrong URL.
func TestExpiredLeaseNamed(t *testing.T) {
	e := startEtcd(t)
	c := &Client{Endpoints: []string{e.URL}, Timeout: 2 * time.Second}
	l, err := c.Acquire(context.Background(), LockKey("p"), "A", 10*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	id, _ := strconv.ParseInt(l.leaseID(), 10, 64)
	if err := c.call(context.Background(), "/v3/lease/revoke", map[string]any{"ID": id}, nil); err != nil {
		t.Fatal(err)
	}
	err = l.Lost()
	if !errors.Is(err, ErrLeaseExpired) || strings.Contains(err.Error(), "URL") {
		t.Fatalf("Lost: %v", err)
	}
	_, _, err = l.try(context.Background())
	if !errors.Is(err, ErrLeaseExpired) {
		t.Fatalf("a put with the revoked lease: %v", err)
	}
}
