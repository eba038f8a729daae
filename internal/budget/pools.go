package budget

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/drain-cli/drain/internal/rotation"
)

// Pools is one pool seen through several methods of one balancer type (two
// HAProxy instances in front of the same servers): a server is in rotation
// only when it is in on all of them, and is this server when any method
// says so.
type Pools struct {
	methods []rotation.Method
}

// Add adds a method; it must implement rotation.Pooler.
func (p *Pools) Add(m rotation.Method) { p.methods = append(p.methods, m) }

// poolIDer is a method that names its pool without reading it (HAProxy:
// the instance and the backend).
type poolIDer interface{ PoolID() string }

// IDs name the pool for its locks and records: each method's pool ID,
// sorted (each is locked, so a drain that names only one of the instances
// still meets one naming both); a method without one is named by its type
// and target.
func (p *Pools) IDs() []string {
	seen := map[string]bool{}
	var ids []string
	for _, m := range p.methods {
		id := rotation.Key(m)
		if pi, ok := m.(poolIDer); ok {
			id = pi.PoolID()
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// Pool implements rotation.Pooler: every method's view, merged by member
// name.
func (p *Pools) Pool(ctx context.Context) (rotation.Pool, error) {
	var out rotation.Pool
	var idx map[string]int
	for i, m := range p.methods {
		pl, err := m.(rotation.Pooler).Pool(ctx)
		if err != nil {
			return rotation.Pool{}, fmt.Errorf("%s: %w", m.Type(), err)
		}
		if i == 0 {
			out.Name = pl.Name
			out.Members = make([]rotation.Member, 0, len(pl.Members))
			idx = make(map[string]int, len(pl.Members))
		}
		var seen map[string]bool // the first view sees every member it names
		if i > 0 {
			seen = make(map[string]bool, len(pl.Members))
		}
		for _, mem := range pl.Members {
			if seen != nil {
				seen[mem.Name] = true
			}
			j, ok := idx[mem.Name]
			if !ok {
				if i > 0 {
					mem.InRotation = false // absent from an earlier view
				}
				idx[mem.Name] = len(out.Members)
				out.Members = append(out.Members, mem)
				continue
			}
			cur := &out.Members[j]
			cur.InRotation = cur.InRotation && mem.InRotation
			cur.Self = cur.Self || mem.Self
			if !mem.InRotation {
				cur.Admin, cur.Health = mem.Admin, mem.Health
				if cur.Why == "" {
					cur.Why = mem.Why
				}
			}
			for _, w := range mem.LeavesWith {
				if !slices.Contains(cur.LeavesWith, w) {
					cur.LeavesWith = append(cur.LeavesWith, w)
				}
			}
		}
		for name, j := range idx {
			if seen != nil && !seen[name] {
				out.Members[j].InRotation = false
			}
		}
	}
	return out, nil
}
