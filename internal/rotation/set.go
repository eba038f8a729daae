package rotation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/drain-cli/drain/internal/state"
)

// Set is the rotation methods of one run (a keep-alive page and an HAProxy
// API, say), changed all or nothing: if one Out fails, the methods already
// changed are put back, newest first. Each method's undo data is an entry of
// the run's record (state.Entry), opaque to the Set.
type Set struct {
	methods []Method
	notes   []string
}

// NewSet combines methods; the same method (by Key) twice is a usage error.
func NewSet(methods ...Method) (*Set, error) {
	if len(methods) == 0 {
		return nil, configErrorf("no rotation method")
	}
	seen := map[string]bool{}
	for _, m := range methods {
		k := Key(m)
		if seen[k] {
			return nil, configErrorf("%s given twice", shown(m))
		}
		seen[k] = true
	}
	return &Set{methods: methods}, nil
}

// Methods lists the set's methods in the order given.
func (s *Set) Methods() []Method { return s.methods }

// Target names what the set rotates, for people and events: each method's
// name (a keep-alive page by its path, others as TYPE:TARGET) joined by
// " + ".
func (s *Set) Target() string {
	parts := make([]string, len(s.methods))
	for i, m := range s.methods {
		parts[i] = shown(m)
	}
	return strings.Join(parts, " + ")
}

// Keys are the method keys (TYPE:TARGET) of the set, sorted: records and
// locks are per method, so two runs that share a method exclude each other
// whatever else they change.
func (s *Set) Keys() []string {
	keys := make([]string, len(s.methods))
	for i, m := range s.methods {
		keys[i] = Key(m)
	}
	sort.Strings(keys)
	return keys
}

// shower is a method named otherwise than TYPE:TARGET in events and status
// (a keep-alive page by its path alone, as before methods had types).
type shower interface{ shown() string }

func shown(m Method) string {
	if s, ok := m.(shower); ok {
		return s.shown()
	}
	return Key(m)
}

// Probed reports whether a method of the set is probed by its balancer (see
// Prober).
func (s *Set) Probed() bool {
	for _, m := range s.methods {
		if p, ok := m.(Prober); ok && p.Probed() {
			return true
		}
	}
	return false
}

// Status is the common state of every method, or an ErrMixed error naming
// each when they disagree. One method's status is its own.
func (s *Set) Status(ctx context.Context) (Status, error) {
	if len(s.methods) == 1 {
		return s.methods[0].Status(ctx)
	}
	return s.combine(func(m Method) (Status, error) { return m.Status(ctx) })
}

// combine is the common state of the methods as read reads each: a method
// that cannot be read makes it an error, still IN when that method is known
// to be in (some of the server is in rotation), else UNKNOWN.
func (s *Set) combine(read func(Method) (Status, error)) (Status, error) {
	var sts []string
	var common Status
	same := true
	for i, m := range s.methods {
		st, err := read(m)
		if err != nil {
			if st != In {
				st = Unknown
			}
			return st, err
		}
		sts = append(sts, fmt.Sprintf("%s %s", shown(m), st))
		if i == 0 {
			common = st
		} else if st != common {
			same = false
		}
	}
	if !same {
		return Unknown, fmt.Errorf("%w: %s", ErrMixed, strings.Join(sts, ", "))
	}
	return common, nil
}

// Part is where one piece of a rotation target stands: an HAProxy instance
// (ready, drain, maint) or a keep-alive page (IN, OUT).
type Part struct {
	Target string `json:"target"`
	State  string `json:"state"`
}

// Parts lists where every piece stands, for a status whose pieces disagree
// (ErrMixed): a Parter's parts, else one line per method.
func (s *Set) Parts(ctx context.Context) ([]Part, error) {
	var parts []Part
	for _, m := range s.methods {
		if p, ok := m.(Parter); ok {
			ps, err := p.Parts(ctx)
			if err != nil {
				return nil, err
			}
			parts = append(parts, ps...)
			continue
		}
		st, err := m.Status(ctx)
		if err != nil {
			return nil, err
		}
		parts = append(parts, Part{Target: shown(m), State: string(st)})
	}
	return parts, nil
}

// Out takes every method out, in order. rec holds the run's shared fields;
// each method's undo data becomes its entry, and save(rec) is called before
// each change (a crash leaves a record In can undo) and once more at the
// end when a method found already out was added. A method found already out
// is recorded as unchanged: in leaves it as it is. When one fails, the ones
// already changed are put back, newest first.
func (s *Set) Out(ctx context.Context, rec *state.Record, save func(*state.Record) error) (bool, error) {
	// Read every method first: one that cannot be read fails the run
	// before anything changes.
	if len(s.methods) > 1 {
		for _, m := range s.methods {
			if _, err := m.Status(ctx); err != nil && !errors.Is(err, ErrMixed) {
				return false, err
			}
		}
	}
	rec.Version = state.RecordVersion
	rec.Method = s.describe()
	var done []Method
	dirty := false
	for _, m := range s.methods {
		saved := false
		saveUndo := func(undo any) error {
			b, err := json.Marshal(undo)
			if err != nil {
				return fmt.Errorf("record %s: %w", shown(m), err)
			}
			setEntry(rec, state.Entry{Type: m.Type(), Target: m.Target(), Undo: b, Changed: true})
			saved, dirty = true, false
			return save(rec)
		}
		// An entry already in rec was carried from the record of an earlier
		// out the balancer undid (again.go): a method that still reads out
		// keeps it, one that reads in is taken out again over it.
		carried := entryFor(rec, m)
		var changed bool
		var err error
		if r, ok := m.(reOuter); ok && carried != nil && carried.Changed {
			changed, err = r.outAgain(ctx, carried.Undo, saveUndo)
		} else {
			changed, err = m.Out(ctx, saveUndo)
		}
		if err != nil {
			return false, s.rollback(ctx, done, rec, err)
		}
		if changed {
			done = append(done, m)
			if !saved { // a method that changed without undo data
				setEntry(rec, state.Entry{Type: m.Type(), Target: m.Target(), Changed: true})
				dirty = true
			}
			continue
		}
		e := entryFor(rec, m)
		switch {
		case e == nil:
			setEntry(rec, state.Entry{Type: m.Type(), Target: m.Target()})
		case carried != nil && !saved:
			// still out as the earlier out left it: its undo data holds
		default:
			e.Changed = false
		}
		dirty = true
	}
	if len(done) == 0 {
		return false, nil
	}
	if dirty {
		if err := save(rec); err != nil {
			return true, err
		}
	}
	return true, nil
}

// describe is the record's method, for people: each method's mode (rename,
// content; else its type) joined by "+".
func (s *Set) describe() string {
	var out []string
	for _, m := range s.methods {
		d := m.Type()
		if md, ok := m.(describer); ok {
			d = md.mode()
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return strings.Join(out, "+")
}

// describer is a method with modes of its own (keep-alive: rename, content).
type describer interface{ mode() string }

func (s *Set) rollback(ctx context.Context, done []Method, rec *state.Record, cause error) error {
	if len(done) == 0 {
		return cause
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	var msgs []string
	failed := false
	for i := len(done) - 1; i >= 0; i-- {
		m := done[i]
		if _, err := m.In(ctx, undoFor(rec, m)); err != nil {
			failed = true
			msgs = append(msgs, fmt.Sprintf("%s: %v", shown(m), err))
		} else {
			msgs = append(msgs, shown(m))
		}
	}
	if failed {
		return fmt.Errorf("%w; ROLLBACK FAILED: %s", cause, strings.Join(msgs, "; "))
	}
	return fmt.Errorf("%w; put back %s", cause, strings.Join(msgs, ", "))
}

// In puts every method back (newest first) with its undo data from rec (nil
// when rec has no entry for it: the method's defaults), even when one fails;
// the error names each failure. A method the record says out found already
// out is left as it is, and said so (Notes).
func (s *Set) In(ctx context.Context, rec *state.Record) (bool, error) {
	s.notes = nil
	anyChanged := false
	var errs joinedErrs
	for i := len(s.methods) - 1; i >= 0; i-- {
		m := s.methods[i]
		if e := entryFor(rec, m); e != nil && !e.Changed {
			st, _ := m.Status(ctx)
			s.notes = append(s.notes, fmt.Sprintf("%s left %s: it was already out before out, so drain did not change it", shown(m), st))
			continue
		}
		changed, err := m.In(ctx, undoFor(rec, m))
		if err != nil {
			errs = append(errs, err)
		}
		if n, ok := m.(Noter); ok {
			s.notes = append(s.notes, n.Notes()...)
		}
		anyChanged = anyChanged || changed
	}
	if len(errs) > 0 {
		return anyChanged, errs
	}
	return anyChanged, nil
}

// Notes returns what the last In left as it was, and why, one line each.
func (s *Set) Notes() []string { return s.notes }

// adopter is a method whose flags may differ from what out did (another
// --disabled-name): given its record's undo data, it reads its status the
// way out left it.
type adopter interface{ adopt(undo json.RawMessage) }

// Adopt makes each method read its status as its entry in rec says out left
// it, as In undoes it: 'drain status' without the flags out was given.
func (s *Set) Adopt(rec *state.Record) {
	for _, m := range s.methods {
		if a, ok := m.(adopter); ok {
			if e := entryFor(rec, m); e != nil && len(e.Undo) > 0 {
				a.adopt(e.Undo)
			}
		}
	}
}

func entryFor(rec *state.Record, m Method) *state.Entry {
	if rec == nil {
		return nil
	}
	k := Key(m)
	for i := range rec.Entries {
		if rec.Entries[i].Key() == k {
			return &rec.Entries[i]
		}
	}
	return nil
}

func undoFor(rec *state.Record, m Method) json.RawMessage {
	if e := entryFor(rec, m); e != nil {
		return e.Undo
	}
	return nil
}

func setEntry(rec *state.Record, e state.Entry) {
	for i := range rec.Entries {
		if rec.Entries[i].Key() == e.Key() {
			rec.Entries[i] = e
			return
		}
	}
	rec.Entries = append(rec.Entries, e)
}

// joinedErrs is one line for several errors, each still matched by
// errors.Is (ErrConfig, ErrPageChanged).
type joinedErrs []error

func (j joinedErrs) Error() string {
	msgs := make([]string, len(j))
	for i, err := range j {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; ")
}

func (j joinedErrs) Unwrap() []error { return j }

var (
	_ Method = (*Keepalive)(nil)
	_ Prober = (*Keepalive)(nil)
	_ Method = (*HAProxy)(nil)
	_ Noter  = (*HAProxy)(nil)
	_ Parter = (*HAProxy)(nil)
)
