//go:build windows

package rotation

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/drain-cli/drain/internal/state"
)

// x/sys/windows has no ReplaceFileW wrapper.
var procReplaceFileW = windows.NewLazySystemDLL("kernel32.dll").NewProc("ReplaceFileW")

const replacefileIgnoreMergeErrors = 0x2

// ReplaceFileW's half-done failures without a backup name.
const (
	errUnableToMoveReplacement  = windows.Errno(1176) // ERROR_UNABLE_TO_MOVE_REPLACEMENT
	errUnableToMoveReplacement2 = windows.Errno(1177) // ERROR_UNABLE_TO_MOVE_REPLACEMENT_2
)

// openShared opens the page sharing read, write and delete, so that IIS or
// another drain renaming or rewriting it is not refused while drain reads.
func openShared(p string) (*os.File, error) {
	name, err := windows.UTF16PtrFromString(p)
	if err != nil {
		return nil, err
	}
	h, err := windows.CreateFile(name, windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	return os.NewFile(uintptr(h), p), nil
}

func fileOwner(fs.FileInfo) *state.Owner { return nil }

// replacePage writes a temporary file next to the page and swaps it in with
// ReplaceFileW, which keeps the page's ACL, attributes and creation time
// (a plain rename would give it the temporary file's). Sharing violations
// (IIS or a scanner holding the page) are retried as renames are.
func replacePage(path string, data []byte, _ pageMeta) (err error) {
	name16, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return err
	}
	attrs, err := windows.GetFileAttributes(name16)
	if err != nil {
		return err
	}
	if attrs&windows.FILE_ATTRIBUTE_READONLY != 0 {
		return explain(path, &os.PathError{Op: "replace", Path: path, Err: windows.ERROR_ACCESS_DENIED})
	}
	tmp, err := tempBeside(path, data)
	if err != nil {
		return err
	}
	name := tmp.Name()
	defer func() {
		if err != nil && tmp != nil {
			_ = tmp.Close()
			_ = os.Remove(name)
		}
	}()
	if err = tmp.Close(); err != nil {
		return err
	}
	for i := 0; i < renameRetries; i++ {
		// Asked first: Wine's ReplaceFileW leaves a stray rfe*.tmp behind
		// when the page cannot be moved.
		if heldByOther(path) {
			err = windows.ERROR_SHARING_VIOLATION
		} else if err = replaceFileFn(path, name); err == nil || !transient(path, err) {
			break
		}
		time.Sleep(renameDelay)
	}
	if errors.Is(err, errUnableToMoveReplacement) || errors.Is(err, errUnableToMoveReplacement2) {
		// Half done (ReplaceFileW's documentation, no backup name given):
		// the page is gone (1176) or under a name of Windows' choosing
		// (1177), the new content is still under the temporary name. Move
		// it into place; if even that fails, keep it and say where it is.
		if merr := windows.Rename(name, path); merr != nil {
			tmp = nil
			return fmt.Errorf("replace %s: %w, and moving %s into its place failed: %w; the page's new content is in %s: rename it to %s by hand",
				path, err, name, merr, name, path)
		}
		err = nil
	}
	switch {
	case err == nil:
	case transient(path, err):
		return fmt.Errorf("replace %s: %w (file still held open by another process after %s; is IIS or an antivirus scanner locking it?)", path, err, renameRetries*renameDelay)
	default:
		return fmt.Errorf("replace %s: %w", path, explain(path, err))
	}
	// Windows keeps the attributes; Wine does not: put them back if lost.
	const kept = windows.FILE_ATTRIBUTE_HIDDEN | windows.FILE_ATTRIBUTE_SYSTEM | windows.FILE_ATTRIBUTE_ARCHIVE | windows.FILE_ATTRIBUTE_NOT_CONTENT_INDEXED
	if now, aerr := windows.GetFileAttributes(name16); aerr == nil && now&kept != attrs&kept {
		_ = windows.SetFileAttributes(name16, now&^kept|attrs&kept)
	}
	return nil
}

// replaceFileFn is replaceFile; tests play ReplaceFileW's documented
// half-done failures.
var replaceFileFn = replaceFile

func replaceFile(replaced, replacement string) error {
	p1, err := windows.UTF16PtrFromString(replaced)
	if err != nil {
		return err
	}
	p2, err := windows.UTF16PtrFromString(replacement)
	if err != nil {
		return err
	}
	r, _, e := procReplaceFileW.Call(uintptr(unsafe.Pointer(p1)), uintptr(unsafe.Pointer(p2)), 0, replacefileIgnoreMergeErrors, 0, 0)
	if r == 0 {
		return e
	}
	return nil
}
