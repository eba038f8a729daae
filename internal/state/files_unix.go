//go:build !windows

package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// openFile opens path without following a symlink at its last component
// (O_NOFOLLOW) and without blocking on a FIFO (O_NONBLOCK). With create, a
// missing file is created with O_EXCL: never through a link, and never by
// opening with O_CREAT a file someone else made in a sticky directory
// (which Linux's fs.protected_regular refuses even to root).
func openFile(path string, write, create bool, perm fs.FileMode) (*os.File, error) {
	flag := os.O_RDONLY
	if write {
		flag = os.O_RDWR
	}
	flag |= unix.O_NOFOLLOW | unix.O_NONBLOCK
	for range 10 {
		f, err := os.OpenFile(path, flag, 0)
		if err == nil || !create || !errors.Is(err, fs.ErrNotExist) {
			return f, noFollow(err)
		}
		f, err = os.OpenFile(path, flag|os.O_CREATE|os.O_EXCL, perm)
		if err == nil || !errors.Is(err, fs.ErrExist) {
			return f, noFollow(err)
		}
	}
	return nil, fmt.Errorf("open %s: it keeps appearing and disappearing", path)
}

// noFollow: ELOOP from O_NOFOLLOW means the name is a symlink.
func noFollow(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && errors.Is(err, syscall.ELOOP) {
		return notAFile(pe.Path, "a symbolic link")
	}
	return err
}

func isReparse(fs.FileInfo) bool { return false }

// fileFacts is what checkOpened needs to know of an open file.
type fileFacts struct {
	kind      string // empty for a regular file
	links     uint64
	untrusted string // who wrote it, when that is not an administrator or this account
	fix       string
}

func factsOf(f *os.File) (fileFacts, error) {
	fi, err := f.Stat()
	if err != nil {
		return fileFacts{}, err
	}
	var ff fileFacts
	if !fi.Mode().IsRegular() {
		ff.kind = kindOf(fi.Mode())
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ff, nil
	}
	ff.links = uint64(st.Nlink)
	if me := os.Geteuid(); st.Uid != 0 && int(st.Uid) != me {
		ff.untrusted = fmt.Sprintf("uid %d, not by root", st.Uid)
		if me != 0 {
			ff.untrusted = fmt.Sprintf("uid %d, not by root or this account (uid %d)", st.Uid, me)
		}
		ff.fix = fmt.Sprintf("root acts only on records root wrote: any member of the state directory's group could have written this one; run this drain as uid %d, or, if you trust the record, chown root %s", st.Uid, f.Name())
	}
	return ff, nil
}

// sharedWithoutSticky: writable by the group or by everyone, not sticky.
func sharedWithoutSticky(fi fs.FileInfo) bool {
	return fi.Mode().Perm()&0o022 != 0 && fi.Mode()&fs.ModeSticky == 0
}
