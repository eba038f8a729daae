package rotation

import (
	"context"
	"strings"

	"github.com/drain-cli/drain/internal/state"
)

// legacyKeyed is a rotator whose records earlier releases keyed differently
// (by the path or address as typed).
type legacyKeyed interface{ LegacyTarget() string }

func legacyTarget(r Rotator) string {
	if l, ok := r.(legacyKeyed); ok {
		return l.LegacyTarget()
	}
	return r.Target()
}

// LoadRecord returns r's record: under r.Target(), or, when there is none,
// under the key earlier releases used, so that a server they took out can
// still be shown and put back.
func LoadRecord(s state.Store, r Rotator) (*state.Record, error) {
	rec, err := s.Load(r.Target())
	if rec != nil || err != nil {
		return rec, err
	}
	if old := legacyTarget(r); old != r.Target() {
		return s.Load(old)
	}
	return nil, nil
}

// DeleteRecord removes r's record under its key and the earlier one.
func DeleteRecord(s state.Store, r Rotator) error {
	if err := s.Delete(r.Target()); err != nil {
		return err
	}
	if old := legacyTarget(r); old != r.Target() {
		return s.Delete(old)
	}
	return nil
}

// Part is where one piece of a rotation target stands: an HAProxy instance
// (ready, drain, maint) or a keep-alive page (IN, OUT).
type Part struct {
	Target string `json:"target"`
	State  string `json:"state"`
}

// Parts lists where every piece of r stands, for a status whose pieces
// disagree (ErrMixed): one line per HAProxy instance and per method.
func Parts(ctx context.Context, r Rotator) ([]Part, error) {
	switch r := r.(type) {
	case *HAProxy:
		sts, err := r.states(ctx)
		if err != nil {
			return nil, err
		}
		parts := make([]Part, len(sts))
		for i, st := range sts {
			parts[i] = Part{Target: r.Servers[i].name(), State: st}
		}
		return parts, nil
	case Multi:
		var parts []Part
		for _, m := range r {
			ps, err := Parts(ctx, m)
			if err != nil {
				return nil, err
			}
			parts = append(parts, ps...)
		}
		return parts, nil
	}
	st, err := r.Status(ctx)
	if err != nil {
		return nil, err
	}
	return []Part{{Target: r.Target(), State: string(st)}}, nil
}

// noter is a rotator with something to say about its last In: a piece it
// left as it was, and why.
type noter interface{ notes() []string }

// Notes returns what r's last In left as it was, one line each.
func Notes(r Rotator) []string {
	switch r := r.(type) {
	case noter:
		return r.notes()
	case Multi:
		var out []string
		for _, m := range r {
			out = append(out, Notes(m)...)
		}
		return out
	}
	return nil
}

func joinTargets(parts []string) string { return strings.Join(parts, " + ") }
