//go:build windows

package rotation

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// openLockFile opens (creating it when absent) the lock file beside an
// upstream file without following a reparse point planted in its place.
func openLockFile(path string, _ os.FileMode) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, err
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ|windows.GENERIC_WRITE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil,
		windows.OPEN_ALWAYS, windows.FILE_ATTRIBUTE_NORMAL|windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
	if err != nil {
		return nil, err
	}
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &info); err != nil {
		_ = windows.CloseHandle(h)
		return nil, err
	}
	if info.FileAttributes&(windows.FILE_ATTRIBUTE_REPARSE_POINT|windows.FILE_ATTRIBUTE_DIRECTORY) != 0 {
		_ = windows.CloseHandle(h)
		return nil, errors.New("is a reparse point or a directory")
	}
	return os.NewFile(uintptr(h), path), nil
}

// lockByte is the byte locked (past the end: the file holds nothing).
var lockByte = windows.Overlapped{OffsetHigh: 0x40000000}

// tryLockFile takes an exclusive LockFileEx lock without waiting:
// errLockBusy when another handle holds it. Windows releases it when the
// handle is closed or the process ends.
func tryLockFile(f *os.File) error {
	ol := lockByte
	err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_IO_PENDING) {
		return errLockBusy
	}
	return err
}

func unlockLockFile(f *os.File) error {
	ol := lockByte
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, &ol)
}
