//go:build windows

package rotation

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/windows"
)

// renameRetries and renameDelay bound how long a page held open by IIS or an
// antivirus scanner is retried (about 2 s in all).
const (
	renameRetries = 10
	renameDelay   = 200 * time.Millisecond
)

// renameFile moves a keep-alive page, retrying briefly while another process
// holds it open (sharing violation), then failing with nothing changed. A
// page drain may not touch (access denied) fails at once, said as such.
func renameFile(from, to string) error {
	var err error
	for i := 0; i < renameRetries; i++ {
		if err = os.Rename(from, to); err == nil || !transient(from, err) {
			break
		}
		time.Sleep(renameDelay)
	}
	switch {
	case err == nil:
		return nil
	case transient(from, err):
		return fmt.Errorf("%w (file still held open by another process after %s; is IIS or an antivirus scanner locking it?)", err, renameRetries*renameDelay)
	}
	return explain(from, err)
}

// errUnableToRemoveReplaced is ReplaceFileW's answer when the page cannot
// be moved away (held open).
const errUnableToRemoveReplaced = windows.Errno(1175)

// heldOpen tells whether err says another process holds the file.
func heldOpen(err error) bool {
	return errors.Is(err, windows.ERROR_SHARING_VIOLATION) || errors.Is(err, windows.ERROR_LOCK_VIOLATION) ||
		errors.Is(err, errUnableToRemoveReplaced)
}

// transient: held open, or access denied while another process holds the
// file (a rename of a file open without delete sharing can answer access
// denied too). Access denied to drain itself is not retried.
func transient(p string, err error) bool {
	return heldOpen(err) || errors.Is(err, windows.ERROR_ACCESS_DENIED) && heldByOther(p)
}

// heldByOther tells whether another process has p open without delete
// sharing: opening it for DELETE with full sharing is a sharing violation.
func heldByOther(p string) bool {
	name, err := windows.UTF16PtrFromString(p)
	if err != nil {
		return false
	}
	h, err := windows.CreateFile(name, windows.DELETE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_FLAG_BACKUP_SEMANTICS|windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
	if err != nil {
		return errors.Is(err, windows.ERROR_SHARING_VIOLATION) || errors.Is(err, windows.ERROR_LOCK_VIOLATION)
	}
	_ = windows.CloseHandle(h)
	return false
}

// explain adds what an access denied means for the page.
func explain(p string, err error) error {
	if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
		return fmt.Errorf("%w (access denied: drain's user may not rename or replace %s; check the permissions of the file and its folder, and its read-only attribute)", err, p)
	}
	return err
}
