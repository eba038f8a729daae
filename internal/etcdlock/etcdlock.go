// Package etcdlock is a pool lock across machines on etcd v3, spoken
// through etcd's JSON gateway (POST /v3/kv/txn, /v3/lease/grant, ...; keys
// and values base64): a lease-bound key per pool, so a drain that dies frees
// the lock when its lease expires, and a record per server taken out.
//
// The gateway rather than the official client (go.etcd.io/etcd/client/v3):
// the client brings gRPC, protobuf and zap, +4,558,848 bytes on the stripped
// binary (12,452,002 -> 17,010,850), over the 15 MiB budget on its own; the
// gateway is served by every etcd v3.3+ on the client port and needs
// net/http only. drain takes no lock of its own over the network: the
// atomicity is etcd's (a transaction that creates the key only if it does
// not exist), the liveness its leases.
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
	"strconv"
	"strings"
	"sync"
	"time"
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
	// Timeout bounds one request (5 s when 0).
	Timeout time.Duration
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

// apiError is an answer of the gateway with an error body.
type apiError struct {
	Status  int
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("etcd answered %d: %s", e.Status, e.Message) }

// call posts req to path on the first endpoint that answers.
func (c *Client) call(ctx context.Context, path string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	var last error
	for _, ep := range c.Endpoints {
		rctx, cancel := context.WithTimeout(ctx, timeout)
		err := c.post(rctx, hc, ep+path, body, resp)
		cancel()
		if err == nil {
			return nil
		}
		var ae *apiError
		if errors.As(err, &ae) || ctx.Err() != nil {
			return err
		}
		last = err
	}
	return &UnreachableError{Endpoints: c.Endpoints, Err: last}
}

func (c *Client) post(ctx context.Context, hc *http.Client, u string, body []byte, resp any) error {
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	r.Header.Set("Content-Type", "application/json")
	res, err := hc.Do(r)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return ue.Err
		}
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		var e struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(b, &e)
		msg := e.Message
		if msg == "" {
			msg = e.Error
		}
		if msg == "" {
			msg = strings.TrimSpace(string(b))
			if len(msg) > 200 {
				msg = msg[:200] + "…"
			}
		}
		if res.StatusCode == http.StatusNotFound {
			return fmt.Errorf("%s: not found (is this etcd's client URL? the v3 JSON gateway answers at /v3/...)", u)
		}
		return &apiError{Status: res.StatusCode, Message: msg}
	}
	if resp == nil {
		return nil
	}
	if err := json.Unmarshal(b, resp); err != nil {
		return fmt.Errorf("%s: not an etcd answer: %w", u, err)
	}
	return nil
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

// Lock is a held pool lock: a key bound to a lease this process renews.
type Lock struct {
	c      *Client
	key    string
	token  string // the value we wrote: who holds it
	lease  string
	ttl    time.Duration
	cancel context.CancelFunc
	done   chan struct{}

	mu   sync.Mutex
	lost error
}

// Acquire takes the lock on key, waiting while another holds it, until ctx
// ends. holder is the value written (who holds it, as JSON); waiting is
// called with the current holder's value each time it changes. An etcd that
// does not answer is an *UnreachableError at once: never a silent skip.
func (c *Client) Acquire(ctx context.Context, key, holder string, ttl time.Duration, waiting func(holder string)) (*Lock, error) {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	secs := max(int64(ttl/time.Second), 2)
	var g struct {
		ID  string `json:"ID"`
		TTL string `json:"TTL"`
	}
	if err := c.call(ctx, "/v3/lease/grant", map[string]any{"TTL": secs}, &g); err != nil {
		return nil, err
	}
	if g.ID == "" || g.ID == "0" {
		return nil, errors.New("etcd granted no lease")
	}
	l := &Lock{c: c, key: key, token: holder, lease: g.ID, ttl: time.Duration(secs) * time.Second}
	lastHolder := ""
	delay := 100 * time.Millisecond
	for {
		ok, cur, err := l.try(ctx)
		if err != nil {
			l.revoke()
			return nil, err
		}
		if ok {
			break
		}
		if cur != lastHolder && waiting != nil {
			waiting(cur)
		}
		lastHolder = cur
		select {
		case <-ctx.Done():
			l.revoke()
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, time.Second)
	}
	kctx, cancel := context.WithCancel(context.Background())
	l.cancel, l.done = cancel, make(chan struct{})
	go l.keepAlive(kctx)
	return l, nil
}

// try creates the key if it does not exist; else it reads who holds it.
func (l *Lock) try(ctx context.Context) (bool, string, error) {
	k := b64(l.key)
	req := map[string]any{
		"compare": []any{map[string]any{"key": k, "target": "CREATE", "result": "EQUAL", "create_revision": "0"}},
		"success": []any{map[string]any{"request_put": map[string]any{"key": k, "value": b64(l.token), "lease": l.lease}}},
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
		cur = unb64(r.Responses[0].Range.Kvs[0].Value)
	}
	return false, cur, nil
}

// keepAlive renews the lease every third of its TTL. The lock is lost when
// etcd says the lease is gone, or when no renewal succeeded for a whole
// TTL (then etcd may have let it expire).
func (l *Lock) keepAlive(ctx context.Context) {
	defer close(l.done)
	lastOK := time.Now()
	tick := time.NewTicker(l.ttl / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var r struct {
			Result struct {
				TTL string `json:"TTL"`
			} `json:"result"`
		}
		err := l.c.call(ctx, "/v3/lease/keepalive", map[string]any{"ID": l.lease}, &r)
		switch {
		case ctx.Err() != nil:
			return
		case err == nil && r.Result.TTL != "" && r.Result.TTL != "0":
			lastOK = time.Now()
			continue
		case err == nil:
			l.setLost(errors.New("etcd says the lock's lease has expired"))
			return
		}
		if time.Since(lastOK) >= l.ttl {
			l.setLost(fmt.Errorf("the lock's lease could not be renewed for %s: %w", l.ttl, err))
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

// Lost says whether the lock is no longer ours: the keep-alive saw the lease
// go, or etcd, asked now, does not show our key under our lease (nor
// answers). nil means etcd confirmed it just now.
func (l *Lock) Lost() error {
	l.mu.Lock()
	lost := l.lost
	l.mu.Unlock()
	if lost != nil {
		return lost
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, lease, ok, err := l.c.get(ctx, l.key)
	switch {
	case err != nil:
		return fmt.Errorf("cannot confirm the lock is still held: %w", err)
	case !ok || v != l.token || lease != l.lease:
		l.setLost(errors.New("the lock's key is gone from etcd (its lease expired)"))
		return l.lost
	}
	return nil
}

// Release deletes the key and revokes the lease (within a few seconds; if
// etcd does not answer, the lease expires by itself).
func (l *Lock) Release() {
	if l == nil || l.cancel == nil {
		return
	}
	l.cancel()
	<-l.done
	l.cancel = nil
	l.revoke()
}

// revoke ends the lease, which deletes the key with it.
func (l *Lock) revoke() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	id, _ := strconv.ParseInt(l.lease, 10, 64)
	_ = l.c.call(ctx, "/v3/lease/revoke", map[string]any{"ID": id}, nil)
}

// Key is the lock's key.
func (l *Lock) Key() string { return l.key }
