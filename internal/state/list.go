package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Found is one record file of a state directory, as List read it.
type Found struct {
	File string
	// Record is nil when the file could not be used at all (Err says why).
	Record *Record
	// Err: the file is not a record drain may use (*UntrustedFileError,
	// corrupt). With Record set, an *UntrustedFileError with Owner: a
	// record this account must not act on, read for status only.
	Err error
}

// Dirs are the directories the store reads records from: Dir, then the
// old ones.
func (s Store) Dirs() []string { return append([]string{s.Dir}, s.Old...) }

// List reads every record in the store's directories (Dir, then the old
// ones) and in extra (more directories to read, e.g. the machine-wide one
// for an account that keeps its records elsewhere): for `drain status` and
// `drain in` without flags. A directory that does not exist holds none; one
// that cannot be read is an error, the others are read all the same.
// Records are checked as Find checks them: no links, no special files, a
// record saved under another record's name refused.
func (s Store) List(extra ...string) ([]Found, error) {
	var out []Found
	var errs []error
	seen := map[string]bool{}
	for _, dir := range append(s.Dirs(), extra...) {
		if dir == "" || seen[filepath.Clean(dir)] {
			continue
		}
		seen[filepath.Clean(dir)] = true
		ents, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("read state directory %s: %w", dir, err))
			continue
		}
		for _, e := range ents {
			name := e.Name()
			// Temporary files (.NAME.tmp*) and locks are not records.
			if strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".json") {
				continue
			}
			if f, ok := readListed(filepath.Join(dir, name)); ok {
				out = append(out, f)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Record, out[j].Record
		if a == nil || b == nil {
			return a != nil
		}
		return a.Since.Before(b.Since)
	})
	return out, errors.Join(errs...)
}

// readListed reads one record file; ok is false when it is gone.
func readListed(path string) (Found, bool) {
	b, err := readRecordFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Found{}, false
	}
	var ue *UntrustedFileError
	untrusted := errors.As(err, &ue) && ue.Owner
	if err != nil && !untrusted {
		return Found{File: path, Err: err}, true
	}
	var r Record
	if jerr := json.Unmarshal(b, &r); jerr != nil {
		return Found{File: path, Err: fmt.Errorf("state file %s is corrupt: %w", path, jerr)}, true
	}
	// A record moved onto another record's name is not what its name says.
	if r.Version != 0 && filepath.Base(Store{Dir: filepath.Dir(path)}.file(r.Target)) != filepath.Base(path) {
		return Found{File: path, Err: &UntrustedFileError{File: path, Why: fmt.Sprintf("holds the record of %q under another name", r.Target), Fix: "it was renamed or copied there; remove it"}}, true
	}
	if r.Version == 0 {
		r.Legacy = b
	}
	r.Files = []string{path}
	return Found{File: path, Record: &r, Err: err}, true
}

// Listed lists the store's directories (Dir, then the old ones) once and
// returns whether target may have a record in them: false only when no
// directory lists its file, so Find would find none. For reading the
// records of many targets (a pool of thousands of servers) without opening
// one file per target. A directory that cannot be listed, other than a
// missing one, answers true for every target: Find then says what is wrong.
func (s Store) Listed() func(target string) bool {
	names := map[string]bool{}
	unlisted := false
	for _, dir := range s.Dirs() {
		if dir == "" {
			continue
		}
		ents, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			unlisted = true
			break
		}
		for _, e := range ents {
			names[filepath.Join(filepath.Clean(dir), e.Name())] = true
		}
	}
	return func(target string) bool {
		if unlisted {
			return true
		}
		for _, dir := range s.Dirs() {
			if dir != "" && names[filepath.Clean(Store{Dir: dir}.file(target))] {
				return true
			}
		}
		return false
	}
}
