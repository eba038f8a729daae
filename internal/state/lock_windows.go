//go:build windows

package state

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

var errLocked = errors.New("locked by another process")

// lockRange is the byte locked: far past the holder JSON, because a locked
// range cannot be read by other processes, and they must read who holds it.
// Locking past the end of a file is allowed.
var lockRange = windows.Overlapped{OffsetHigh: 0x40000000}

// lockFile takes an exclusive LockFileEx lock on f without waiting. Windows
// releases it when the handle is closed or the process ends.
func lockFile(f *os.File) error {
	ol := lockRange
	err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_IO_PENDING) {
		return errLocked
	}
	return err
}

func unlockFile(f *os.File) error {
	ol := lockRange
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, &ol)
}
