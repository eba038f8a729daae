package rotation

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// An nginx upstream file as a pool target of its own ('drain status --pool
// nginx-upstream:FILE[#UPSTREAM]'): one upstream of the file, every server
// with the record key of the method that names it. FILE#SERVER_ADDR (the
// method's target) is still the pool that server's budget reads. The
// type's descriptor names it (Type.Pool, nginx_upstream.go).

// NginxUpstreamPool is an upstream of an nginx upstream file.
type NginxUpstreamPool struct {
	n    *NginxUpstream // the file; addr is the name after '#'
	name string         // an upstream or a server of the file; "" when none
}

func newNginxUpstreamPool(target string, opts Options) (PoolView, error) {
	target = strings.TrimSpace(target)
	file, name, hash := target, "", false
	if i := strings.LastIndex(target, "#"); i >= 0 {
		file, name, hash = strings.TrimSpace(target[:i]), strings.TrimSpace(target[i+1:]), true
	}
	if file == "" || hash && name == "" {
		return nil, configErrorf("--pool \"nginx-upstream:%s\": want nginx-upstream:FILE, FILE#UPSTREAM or FILE#SERVER_ADDR, e.g. nginx-upstream:/etc/nginx/upstreams/web.conf#web", target)
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, configErrorf("--pool nginx-upstream: %w", err)
	}
	n := &NginxUpstream{path: file, real: abs, addr: name, norm: normUpstreamAddr(name), opts: opts}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		n.real = r
	}
	return &NginxUpstreamPool{n: n, name: name}, nil
}

// Target implements PoolView.
func (p *NginxUpstreamPool) Target() string {
	t := "nginx-upstream:" + p.n.real
	if p.name != "" {
		t += "#" + p.name
	}
	return t
}

// MemberKey implements PoolView: the key --rotate nginx-upstream:FILE#ADDR
// records under.
func (p *NginxUpstreamPool) MemberKey(m Member) string {
	return "nginx-upstream:" + p.n.real + "#" + normUpstreamAddr(m.Addr)
}

// PoolID implements the pool's name for locks and records: the file, as
// the method's.
func (p *NginxUpstreamPool) PoolID() string { return p.n.PoolID() }

// Pool implements Pooler: the upstream named after '#'; else the server
// named there (the upstreams it is in, as its budget reads them); without
// a name, the file's only upstream (or its top-level lines).
func (p *NginxUpstreamPool) Pool(ctx context.Context) (Pool, error) {
	b, _, err := p.n.readFile()
	if err != nil {
		return Pool{}, err
	}
	all, err := parseUpstreams(b)
	if err != nil {
		return Pool{}, configErrorf("nginx-upstream: %s: %w", p.n.path, err)
	}
	var ups []string
	for _, s := range all {
		if !slices.Contains(ups, s.upstream) {
			ups = append(ups, s.upstream)
		}
	}
	shown := make([]string, len(ups))
	for i, u := range ups {
		shown[i] = u
		if u == "" {
			shown[i] = "(top-level lines)"
		}
	}
	up := ""
	switch {
	case p.name != "" && slices.Contains(ups, p.name):
		up = p.name
	case p.name != "":
		pool, err := p.n.Pool(ctx)
		if err != nil {
			return Pool{}, fmt.Errorf("%w; nor is %s one of its upstreams (%s)", err, p.name, strings.Join(shown, ", "))
		}
		return pool, nil
	case len(ups) == 1:
		up = ups[0]
	case len(ups) == 0:
		return Pool{}, configErrorf("nginx-upstream: %s has no upstream server lines", p.n.path)
	default:
		return Pool{}, configErrorf("nginx-upstream: %s has the upstreams %s: name one, e.g. --pool nginx-upstream:%s#%s", p.n.path, strings.Join(shown, ", "), p.n.path, ups[0])
	}
	pool := p.n.upstreamPool(all, up)
	for i := range pool.Members {
		pool.Members[i].Self = false
	}
	return pool, nil
}

var (
	_ PoolView                     = (*NginxUpstreamPool)(nil)
	_ interface{ PoolID() string } = (*NginxUpstreamPool)(nil)
)
