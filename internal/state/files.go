package state

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Files in a state directory that others may write (a directory shared
// with a pipeline agent's group) are untrusted: a member of the group can
// put a symlink, a hard link or a FIFO where a record or a lock is expected,
// or a record of their own making. drain opens them without following
// links (O_NOFOLLOW; FILE_FLAG_OPEN_REPARSE_POINT on Windows), checks what
// it opened through the open file (a regular file with one link; for a
// record an administrator acts on, written by an administrator or this
// account) and changes them only through that handle.

// UntrustedFileError says a file in the state directory is not one drain
// may use: what it is, and what to do (one line).
type UntrustedFileError struct {
	File, Why, Fix string
	// Owner: the file is a record that an administrator may not act on
	// because of who wrote it (it is read all the same, for status).
	Owner bool
}

func (e *UntrustedFileError) Error() string {
	return fmt.Sprintf("state file %s %s: refusing to use it; %s", e.File, e.Why, e.Fix)
}

// maxRecord bounds what is read of a record (a content-mode page of 1 MiB
// is about 1.4 MB of JSON).
const maxRecord = 8 << 20

// notAFile is the refusal for what a record or lock file must not be.
func notAFile(path, what string) *UntrustedFileError {
	return &UntrustedFileError{
		File: path, Why: "is " + what + ", not a file drain wrote",
		Fix: "someone who may write the state directory put it there; remove it (and keep a shared state directory sticky: chmod +t " + filepath.Dir(path) + ")",
	}
}

// describe names what path is, for a refusal, when opening it failed.
func describe(path string, err error) error {
	lfi, lerr := os.Lstat(path)
	if lerr != nil {
		return err
	}
	if lfi.Mode()&fs.ModeSymlink != 0 || isReparse(lfi) {
		return notAFile(path, "a symbolic link")
	}
	if !lfi.Mode().IsRegular() {
		return notAFile(path, kindOf(lfi.Mode()))
	}
	return err
}

func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}

// checkOpened checks, through the open file, that f is a regular file with
// one name; with record set, also that an administrator may trust what it
// says (see trustedOwner).
func checkOpened(f *os.File, path string, record bool) error {
	facts, err := factsOf(f)
	if err != nil {
		return fmt.Errorf("state file %s: %w", path, err)
	}
	if facts.kind != "" {
		return notAFile(path, facts.kind)
	}
	if facts.links > 1 {
		return &UntrustedFileError{
			File: path, Why: fmt.Sprintf("has %d hard links: it may be another file linked here", facts.links),
			Fix: "remove it (and keep a shared state directory sticky: chmod +t " + filepath.Dir(path) + ")",
		}
	}
	if record && isAdmin() && facts.untrusted != "" {
		return &UntrustedFileError{File: path, Why: "was written by " + facts.untrusted, Fix: facts.fix, Owner: true}
	}
	return nil
}

// readRecordFile reads a record without following a link; fs.ErrNotExist
// when there is none. A record an administrator may not act on (see
// checkOpened) is read all the same, with that error.
func readRecordFile(path string) ([]byte, error) {
	f, err := openFile(path, false, false, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, describe(path, err)
	}
	defer f.Close()
	untrusted := checkOpened(f, path, true)
	var ue *UntrustedFileError
	ownerOnly := errors.As(untrusted, &ue) && ue.Owner
	if untrusted != nil && !ownerOnly {
		return nil, untrusted
	}
	b, err := io.ReadAll(io.LimitReader(f, maxRecord+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxRecord {
		return nil, &UntrustedFileError{File: path, Why: "is larger than 8 MiB", Fix: "no record drain writes is; remove it"}
	}
	return b, untrusted
}

// openLockFile opens (creating it if needed) a lock file for reading and
// writing, without following a link.
func openLockFile(path string, perm fs.FileMode) (*os.File, error) {
	f, err := openFile(path, true, true, perm)
	if err != nil {
		return nil, describe(path, err)
	}
	if err := checkOpened(f, path, false); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// checkShared refuses a state directory that its group (or everyone) may
// write without the sticky bit: any member could remove or replace the
// records and locks of the other accounts (a lock file removed while it is
// held lets a second drain lock a new one: two drains on one server).
func (s Store) checkShared() error {
	fi, err := os.Stat(s.Dir)
	if err != nil {
		return fmt.Errorf("state dir %s: %w", s.Dir, err)
	}
	if sharedWithoutSticky(fi) {
		return &UnsafeDirError{
			Dir: s.Dir,
			Why: "is writable by its group but not sticky: any member could remove or replace the records and locks of other accounts (chmod +t " + s.Dir + ")",
			Fix: "chmod +t " + s.Dir + " (a directory shared with a group: install -d -m 3770 -g GROUP DIR)",
		}
	}
	return nil
}
