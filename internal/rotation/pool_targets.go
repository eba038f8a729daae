package rotation

import (
	"context"
	"strings"
)

// Pool targets of the API methods whose Pool does not need this machine's
// server (F5 iControl REST, AWS ELBv2): the method's target without the
// member. The pool is read through the method built for a member that is
// not in the pool (so none is marked Self); each member's record key is the
// key of the method that names it.

// poolOfMethod is the pool target of such a type (its descriptor's Pool):
// the member nobody stands for one that is not in the pool; sep is what
// comes before the member in the method's target.
func poolOfMethod(typ, syntax, example, sep, nobody string) *PoolTarget {
	return &PoolTarget{Syntax: syntax, Example: example, New: func(target string, opts Options) (PoolView, error) {
		target = strings.TrimSpace(target)
		t, _, err := ParseSpec(typ + ":" + target + sep + nobody)
		if err != nil {
			return nil, err
		}
		m, err := t.New(target+sep+nobody, opts)
		if err != nil {
			return nil, configErrorf("--pool \"%s:%s\": want %s:%s, e.g. %s", typ, target, typ, syntax, example)
		}
		p, ok := m.(Pooler)
		if !ok {
			return nil, configErrorf("%s has no pool view", typ)
		}
		return &methodPoolTarget{Pooler: p, t: t, target: target, sep: sep, opts: opts}, nil
	}}
}

type methodPoolTarget struct {
	Pooler
	t           Type
	target, sep string
	opts        Options
}

func (p *methodPoolTarget) Target() string { return p.t.Name + ":" + p.target }

func (p *methodPoolTarget) MemberKey(m Member) string {
	mm, err := p.t.New(p.target+p.sep+m.Name, p.opts)
	if err != nil {
		return ""
	}
	return Key(mm)
}

// Pool implements Pooler: no member is this machine's.
func (p *methodPoolTarget) Pool(ctx context.Context) (Pool, error) {
	pool, err := p.Pooler.Pool(ctx)
	for i := range pool.Members {
		pool.Members[i].Self = false
	}
	return pool, err
}

// PoolID is the method's pool identity, as its budget locks and etcd out
// records name the pool.
func (p *methodPoolTarget) PoolID() string {
	if pi, ok := p.Pooler.(interface{ PoolID() string }); ok {
		return pi.PoolID()
	}
	return ""
}
