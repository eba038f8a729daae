// Package etcdlock is a pool lock across machines on etcd v3, spoken
// through etcd's JSON gateway (POST /v3/kv/txn, /v3/lease/grant, ...; keys
// and values base64): a lease-bound key per pool, so a drain that dies frees
// the lock when its lease expires, and a record per server taken out.
//
// The gateway rather than the official client (go.etcd.io/etcd/client/v3):
// the client (v3.6, the oldest the module proxy serves) brings gRPC,
// protobuf and zap, +5,402,624 bytes on the stripped binary (13,848,738 ->
// 19,251,362), is documented for 3.5 servers rather than the 3.4 of Debian,
// and keeps sending to a member that takes connections but does not answer
// until each request's deadline; the gateway is served by every etcd v3.3+
// on the client port and needs net/http only, and call fails over itself.
// drain takes no lock of its own over the network: the atomicity is etcd's
// (a transaction that creates the key only if it does not exist), the
// liveness its leases.
package etcdlock

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drain-cli/drain/internal/clock"
)

// Prefix is where drain keeps its keys: Prefix/pools/<pool>/lock and
// Prefix/pools/<pool>/out/<server>.
const Prefix = "/drain"

// DefaultTTL is the lease of a lock: a drain that dies holding it frees it
// this long after its last renewal.
const DefaultTTL = 10 * time.Second

// Client talks to one etcd cluster through any of its endpoints.
type Client struct {
	Endpoints []string // base URLs, e.g. http://10.0.0.5:2379
	HTTP      *http.Client
	// Timeout bounds one request, over all endpoints (5 s when 0).
	Timeout time.Duration
	// Clock is the time of a lock's waits and of its lease as this process
	// counts it (the retries while another holds the key, the renewals,
	// Remaining): the real clock when nil. A test with a fake one must keep
	// etcd's own lease, which expires in real time, longer than the test.
	Clock clock.Clock

	pref atomic.Int32 // the endpoint that answered last: asked first
}

// ParseEndpoints reads the URL part of --lock etcd:URL[,URL...]: http(s)
// base URLs, a bare host:port taken as http.
func ParseEndpoints(list []string) ([]string, error) {
	var out []string
	for _, l := range list {
		for _, e := range strings.Split(l, ",") {
			e = strings.TrimSpace(e)
			if e == "" {
				continue
			}
			if !strings.Contains(e, "://") {
				e = "http://" + e
			}
			u, err := url.Parse(e)
			if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
				return nil, fmt.Errorf("etcd endpoint %q: want http(s)://HOST:PORT or HOST:PORT, e.g. http://127.0.0.1:2379", e)
			}
			if u.User != nil {
				return nil, fmt.Errorf("etcd endpoint %q: no user in the URL (etcd authentication is not supported yet: use TLS client certificates or a network-restricted etcd)", u.Redacted())
			}
			out = append(out, strings.TrimRight(u.Scheme+"://"+u.Host+u.Path, "/"))
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no etcd endpoint: want etcd:URL, e.g. etcd:http://127.0.0.1:2379")
	}
	return out, nil
}

// UnreachableError says no endpoint answered.
type UnreachableError struct {
	Endpoints []string
	Err       error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("etcd %s unreachable: %v", strings.Join(e.Endpoints, ","), e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// Hint implements drain.Hinter.
func (e *UnreachableError) Hint() string {
	return "nothing was changed; check that etcd runs and the --lock etcd:URL endpoints (its client URLs, e.g. http://HOST:2379), or drop --lock to use only this machine's lock"
}

// ErrLeaseExpired says etcd no longer has a lease drain was given: it
// expired (not renewed within its TTL: the process was paused, or could not
// reach etcd) or was revoked. etcd's JSON gateway answers this with a 404,
// which must not read as a wrong URL.
var ErrLeaseExpired = errors.New("the lock's lease has expired (etcd no longer has it)")

// apiError is an answer of the gateway with an error body.
type apiError struct {
	Status  int
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("etcd answered %d: %s", e.Status, e.Message) }

// endpointError is one endpoint that did not give an answer.
type endpointError struct {
	Endpoint string
	Err      error
}

func (e *endpointError) Error() string { return e.Endpoint + ": " + e.Err.Error() }
func (e *endpointError) Unwrap() error { return e.Err }

func (c *Client) clock() clock.Clock { return clock.Or(c.Clock) }

func (c *Client) timeout() time.Duration {
	if c.Timeout <= 0 {
		return 5 * time.Second
	}
	return c.Timeout
}

// final says an error is etcd's answer, not an endpoint that failed: the
// same question to another member would get the same answer.
func final(err error) bool {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Status < 500 // 503 "no leader", 504 "request timed out": another member may do better
	}
	return errors.Is(err, ErrLeaseExpired)
}

// hedgeAfter is how long a call waits for one endpoint before it asks the
// next one as well: an etcd answers in milliseconds, even loaded it rarely
// takes this long, and a second copy of any request drain sends is harmless.
const hedgeAfter = 250 * time.Millisecond

type answer struct {
	i   int
	b   []byte
	err error
}

// call posts req to path and decodes the answer into resp. The whole call
// has one deadline, the client's Timeout, shared by the endpoints: it
// starts with the endpoint that answered last, goes on to the next one as
// soon as one fails, and also when one has not answered within its share of
// the deadline, hedgeAfter at most (a member that takes connections but
// does not answer: paused, partitioned, or a host that drops packets),
// keeping the first answer.
// Every request drain makes is safe to send twice (reads, puts and deletes
// of one key, a create-if-absent whose second copy finds its own value, a
// lease grant whose extra lease expires unused).
func (c *Client) call(ctx context.Context, path string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	n := len(c.Endpoints)
	if n == 0 {
		return errors.New("no etcd endpoint")
	}
	timeout := c.timeout()
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	first := int(c.pref.Load()) % n
	ch := make(chan answer, n)
	started := 0
	next := func() {
		i := (first + started) % n
		started++
		go func() {
			b, err := c.post(cctx, hc, c.Endpoints[i]+path, body)
			ch <- answer{i, b, err}
		}()
	}
	share := min(timeout/time.Duration(n+1), hedgeAfter)
	next()
	hedge := time.NewTimer(share)
	defer hedge.Stop()
	var errs []string
	pending := 1
	for {
		select {
		case a := <-ch:
			pending--
			if a.err == nil {
				c.pref.Store(int32(a.i))
				if resp == nil {
					return nil
				}
				if err := json.Unmarshal(a.b, resp); err != nil {
					return fmt.Errorf("%s%s: not an etcd answer: %w", c.Endpoints[a.i], path, err)
				}
				return nil
			}
			if final(a.err) {
				c.pref.Store(int32(a.i))
				return a.err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			errs = append(errs, (&endpointError{c.Endpoints[a.i], a.err}).Error())
			if started < n {
				next()
				pending++
				hedge.Reset(share)
			} else if pending == 0 {
				return &UnreachableError{Endpoints: c.Endpoints, Err: errors.New(strings.Join(errs, "; "))}
			}
		case <-hedge.C:
			if started < n {
				next()
				pending++
				hedge.Reset(share)
			}
		case <-cctx.Done():
			if ctx.Err() != nil {
				return ctx.Err()
			}
			for i := range started {
				ep := c.Endpoints[(first+i)%n]
				if !slices.ContainsFunc(errs, func(e string) bool { return strings.HasPrefix(e, ep+": ") }) {
					errs = append(errs, ep+": no answer")
				}
			}
			return &UnreachableError{Endpoints: c.Endpoints, Err: fmt.Errorf("no answer within %s (%s)", timeout, strings.Join(errs, "; "))}
		}
	}
}

// post sends one request to one endpoint and returns the body of a 200.
func (c *Client) post(ctx context.Context, hc *http.Client, u string, body []byte) ([]byte, error) {
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	r.Header.Set("Content-Type", "application/json")
	res, err := hc.Do(r)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, ue.Err
		}
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	if res.StatusCode == http.StatusOK {
		return b, nil
	}
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	isJSON := json.Unmarshal(b, &e) == nil
	msg := e.Message
	if msg == "" {
		msg = e.Error
	}
	if strings.Contains(msg, "lease not found") {
		return nil, ErrLeaseExpired
	}
	if msg == "" {
		if res.StatusCode == http.StatusNotFound && !isJSON {
			return nil, fmt.Errorf("%s: not found (is this etcd's client URL? the v3 JSON gateway answers at /v3/...)", u)
		}
		msg = strings.TrimSpace(string(b))
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
	}
	return nil, &apiError{Status: res.StatusCode, Message: msg}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func unb64(s string) string {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return s
	}
	return string(b)
}

// PoolKey is the key prefix of a pool: Prefix/pools/<pool, path-escaped>.
func PoolKey(pool string) string { return Prefix + "/pools/" + url.PathEscape(pool) }

// LockKey is the pool's lock key.
func LockKey(pool string) string { return PoolKey(pool) + "/lock" }

// OutKey is the record of who took server out of pool.
func OutKey(pool, server string) string { return PoolKey(pool) + "/out/" + url.PathEscape(server) }

type kv struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	Lease string `json:"lease"`
}

type rangeResp struct {
	Kvs []kv `json:"kvs"`
}

// get reads one key: its value and lease ("" when absent).
func (c *Client) get(ctx context.Context, key string) (value, lease string, found bool, err error) {
	var r rangeResp
	if err := c.call(ctx, "/v3/kv/range", map[string]any{"key": b64(key)}, &r); err != nil {
		return "", "", false, err
	}
	if len(r.Kvs) == 0 {
		return "", "", false, nil
	}
	return unb64(r.Kvs[0].Value), r.Kvs[0].Lease, true, nil
}

// Get reads a key's value; found is false when it does not exist.
func (c *Client) Get(ctx context.Context, key string) (string, bool, error) {
	v, _, ok, err := c.get(ctx, key)
	return v, ok, err
}

// List reads every key under prefix (a "directory": prefix ends in /).
func (c *Client) List(ctx context.Context, prefix string) (map[string]string, error) {
	end := []byte(prefix)
	end[len(end)-1]++
	var r rangeResp
	if err := c.call(ctx, "/v3/kv/range", map[string]any{"key": b64(prefix), "range_end": base64.StdEncoding.EncodeToString(end)}, &r); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, k := range r.Kvs {
		out[unb64(k.Key)] = unb64(k.Value)
	}
	return out, nil
}

// Put writes a key with no lease: it outlives this process.
func (c *Client) Put(ctx context.Context, key, value string) error {
	return c.call(ctx, "/v3/kv/put", map[string]any{"key": b64(key), "value": b64(value)}, nil)
}

// Delete removes a key (no error when absent).
func (c *Client) Delete(ctx context.Context, key string) error {
	return c.call(ctx, "/v3/kv/deleterange", map[string]any{"key": b64(key)}, nil)
}

// Lock is a pool lock: a key bound to a lease this process renews from the
// moment etcd grants it (while waiting for the key too), until Release.
type Lock struct {
	c      *Client
	key    string
	token  string // the value we wrote: who holds it
	ttl    time.Duration
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	lease   string
	expires time.Time // etcd keeps the lease at least until then
	lost    error
}

// Acquire takes the lock on key, waiting while another holds it, until ctx
// ends. holder is the value written (who holds it, as JSON); waiting is
// called with the current holder's value each time it changes. An etcd that
// does not answer is an *UnreachableError at once: never a silent skip.
//
// The lease is kept alive while waiting; one that expires anyway (this
// process was paused longer than its TTL) is replaced by a fresh one. Once
// the key is ours the lease is renewed at once, so the lock comes with a
// whole TTL ahead of it, or not at all.
func (c *Client) Acquire(ctx context.Context, key, holder string, ttl time.Duration, waiting func(holder string)) (*Lock, error) {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	secs := max(int64(ttl/time.Second), 2)
	l := &Lock{c: c, key: key, token: holder, ttl: time.Duration(secs) * time.Second}
	if err := l.grant(ctx); err != nil {
		return nil, err
	}
	lastHolder := ""
	delay := 100 * time.Millisecond
	for {
		if l.Remaining() <= 0 || l.lostErr() != nil {
			// Our lease is gone (a pause, or etcd unreachable for a TTL):
			// the next try needs a new one.
			l.stop()
			if err := l.grant(ctx); err != nil {
				return nil, err
			}
		}
		ok, cur, err := l.try(ctx)
		if errors.Is(err, ErrLeaseExpired) {
			l.setLost(ErrLeaseExpired)
			continue
		}
		if err != nil {
			l.Release()
			return nil, err
		}
		if ok {
			// Renew now: the check and the change that follow get a
			// whole TTL, and a lease that lapsed just as the key was
			// written (the key goes with it) is found here.
			err := l.renew(ctx)
			if err == nil {
				return l, nil
			}
			if !errors.Is(err, ErrLeaseExpired) {
				l.Release()
				return nil, err
			}
			l.setLost(err)
			continue
		}
		if cur != lastHolder && waiting != nil {
			waiting(cur)
		}
		lastHolder = cur
		if err := clock.Sleep(ctx, c.Clock, delay); err != nil {
			l.Release()
			return nil, err
		}
		delay = min(delay*2, time.Second)
	}
}

// grant takes a new lease and starts keeping it alive.
func (l *Lock) grant(ctx context.Context) error {
	var g struct {
		ID  string `json:"ID"`
		TTL string `json:"TTL"`
	}
	sent := l.c.clock().Now()
	if err := l.c.call(ctx, "/v3/lease/grant", map[string]any{"TTL": int64(l.ttl / time.Second)}, &g); err != nil {
		return err
	}
	if g.ID == "" || g.ID == "0" {
		return errors.New("etcd granted no lease")
	}
	got, _ := strconv.ParseInt(g.TTL, 10, 64)
	if got <= 0 {
		got = int64(l.ttl / time.Second)
	}
	l.mu.Lock()
	l.lease, l.expires, l.lost = g.ID, sent.Add(time.Duration(got)*time.Second), nil
	l.mu.Unlock()
	kctx, cancel := context.WithCancel(context.Background())
	l.cancel, l.done = cancel, make(chan struct{})
	go l.keepAlive(kctx)
	return nil
}

// stop ends the keep-alive (the lease then expires by itself).
func (l *Lock) stop() {
	if l.cancel != nil {
		l.cancel()
		<-l.done
		l.cancel = nil
	}
}

func (l *Lock) leaseID() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lease
}

// try creates the key if it does not exist; else it reads who holds it. A
// key that already holds our own value under our lease is ours (a request
// the client sent twice).
func (l *Lock) try(ctx context.Context) (bool, string, error) {
	k := b64(l.key)
	lease := l.leaseID()
	req := map[string]any{
		"compare": []any{map[string]any{"key": k, "target": "CREATE", "result": "EQUAL", "create_revision": "0"}},
		"success": []any{map[string]any{"request_put": map[string]any{"key": k, "value": b64(l.token), "lease": lease}}},
		"failure": []any{map[string]any{"request_range": map[string]any{"key": k}}},
	}
	var r struct {
		Succeeded bool `json:"succeeded"`
		Responses []struct {
			Range *rangeResp `json:"response_range"`
		} `json:"responses"`
	}
	if err := l.c.call(ctx, "/v3/kv/txn", req, &r); err != nil {
		return false, "", err
	}
	if r.Succeeded {
		return true, "", nil
	}
	cur := ""
	if len(r.Responses) > 0 && r.Responses[0].Range != nil && len(r.Responses[0].Range.Kvs) > 0 {
		kv := r.Responses[0].Range.Kvs[0]
		cur = unb64(kv.Value)
		if cur == l.token && kv.Lease == lease {
			return true, "", nil
		}
	}
	return false, cur, nil
}

// renew keeps the lease alive once. etcd answering without a TTL means
// the lease is gone: ErrLeaseExpired.
func (l *Lock) renew(ctx context.Context) error {
	var r struct {
		Result struct {
			TTL string `json:"TTL"`
		} `json:"result"`
	}
	lease := l.leaseID()
	sent := l.c.clock().Now()
	if err := l.c.call(ctx, "/v3/lease/keepalive", map[string]any{"ID": lease}, &r); err != nil {
		return err
	}
	ttl, _ := strconv.ParseInt(r.Result.TTL, 10, 64)
	if ttl <= 0 {
		return ErrLeaseExpired
	}
	l.mu.Lock()
	if l.lease == lease {
		l.expires = sent.Add(time.Duration(ttl) * time.Second)
	}
	l.mu.Unlock()
	return nil
}

// keepAlive renews the lease every third of its TTL. The lease is lost
// when etcd says it is gone, or when it was not renewed before the time
// etcd gave it ran out (then etcd has let it expire, or will before any
// answer could arrive): a renewal is never tried for longer than what is
// left of the lease.
func (l *Lock) keepAlive(ctx context.Context) {
	defer close(l.done)
	clk, every := l.c.clock(), l.ttl/3
	next := clk.Now()
	for {
		// Every third of the TTL, as a ticker: a slow renewal does not
		// push the next one back (one overdue goes at once).
		next = next.Add(every)
		if now := clk.Now(); next.Before(now) {
			next = now
		}
		if clock.Sleep(ctx, clk, next.Sub(clk.Now())) != nil {
			return
		}
		left := l.Remaining()
		if left <= 0 {
			l.setLost(fmt.Errorf("%w: not renewed within its %s TTL", ErrLeaseExpired, l.ttl))
			return
		}
		// A bound on the request in real time, as call's Timeout is.
		rctx, cancel := context.WithTimeout(ctx, left)
		err := l.renew(rctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err == nil:
			continue
		case errors.Is(err, ErrLeaseExpired):
			l.setLost(err)
			return
		}
		if l.Remaining() <= 0 {
			l.setLost(fmt.Errorf("%w: it could not be renewed within its %s TTL: %w", ErrLeaseExpired, l.ttl, err))
			return
		}
	}
}

func (l *Lock) setLost(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost == nil {
		l.lost = err
	}
}

func (l *Lock) lostErr() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost
}

// Remaining is how long etcd keeps the lease at least, as of its last
// renewal (counted from when that renewal was sent, so never more than
// etcd's own count): 0 or less once it may have expired.
func (l *Lock) Remaining() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.expires.Sub(l.c.clock().Now())
}

// TTL is the lease's time to live.
func (l *Lock) TTL() time.Duration { return l.ttl }

// Lost says whether the lock is no longer ours: the lease expired (etcd
// says so, or it was not renewed in time: this process was paused, or etcd
// did not answer), or etcd, asked now, does not show our key under our
// lease (nor answers within the client's timeout). nil means etcd
// confirmed it just now.
func (l *Lock) Lost() error {
	if lost := l.lostErr(); lost != nil {
		return lost
	}
	if l.Remaining() <= 0 {
		l.setLost(fmt.Errorf("%w: not renewed within its %s TTL", ErrLeaseExpired, l.ttl))
		return l.lostErr()
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.c.timeout())
	defer cancel()
	v, lease, ok, err := l.c.get(ctx, l.key)
	switch {
	case err != nil:
		return fmt.Errorf("cannot confirm the lock is still held: %w", err)
	case !ok || v != l.token || lease != l.leaseID():
		l.setLost(fmt.Errorf("%w: the lock's key is gone from etcd", ErrLeaseExpired))
		return l.lostErr()
	}
	if l.Remaining() <= 0 { // a pause while etcd was asked
		l.setLost(fmt.Errorf("%w: not renewed within its %s TTL", ErrLeaseExpired, l.ttl))
		return l.lostErr()
	}
	return nil
}

// Release stops renewing and revokes the lease, which deletes the key with
// it (within the client's timeout; if etcd does not answer, the lease
// expires by itself).
func (l *Lock) Release() {
	if l == nil {
		return
	}
	l.stop()
	l.revoke()
}

// revoke ends the lease, which deletes the key with it.
func (l *Lock) revoke() {
	lease := l.leaseID()
	if lease == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.c.timeout())
	defer cancel()
	id, _ := strconv.ParseInt(lease, 10, 64)
	_ = l.c.call(ctx, "/v3/lease/revoke", map[string]any{"ID": id}, nil)
	l.mu.Lock()
	if l.lease == lease {
		l.lease = ""
	}
	l.mu.Unlock()
}

// Key is the lock's key.
func (l *Lock) Key() string { return l.key }
