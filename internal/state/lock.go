package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"
)

// Holder is who holds a target's lock.
type Holder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	By      string    `json:"by,omitempty"`
	Command string    `json:"command"`
	Reason  string    `json:"reason,omitempty"`
	Since   time.Time `json:"since"`
}

func (h Holder) String() string {
	s := fmt.Sprintf("drain %s (pid %d", h.Command, h.PID)
	if host, _ := os.Hostname(); h.Host != "" && h.Host != host {
		s += " on " + h.Host
	}
	s += fmt.Sprintf(") since %s", h.Since.Local().Format(time.DateTime))
	if h.By != "" {
		s += " by " + h.By
	}
	if h.Reason != "" {
		s += fmt.Sprintf(", reason %q", h.Reason)
	}
	return s
}

// LockedError says another live drain holds the target.
type LockedError struct {
	Target string
	Holder Holder
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("%s is busy: %s holds it", e.Target, e.Holder)
}

// Lock is a held target lock; Release it when the command ends.
type Lock struct{ path string }

// Release removes the lock file.
func (l *Lock) Release() {
	if l != nil {
		_ = os.Remove(l.path)
	}
}

// Lock takes the target's lock, so that two drains never change the same
// server at once. A lock whose holder is gone (killed, crashed) is stale: it
// is replaced and returned so the caller can report it.
func (s Store) Lock(target string, me Holder) (*Lock, *Holder, error) {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("create state dir: %w", err)
	}
	path := strings.TrimSuffix(s.file(target), ".json") + ".lock"
	body, err := json.Marshal(me)
	if err != nil {
		return nil, nil, err
	}
	var stale *Holder
	for attempt := 0; attempt < 2; attempt++ {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			_, werr := f.Write(body)
			cerr := f.Close()
			if werr != nil || cerr != nil {
				_ = os.Remove(path)
				return nil, nil, fmt.Errorf("write lock: %w", errors.Join(werr, cerr))
			}
			return &Lock{path: path}, stale, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, nil, fmt.Errorf("take lock: %w", err)
		}
		var h Holder
		b, rerr := os.ReadFile(path)
		if rerr == nil {
			rerr = json.Unmarshal(b, &h)
		}
		host, _ := os.Hostname()
		switch {
		case rerr != nil && time.Since(modTime(path)) < 5*time.Second:
			// Being written right now by another drain.
			return nil, nil, &LockedError{Target: target, Holder: Holder{Command: "(starting)", Since: modTime(path)}}
		case rerr == nil && (h.Host != host || ProcessAlive(h.PID)):
			return nil, nil, &LockedError{Target: target, Holder: h}
		}
		stale = &h
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("remove stale lock: %w", err)
		}
	}
	return nil, nil, fmt.Errorf("could not take the lock %s", path)
}

func modTime(path string) time.Time {
	fi, err := os.Stat(path)
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}
