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
	"runtime"
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
	// Original holds the page's bytes in content mode (restored exactly on in).
	Original []byte      `json:"original,omitempty"`
	OrigMode fs.FileMode `json:"original_mode,omitempty"`

	// HAProxy lists each load-balancer server the haproxy method found, with
	// its admin state before out and whether out changed it.
	HAProxy []LBServer `json:"haproxy,omitempty"`

	Reason string    `json:"reason,omitempty"`
	By     string    `json:"by,omitempty"` // user@host
	PID    int       `json:"pid"`
	Since  time.Time `json:"since"`
	Phase  Phase     `json:"phase"`
	Result string    `json:"result,omitempty"`

	// Command is the drain command that took the server out: "out" (out by
	// intent, whatever its phase) or "run"; empty in older records.
	Command string `json:"command,omitempty"`
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
type Store struct{ Dir string }

// DefaultDir is the per-user state directory for this OS:
// $XDG_STATE_HOME/drain or ~/.local/state/drain on Unix,
// %LOCALAPPDATA%\drain on Windows, ~/Library/Application Support/drain on macOS.
func DefaultDir() (string, error) {
	switch runtime.GOOS {
	case "windows":
		if d := os.Getenv("LOCALAPPDATA"); d != "" {
			return filepath.Join(d, "drain"), nil
		}
	case "darwin":
		if h, err := os.UserHomeDir(); err == nil {
			return filepath.Join(h, "Library", "Application Support", "drain"), nil
		}
	default:
		if d := os.Getenv("XDG_STATE_HOME"); d != "" {
			return filepath.Join(d, "drain"), nil
		}
		if h, err := os.UserHomeDir(); err == nil {
			return filepath.Join(h, ".local", "state", "drain"), nil
		}
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no state directory: %w (set --state-dir)", err)
	}
	return filepath.Join(d, "drain", "state"), nil
}

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
	b, err := os.ReadFile(s.file(target))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("state file %s is corrupt: %w", s.file(target), err)
	}
	return &r, nil
}

// Save writes the record atomically: a temporary file in the same directory,
// synced, then renamed over the old one.
func (s Store) Save(r *Record) error {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("create state dir: %w", err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(s.file(r.Target), append(b, '\n'), 0o600)
}

// Delete removes the record for target; a missing record is fine.
func (s Store) Delete(target string) error {
	err := os.Remove(s.file(target))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove state: %w", err)
	}
	return nil
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
