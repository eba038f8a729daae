package rotation

import (
	"sort"
	"strings"
)

// A pool view on its own: 'drain status --pool TYPE:TARGET' names a pool
// (an HAProxy backend, an Apache balancer), not one server of it. Its target
// is the method's target without the server part (haproxy:ADDR#BACKEND). A
// method type that can list a pool by such a target registers a PoolType
// too; for the others, the method's own target (with the server) is read
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

// PoolType is a registered pool constructor.
type PoolType struct {
	Name    string // the method type, e.g. "haproxy"
	Syntax  string // e.g. "ADDR#BACKEND"
	Example string // a whole TYPE:TARGET example
	New     func(target string, opts Options) (PoolView, error)
}

var poolReg = map[string]PoolType{}

// RegisterPool adds a pool constructor for a method type; called from init.
func RegisterPool(t PoolType) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := poolReg[t.Name]; dup {
		panic("rotation: pool type registered twice: " + t.Name)
	}
	poolReg[t.Name] = t
}

// NewPool builds the pool view a TYPE:TARGET spec names: by the type's pool
// constructor, else through the method the spec names when it is a Pooler.
// Errors wrap ErrConfig (usage errors).
func NewPool(spec string, opts Options) (PoolView, error) {
	t, target, err := parseSpec("--pool", spec)
	if err != nil {
		return nil, err
	}
	regMu.RLock()
	pt, ok := poolReg[t.Name]
	regMu.RUnlock()
	if ok {
		return pt.New(target, opts)
	}
	m, err := t.New(target, opts)
	if err != nil {
		return nil, err
	}
	p, ok := m.(Pooler)
	if !ok {
		return nil, configErrorf("--pool %q: %s has no pool view (pool targets: %s; or a method target whose balancer lists its pool)", spec, t.Name, strings.Join(PoolTypeNames(), ", "))
	}
	return methodPool{Pooler: p, m: m}, nil
}

// PoolTypeNames lists the method types with a pool constructor (a pool
// target without a server); other types whose method is a Pooler take the
// method's own target.
func PoolTypeNames() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]string, 0, len(poolReg))
	for n := range poolReg {
		out = append(out, n)
	}
	sort.Strings(out)
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

// LookupPoolType returns the pool constructor registered for a method type.
func LookupPoolType(name string) (PoolType, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	t, ok := poolReg[name]
	return t, ok
}
