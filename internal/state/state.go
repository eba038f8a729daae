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

// Record is what `out` changed, persisted as JSON. It never holds secrets.
type Record struct {
	Target string `json:"target"` // rotation target, e.g. the keep-alive path
	Method string `json:"method"` // rename | content
	// Path is the keep-alive page; DisabledPath where rename mode moved it.
	Path         string `json:"path"`
	DisabledPath string `json:"disabled_path,omitempty"`
	// Original holds the page's bytes in content mode (restored exactly on
	// in). A content record without it had an empty page (omitempty drops
	// an empty slice).
	Original []byte      `json:"original,omitempty"`
	OrigMode fs.FileMode `json:"original_mode,omitempty"`
	// OrigOwner is the page's owner in content mode (Unix); Written is the
	// SHA-256 of the bytes out wrote, so in can tell a page changed since.
	OrigOwner *Owner `json:"original_owner,omitempty"`
	Written   string `json:"written_sha256,omitempty"`

	// HAProxy lists each load-balancer server the haproxy method found, with
	// its admin state before out and whether out changed it.
	HAProxy []LBServer `json:"haproxy,omitempty"`

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
}

// Owner is a file's numeric owner and group.
type Owner struct {
	UID int `json:"uid"`
	GID int `json:"gid"`
}

// LBServer is one server on one HAProxy instance, as out found it.
type LBServer struct {
	Addr    string `json:"addr"`
	Backend string `json:"backend"`
	Server  string `json:"server"`
	Before  string `json:"before"` // ready | drain | maint
	Changed bool   `json:"changed"`
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

// Load returns the record for target, or (nil, nil) when there is none.
func (s Store) Load(target string) (*Record, error) {
	r, _, err := s.Find(target)
	return r, err
}

// Find returns the record for target and its file, looking in Dir and then
// in the old directories; (nil, "", nil) when there is none.
func (s Store) Find(target string) (*Record, string, error) {
	for _, dir := range append([]string{s.Dir}, s.Old...) {
		path := Store{Dir: dir}.file(target)
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, path, fmt.Errorf("read state: %w", err)
		}
		var r Record
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, path, fmt.Errorf("state file %s is corrupt: %w", path, err)
		}
		return &r, path, nil
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
	if r.PID == os.Getpid() && r.Start.IsZero() {
		r.Start, _ = ProcessStart(r.PID)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := WriteFileAtomic(s.file(r.Target), append(b, '\n'), s.perm()); err != nil {
		return err
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
			errs = append(errs, fmt.Errorf("remove state: %w", err))
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
		return fmt.Errorf("create state dir: %w", err)
	}
	return nil
}

// perm is the mode of new files: private, unless an administrator made Dir
// writable for a group (a state directory shared by several accounts).
func (s Store) perm() fs.FileMode {
	if fi, err := os.Stat(s.Dir); err == nil && fi.Mode().Perm()&0o070 == 0o070 {
		return 0o660
	}
	return 0o600
}

// WriteFileAtomic replaces path with data so that readers see the old or the
// new content, never a mix.
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
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(name, perm); err != nil {
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
