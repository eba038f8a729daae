package rotation

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/drain-cli/drain/internal/state"
)

// Records are per method: each entry of a run's record is saved in a file
// of its own, keyed by the method's Key (TYPE:TARGET), with the run's shared
// fields. A run finds its record under any of its methods' keys, so a
// method shared by two runs (the same page with or without HAProxy) is one
// record and one lock.
//
// Records of the release before methods had types (no version) were keyed
// by the combination of methods and kept each method's data in fields of
// their own: they are still found (legacyKeys) and read (v1Reader).

// v1Reader is a method that existed before records had a version: it finds
// its undo data in such a record (the whole file) and says whether out
// changed it. ok is false when the record holds nothing of it.
type v1Reader interface {
	fromV1(old json.RawMessage) (undo json.RawMessage, changed, ok bool)
}

// v1Keyed is a method whose records the release before keyed by a part of
// their own: prefix+part (parts of one prefix joined by ","), canonical as
// this release resolves it, and typed as given.
type v1Keyed interface {
	v1Key() (prefix, canonical, typed string)
}

// LoadRecord returns the record of s's run: the shared fields of the first
// record found, with the entries of every record found under one of the
// set's keys (this release) or under a key the release before used (then
// converted into entries). nil when there is none. A record an
// administrator may not act on (written by another account, see
// state.Store.Find) comes back with the error, for status to show it;
// nothing may act on it.
func LoadRecord(store state.Store, s *Set) (*state.Record, error) {
	var untrusted error
	var merged *state.Record
	add := func(r *state.Record, entries []state.Entry) {
		if merged == nil {
			c := *r
			c.Entries, c.Legacy, c.Files = nil, nil, nil
			merged = &c
		} else if r.Method != "" && !slices.Contains(strings.Split(merged.Method, "+"), r.Method) {
			merged.Method += "+" + r.Method
		}
		for _, e := range entries {
			if entryByKey(merged, e.Key()) == nil {
				merged.Entries = append(merged.Entries, e)
			}
		}
		merged.Files = append(merged.Files, r.Files...)
	}
	for _, k := range append(s.Keys(), s.legacyKeys()...) {
		r, err := store.Load(k)
		var ue *state.UntrustedFileError
		switch {
		case err != nil && r != nil && errors.As(err, &ue) && ue.Owner:
			if untrusted == nil {
				untrusted = err
			}
		case err != nil:
			return nil, err
		}
		if r == nil || merged != nil && slices.Contains(merged.Files, r.Files[0]) {
			continue
		}
		entries := r.Entries
		if r.Version == 0 {
			entries = s.fromV1(r.Legacy)
		}
		add(r, entries)
	}
	return merged, untrusted
}

// fromV1 converts a record of the release before into entries, one per
// method of the set that finds its data in it.
func (s *Set) fromV1(old json.RawMessage) []state.Entry {
	var out []state.Entry
	for _, m := range s.methods {
		r, ok := m.(v1Reader)
		if !ok {
			continue
		}
		if undo, changed, ok := r.fromV1(old); ok {
			out = append(out, state.Entry{Type: m.Type(), Target: m.Target(), Undo: undo, Changed: changed})
		}
	}
	return out
}

// legacyKeys are the keys the release before may have used for records of
// these methods, or of some of them: the whole combination (as its Multi
// named it, canonical and typed), each prefix's group and each method
// alone; the set's own keys are left out.
func (s *Set) legacyKeys() []string {
	type group struct {
		prefix     string
		canon, typ []string
	}
	var groups []*group
	all := true
	var keys []string
	for _, m := range s.methods {
		k, ok := m.(v1Keyed)
		if !ok {
			all = false
			continue
		}
		prefix, canon, typ := k.v1Key()
		keys = append(keys, prefix+canon, prefix+typ)
		var g *group
		for _, x := range groups {
			if x.prefix == prefix {
				g = x
			}
		}
		if g == nil {
			g = &group{prefix: prefix}
			groups = append(groups, g)
		}
		g.canon, g.typ = append(g.canon, canon), append(g.typ, typ)
	}
	var canonGroups, typedGroups []string
	for _, g := range groups {
		c := append([]string(nil), g.canon...)
		sort.Strings(c)
		canonGroups = append(canonGroups, g.prefix+strings.Join(c, ","))
		typedGroups = append(typedGroups, g.prefix+strings.Join(g.typ, ","))
	}
	if all && len(groups) > 1 {
		keys = append(keys, strings.Join(canonGroups, " + "), strings.Join(typedGroups, " + "))
	}
	keys = append(keys, canonGroups...)
	keys = append(keys, typedGroups...)
	own := s.Keys()
	var out []string
	for _, k := range keys {
		if !slices.Contains(own, k) && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// SaveRecord writes rec: one file per entry, under the entry's key, with the
// shared fields (a record read from files of the release before moves into
// these, and the old files are removed). A record of this process gets its
// start time.
func SaveRecord(store state.Store, rec *state.Record) error {
	if rec.PID == os.Getpid() && rec.Start.IsZero() {
		rec.Start, _ = state.ProcessStart(rec.PID)
	}
	if len(rec.Entries) == 0 {
		return nil // a record of an older release with nothing this run can read: left as it is
	}
	rec.Version = state.RecordVersion
	var files []string
	for _, e := range rec.Entries {
		r := *rec
		r.Target, r.Entries, r.Legacy, r.Files = e.Key(), []state.Entry{e}, nil, nil
		if err := store.Save(&r); err != nil {
			return err
		}
		files = append(files, store.File(e.Key()))
	}
	for _, f := range rec.Files {
		if !slices.Contains(files, f) {
			if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	rec.Files, rec.Legacy = files, nil
	return nil
}

// DeleteRecord removes the record of s's run: under every key of the set,
// every key the release before may have used, and the files it was read
// from (rec may be nil).
func DeleteRecord(store state.Store, s *Set, rec *state.Record) error {
	var errs []error
	for _, k := range append(s.Keys(), s.legacyKeys()...) {
		if err := store.Delete(k); err != nil {
			errs = append(errs, err)
		}
	}
	if rec != nil {
		for _, f := range rec.Files {
			if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// IsOldFile reports whether one of rec's files is in one of the store's
// old directories (the per-user one of older releases), and which.
func IsOldFile(store state.Store, rec *state.Record) string {
	if rec == nil {
		return ""
	}
	for _, f := range rec.Files {
		if store.IsOld(f) {
			return f
		}
	}
	return ""
}

func entryByKey(rec *state.Record, key string) *state.Entry {
	for i := range rec.Entries {
		if rec.Entries[i].Key() == key {
			return &rec.Entries[i]
		}
	}
	return nil
}
