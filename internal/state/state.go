// Package state records what drain changed, so that `drain in` can undo it
// even after a crash, and `drain status` can say who took a server out, when
// and why.
package state

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/drain-cli/drain/internal/denied"
)

// Phase is how far a run got.
type Phase string

// Phases, in order. A record left in an intermediate phase after a crash says
// exactly where the run stopped.
const (
	PhaseOut     Phase = "out"     // taken out of rotation
	PhaseWaiting Phase = "waiting" // waiting for the sources to drain
	PhaseAction  Phase = "action"  // the action was started
	PhaseDone    Phase = "done"    // the action finished (see Result)
)

// RecordVersion is the format of records this release writes. Records
// without a version (0) were written before rotation methods became
// plug-ins: they kept each method's data in fields of their own (path,
// disabled_path, original, haproxy, ...); the rotation package reads those
// from Legacy.
const RecordVersion = 2

// Record is what `out` changed, persisted as JSON. It never holds secrets.
type Record struct {
	Version int    `json:"version,omitempty"`
	Target  string `json:"target"` // the key the record is saved under (a method's TYPE:TARGET)
	// Method says how the server was taken out, for people: rename, content,
	// haproxy, or several joined with "+".
	Method string `json:"method"`
	// Entries holds each rotation method's undo data, opaque to everyone
	// but the method.
	Entries []Entry `json:"entries,omitempty"`

	Reason string    `json:"reason,omitempty"`
	By     string    `json:"by,omitempty"` // user@host
	PID    int       `json:"pid"`
	Since  time.Time `json:"since"`
	Phase  Phase     `json:"phase"`
	Result string    `json:"result,omitempty"`

	// Start is when process PID started (absent in records of older
	// drains): a record whose pid now belongs to another process is gone.
	Start time.Time `json:"start,omitzero"`

	// Command is the drain command that took the server out: "out" (out by
	// intent, whatever its phase) or "run"; empty in older records.
	Command string `json:"command,omitempty"`

	// Legacy is the whole file of a record without a version, for the
	// rotation methods to read their data from; Files are the files the
	// record was read from. Neither is written.
	Legacy json.RawMessage `json:"-"`
	Files  []string        `json:"-"`
}

// Entry is one rotation method's part of a record.
type Entry struct {
	Type   string `json:"type"`
	Target string `json:"target"`
	// Undo is the method's own data (the state before out, the original
	// bytes, ...), given back to it by in.
	Undo json.RawMessage `json:"undo,omitempty"`
	// Changed is false for a method out found already out (by hand): in
	// leaves it as it is.
	Changed bool `json:"changed"`
}

// Key is the entry's method key, TYPE:TARGET.
func (e Entry) Key() string { return e.Type + ":" + e.Target }

// Owner is a file's numeric owner and group.
type Owner struct {
	UID int `json:"uid"`
	GID int `json:"gid"`
}

// Store is a directory of records, one file per target.
type Store struct {
	Dir string
	// Old lists directories where an older drain kept its records (the
	// per-user state directory): found by Find, removed by Delete and Save,
	// never written.
	Old []string
	// Machine says Dir is the machine-wide directory, created with rights
	// for administrators only.
	Machine bool
}

// Running reports whether the process that wrote the record is still
// running: its pid is alive and (when recorded) started when it did.
func (r *Record) Running() bool { return SameProcess(r.PID, r.Start) }

func (s Store) file(target string) string {
	sum := sha256.Sum256([]byte(target))
	base := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, filepath.Base(target))
	if len(base) > 40 {
		base = base[:40]
	}
	return filepath.Join(s.Dir, base+"-"+hex.EncodeToString(sum[:6])+".json")
}

// File is where the record for key is kept in Dir.
func (s Store) File(key string) string { return s.file(key) }

// Load returns the record for target, or (nil, nil) when there is none
// (see Find for a record of another account).
func (s Store) Load(target string) (*Record, error) {
	r, _, err := s.Find(target)
	return r, err
}

// Find returns the record for target and its file, looking in Dir and then
// in the old directories; (nil, "", nil) when there is none. A record that
// an administrator may not act on (written by another account: an
// *UntrustedFileError with Owner set) is returned with that error, for
// drain status to show; nothing may act on it.
func (s Store) Find(target string) (*Record, string, error) {
	for _, dir := range append([]string{s.Dir}, s.Old...) {
		path := Store{Dir: dir}.file(target)
		b, err := readRecordFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		var ue *UntrustedFileError
		var untrusted error // read all the same, for status
		switch {
		case errors.As(err, &ue) && ue.Owner:
			untrusted = err
		case errors.As(err, &ue):
			return nil, path, err
		case err != nil:
			return nil, path, fmt.Errorf("read state: %w", err)
		}
		var r Record
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, path, fmt.Errorf("state file %s is corrupt: %w", path, err)
		}
		// A record moved onto another target's name is not this target's.
		if r.Version != 0 && r.Target != target {
			return nil, path, &UntrustedFileError{File: path, Why: fmt.Sprintf("is the record of %q, not of %q", r.Target, target), Fix: "it was renamed or copied there; remove it"}
		}
		if r.Version == 0 {
			r.Legacy = b
		}
		r.Files = []string{path}
		return &r, path, untrusted
	}
	return nil, "", nil
}

// IsOld reports whether path (from Find) is in one of the old directories.
func (s Store) IsOld(path string) bool {
	for _, d := range s.Old {
		if filepath.Dir(path) == filepath.Clean(d) {
			return true
		}
	}
	return false
}

// Save writes the record atomically: a temporary file in the same directory,
// synced, then renamed over the old one.
// A record of this process gets its start time; a copy in an old directory
// is removed (the record has moved).
func (s Store) Save(r *Record) error {
	if err := s.mkdir(); err != nil {
		return err
	}
	if err := s.checkShared(); err != nil {
		return err
	}
	if r.PID == os.Getpid() && r.Start.IsZero() {
		r.Start, _ = ProcessStart(r.PID)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := WriteFileAtomic(s.file(r.Target), append(b, '\n'), s.recordPerm()); err != nil {
		return s.denied(err)
	}
	for _, d := range s.Old {
		_ = os.Remove(Store{Dir: d}.file(r.Target))
	}
	return nil
}

// Delete removes the record for target, in Dir and in the old directories;
// a missing record is fine.
func (s Store) Delete(target string) error {
	var errs []error
	for _, dir := range append([]string{s.Dir}, s.Old...) {
		err := os.Remove(Store{Dir: dir}.file(target))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, Store{Dir: dir}.denied(fmt.Errorf("remove state: %w", err)))
		}
	}
	return errors.Join(errs...)
}

// mkdir creates Dir: the machine-wide one with rights for administrators
// only, any other one private to this user.
func (s Store) mkdir() error {
	if s.Machine {
		if err := makeMachineDir(s.Dir); err != nil {
			return fmt.Errorf("create state dir %s: %w", s.Dir, err)
		}
		return nil
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return s.denied(fmt.Errorf("create state dir: %w", err))
	}
	return nil
}

// groupShared reports whether an administrator made Dir writable for a
// group (a state directory shared by several accounts).
func (s Store) groupShared() bool {
	fi, err := os.Stat(s.Dir)
	return err == nil && fi.Mode().Perm()&0o070 == 0o070
}

// lockPerm is the mode of new lock files: private, or in a shared directory
// readable and writable by the group (every drain writes its name into the
// lock it holds).
func (s Store) lockPerm() fs.FileMode {
	if s.groupShared() {
		return 0o660
	}
	return 0o600
}

// recordPerm is the mode of records: private, or in a shared directory
// readable by the group (drain status) but never writable by it: a record
// says what in undoes, and is replaced by a rename, never rewritten.
func (s Store) recordPerm() fs.FileMode {
	if s.groupShared() {
		return 0o640
	}
	return 0o600
}

// WriteFileAtomic replaces path with data so that readers see the old or the
// new content, never a mix. The temporary file is created with O_EXCL under
// a random name beside path and given its mode through the open file, so
// that nothing put in its way (a symlink in a shared directory) is written
// or chmodded; the rename replaces whatever path is, never following it.
func WriteFileAtomic(path string, data []byte, perm fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			_ = tmp.Close()
			_ = os.Remove(name)
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(name, path); err != nil {
		return err
	}
	ok = true
	return nil
}

// Who returns user@host for the record.
func Who() string {
	u := os.Getenv("USER")
	if u == "" {
		u = os.Getenv("USERNAME")
	}
	h, _ := os.Hostname()
	if u == "" {
		return h
	}
	return u + "@" + h
}

// denied gives a permission error in the state directory a hint: the
// account, the directory's owner, group and mode, and --state-dir.
func (s Store) denied(err error) error {
	return denied.Wrap(err, s.Dir, "give --state-dir a directory this account may write, or run drain as one that may write here (its owner, or a member of group GROUP with chmod g+w,+t)")
}
