package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
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
	// Start is when the holder's process started: with PID it tells the
	// holder from an unrelated process that got the same pid later.
	Start time.Time `json:"start,omitzero"`
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

// LockedError says another process holds the target's lock.
type LockedError struct {
	Target string
	File   string // the lock file
	Holder Holder // what the lock file names (zero if it could not be read)
	// Verified is true when the named holder's process is alive with the
	// start time it recorded, on this host: the lock is really its.
	Verified bool
	// Legacy: the file was written by an older drain (no OS lock, no start
	// time) and its pid is alive: that drain, or an unrelated process.
	Legacy bool
}

func (e *LockedError) Error() string {
	if e.Legacy {
		return fmt.Sprintf("%s is busy: the lock %s, written by an older drain, names %s, and pid %d is running", e.Target, e.File, e.Holder, e.Holder.PID)
	}
	if e.Verified {
		return fmt.Sprintf("%s is busy: %s holds it (lock %s)", e.Target, e.Holder, e.File)
	}
	if host, _ := os.Hostname(); e.Holder.Host != "" && e.Holder.Host != host {
		return fmt.Sprintf("%s is busy: %s holds it (lock %s)", e.Target, e.Holder, e.File)
	}
	if e.Holder.PID == 0 {
		return fmt.Sprintf("%s is busy: another drain is taking the lock %s right now", e.Target, e.File)
	}
	return fmt.Sprintf("%s is busy: the lock %s is held by a process other than the %s it names, which is gone", e.Target, e.File, e.Holder)
}

// Hint says how to get past the lock safely.
func (e *LockedError) Hint() string {
	if host, _ := os.Hostname(); e.Holder.Host != "" && e.Holder.Host != host {
		return fmt.Sprintf("it runs on %s (the state directory is shared); wait for it or stop it there", e.Holder.Host)
	}
	if e.Legacy {
		return fmt.Sprintf("if pid %d is not a drain (after a reboot a pid may belong to anything), remove %s and try again", e.Holder.PID, e.File)
	}
	if e.Verified {
		return fmt.Sprintf("wait for it to finish, or stop pid %d: the lock is freed when that process ends (a killed drain never blocks); do not delete the lock file", e.Holder.PID)
	}
	find := "fuser -v " + e.File
	switch runtime.GOOS {
	case "windows":
		find = "Resource Monitor, CPU, Associated Handles, search " + e.File
	case "darwin":
		find = "lsof " + e.File
	}
	return "another drain may be taking it over right now: try again; if it persists, find the process holding the file (" + find + ") and stop it; do not delete the lock file"
}

// Lock is a held target lock; Release it when the command ends.
type Lock struct {
	f    *os.File
	path string
}

// Release empties the lock file and lets go of the OS lock. The file stays:
// removing it would let a process that opened it just before lock a file
// that no longer has a name, while a third locks the new one.
func (l *Lock) Release() {
	if l == nil || l.f == nil {
		return
	}
	_ = l.f.Truncate(0)
	_ = unlockFile(l.f)
	_ = l.f.Close()
	l.f = nil
}

// Lock takes the target's lock, so that two drains never change the same
// server at once. The lock is an OS file lock (flock on Unix, LockFileEx on
// Windows) on the lock file, held for the life of this process: the OS frees
// it when the process ends, however it ends, so a dead holder never blocks
// and taking over is atomic. The file also names the holder (JSON), for the
// busy message; a file still naming someone when we get the lock was left by
// a drain that died while holding it, and is returned as stale so the caller
// can report it.
func (s Store) Lock(target string, me Holder) (*Lock, *Holder, error) {
	if err := s.mkdir(); err != nil {
		return nil, nil, err
	}
	if me.PID == os.Getpid() && me.Start.IsZero() {
		me.Start, _ = ProcessStart(me.PID)
	}
	body, err := json.Marshal(me)
	if err != nil {
		return nil, nil, err
	}
	if err := s.checkShared(); err != nil {
		return nil, nil, err
	}
	path := s.LockFile(target)
	perm := s.lockPerm()
	f, err := openLockFile(path, perm)
	var ue *UntrustedFileError
	if errors.As(err, &ue) {
		return nil, nil, err
	}
	if err != nil {
		return nil, nil, s.denied(fmt.Errorf("open lock %s: %w", path, err))
	}
	if perm&0o070 != 0 {
		_ = f.Chmod(perm) // through the open file, past the umask: the group shares the directory
	}
	if err := lockFile(f); err != nil {
		b, _ := readAll(f)
		_ = f.Close()
		if !errors.Is(err, errLocked) {
			return nil, nil, fmt.Errorf("lock %s: %w", path, err)
		}
		le := &LockedError{Target: target, File: path}
		if json.Unmarshal(b, &le.Holder) == nil {
			host, _ := os.Hostname()
			le.Verified = le.Holder.Host == host && SameProcess(le.Holder.PID, le.Holder.Start)
		} else {
			le.Holder = Holder{} // being written by a drain that has just taken it
		}
		return nil, nil, le
	}
	// Ours. Whoever the file still names died holding it, unless an older
	// drain wrote it: those took no OS lock and recorded no start time, so
	// a live pid may be one running right now (or, after a reboot, any
	// process). Two drains at once is worse than asking.
	var stale *Holder
	if b, _ := readAll(f); len(bytes.TrimSpace(b)) > 0 {
		stale = &Holder{}
		if json.Unmarshal(b, stale) != nil {
			stale = &Holder{Command: "(unreadable lock file)"}
		}
		host, _ := os.Hostname()
		if stale.Start.IsZero() && stale.PID != os.Getpid() && stale.Host == host && ProcessAlive(stale.PID) {
			_ = unlockFile(f)
			_ = f.Close()
			return nil, nil, &LockedError{Target: target, File: path, Holder: *stale, Legacy: true}
		}
	}
	if err := writeHolder(f, body); err != nil {
		_ = unlockFile(f)
		_ = f.Close()
		return nil, nil, fmt.Errorf("write lock %s: %w", path, err)
	}
	return &Lock{f: f, path: path}, stale, nil
}

// LockFile is the path of the target's lock file.
func (s Store) LockFile(target string) string {
	return strings.TrimSuffix(s.file(target), ".json") + ".lock"
}

func readAll(f *os.File) ([]byte, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(f, 64<<10))
}

func writeHolder(f *os.File, body []byte) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt(body, 0)
	return err
}
