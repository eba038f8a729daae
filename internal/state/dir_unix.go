//go:build !windows

package state

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

var isAdmin = func() bool { return os.Geteuid() == 0 }

// serviceAccountDirs: on Unix an administrator reads only its own old
// per-user directory; other accounts' home directories are theirs to write,
// and a record there must not steer what root renames.
func serviceAccountDirs() []string { return nil }

func makeMachineDir(dir string) error { return os.MkdirAll(dir, 0o700) }

// trustedDir: owned by root or by this account, and not writable by every
// user.
func trustedDir(dir string, fi fs.FileInfo) error {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return &UnsafeDirError{Dir: dir, Why: fmt.Sprintf("is owned by uid %d, not root", st.Uid), Fix: "chown root " + dir + ", remove it, or set --state-dir"}
	}
	if fi.Mode().Perm()&0o002 != 0 {
		return &UnsafeDirError{Dir: dir, Why: "is writable by every user", Fix: "chmod o-w " + dir + ", or set --state-dir"}
	}
	return nil
}
