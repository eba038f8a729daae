package rotation

import (
	"fmt"
	"strings"

	"github.com/drain-cli/drain/internal/redact"
	"github.com/drain-cli/drain/internal/usage"
)

// A pool view on its own: 'drain status --pool TYPE:TARGET' names a pool
// (an HAProxy backend, an Apache balancer), not one server of it. Its target
// is the method's target without the server part (haproxy:ADDR#BACKEND). A
// method type that can list a pool by such a target says how in its
// descriptor (Type.Pool) (Type.Pool); for the others, the method's own target (with the server) is read
// through the method's Pooler.

// PoolView lists a pool and says which drain record would belong to each
// of its servers.
type PoolView interface {
	Pooler
	// Target is the canonical pool target, for display.
	Target() string
	// MemberKey is the record key (TYPE:TARGET, as Key gives it) of the
	// method that takes m out of rotation through this balancer, "" when it
	// cannot be told.
	MemberKey(m Member) string
}

// PoolTarget is how a type names a pool on its own: part of its
// descriptor (Type.Pool), nil for a type whose pool is read only through a
// method target that names a server.
type PoolTarget struct {
	Syntax  string // e.g. "ADDR#BACKEND"
	Example string // a whole TYPE:TARGET example
	New     func(target string, opts Options) (PoolView, error)
}

// poolHint says how the type's pool target is written.
func (t Type) poolHint() string {
	if t.Pool != nil {
		return fmt.Sprintf("check the pool target: %s:%s (%s)", t.Name, t.Pool.Syntax, t.Pool.Example)
	}
	ex := []string{}
	for _, pt := range Types() {
		if pt.Pool != nil {
			ex = append(ex, fmt.Sprintf("%s:%s (%s)", pt.Name, pt.Pool.Syntax, pt.Pool.Example))
		}
	}
	return "e.g. " + strings.Join(ex, " or ")
}

// ParsePool reads --pool TYPE:TARGET once, into the spec NewPoolOf builds.
// Errors are *usage.Error with a hint.
func ParsePool(raw string) (Spec, error) { return Parse("--pool", raw) }

// NewPool builds the pool view a TYPE:TARGET spec names (ParsePool, then
// NewPoolOf).
func NewPool(raw string, opts Options) (PoolView, error) {
	spec, err := ParsePool(raw)
	if err != nil {
		return nil, err
	}
	return NewPoolOf(spec, opts)
}

// NewPoolOf builds the pool view spec names: by its type's pool target
// (Type.Pool), else through the method the spec names when it is a Pooler.
// Errors wrap ErrConfig (usage errors) with the type's hint.
func NewPoolOf(spec Spec, opts Options) (PoolView, error) {
	t := spec.Type
	if t.Pool != nil {
		v, err := t.Pool.New(spec.Target, opts)
		return v, usage.WithHint(err, t.poolHint())
	}
	m, err := spec.New(opts)
	if err != nil {
		return nil, err
	}
	p, ok := m.(Pooler)
	if !ok {
		msg := fmt.Sprintf("%s has no pool view (pool targets: %s; or a method target whose balancer lists its pool)", t.Name, strings.Join(PoolTypeNames(), ", "))
		return nil, &usage.Error{Flag: "--pool", Spec: redact.String(spec.String()), Msg: msg, Hint: t.poolHint()}
	}
	return methodPool{Pooler: p, m: m}, nil
}

// PoolTypeNames lists the method types with a pool target (a pool without
// a server); other types whose method is a Pooler take the method's own
// target.
func PoolTypeNames() []string {
	var out []string
	for _, t := range Types() {
		if t.Pool != nil {
			out = append(out, t.Name)
		}
	}
	return out
}

// methodPool is a method's Pooler used as a pool view: only the member the
// method names has a known record key.
type methodPool struct {
	Pooler
	m Method
}

func (p methodPool) Target() string { return Key(p.m) }

func (p methodPool) MemberKey(mb Member) string {
	if mb.Self {
		return Key(p.m)
	}
	return ""
}

// PoolID is the method's pool identity (as its budget locks and etcd out
// records name the pool), "" when the method has none.
func (p methodPool) PoolID() string {
	if pi, ok := p.m.(interface{ PoolID() string }); ok {
		return pi.PoolID()
	}
	return ""
}
