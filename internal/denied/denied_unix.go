//go:build !windows

package denied

import (
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// describe is path's owner, group and mode ("" when it cannot be read).
func describe(path string) (owner, group, mode string) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", "", ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", "", ""
	}
	owner = strconv.FormatUint(uint64(st.Uid), 10)
	if u, err := user.LookupId(owner); err == nil {
		owner = u.Username
	}
	group = strconv.FormatUint(uint64(st.Gid), 10)
	if g, err := user.LookupGroupId(group); err == nil {
		group = g.Name
	}
	return owner, group, fi.Mode().String()
}

func uid() string { return strconv.Itoa(os.Getuid()) }
