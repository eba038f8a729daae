package rotation

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/drain-cli/drain/internal/haproxy"
)

// HAProxy's pool as a target of its own (status --pool haproxy:ADDR#BACKEND):
// the method's Pool (haproxy_pool.go) without a server of this machine.

// haproxyPoolTarget is the HAProxy type's pool target (its descriptor's
// Pool, haproxy.go).
var haproxyPoolTarget = &PoolTarget{
	Syntax:  "ADDR#BACKEND",
	Example: "haproxy:/run/haproxy/admin.sock#web",
	New: func(target string, opts Options) (PoolView, error) {
		return NewHAProxyPool(target, opts.Timeout)
	},
}

// HAProxyPool is one backend on one HAProxy instance.
type HAProxyPool struct {
	Addr    haproxy.Addr
	Backend string
	Self    string // a server to mark Self, when the target named one
	Timeout time.Duration

	canon     sync.Once
	canonAddr string // canonicalAddr(Addr), resolved once: MemberKey is asked for every member
}

// canonical is the instance's address as it really listens, resolved once.
func (p *HAProxyPool) canonical() string {
	p.canon.Do(func() { p.canonAddr = canonicalAddr(p.Addr) })
	return p.canonAddr
}

// NewHAProxyPool reads ADDR#BACKEND (or ADDR#BACKEND/SERVER: that server is
// marked as this one).
func NewHAProxyPool(target string, timeout time.Duration) (*HAProxyPool, error) {
	target = strings.TrimSpace(target)
	i := strings.LastIndex(target, "#")
	if i < 0 {
		return nil, configErrorf("--pool \"haproxy:%s\": want haproxy:ADDR#BACKEND, e.g. haproxy:/run/haproxy/admin.sock#web", target)
	}
	addr, err := haproxy.ParseAddr(target[:i])
	if err != nil {
		return nil, configErrorf("--pool \"haproxy:%s\": %w", target, err)
	}
	be, srv, _ := strings.Cut(target[i+1:], "/")
	if be == "" || strings.ContainsAny(be+srv, " \t/") {
		return nil, configErrorf("--pool \"haproxy:%s\": want a BACKEND after #, e.g. web", target)
	}
	return &HAProxyPool{Addr: addr, Backend: be, Self: srv, Timeout: timeout}, nil
}

// Target implements PoolView.
func (p *HAProxyPool) Target() string { return MethodHAProxy + ":" + p.Addr.String() + "#" + p.Backend }

// MemberKey implements PoolView: the key --rotate haproxy:ADDR#BACKEND/NAME
// records under (the instance by its resolved address).
func (p *HAProxyPool) MemberKey(m Member) string {
	return MethodHAProxy + ":" + p.canonical() + "#" + p.Backend + "/" + m.Name
}

// Pool implements Pooler.
func (p *HAProxyPool) Pool(ctx context.Context) (Pool, error) {
	h := &HAProxy{Servers: []LBServer{{Addr: p.Addr, Backend: p.Backend, Server: p.Self}}, Timeout: p.Timeout}
	return h.Pool(ctx)
}

// PoolID names the pool as pool locks and their records do:
// haproxy:ADDR#BACKEND with the instance by where it really listens.
func (p *HAProxyPool) PoolID() string {
	return MethodHAProxy + ":" + p.canonical() + "#" + p.Backend
}

var _ PoolView = (*HAProxyPool)(nil)
