//go:build !windows

package rotation

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// openLockFile opens (creating it when absent) the lock file beside an
// upstream file without following a symlink planted in its place: a
// symlink, a FIFO or a device is refused, never opened for writing.
func openLockFile(path string, perm os.FileMode) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, uint32(perm))
	if errors.Is(err, unix.ELOOP) {
		return nil, errors.New("is a symbolic link")
	}
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), path), nil
}

// tryLockFile takes an exclusive flock without waiting: errLockBusy when
// another open file (another drain, or another server's change in this
// one) holds it. The kernel drops it when the process ends.
func tryLockFile(f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EWOULDBLOCK):
			return errLockBusy
		}
		return err
	}
}

func unlockLockFile(f *os.File) error { return unix.Flock(int(f.Fd()), unix.LOCK_UN) }
