//go:build darwin

package state

import (
	"time"

	"golang.org/x/sys/unix"
)

// startSlack: macOS gives the start time to the microsecond.
const startSlack = time.Millisecond

// processStart asks the kernel (sysctl kern.proc.pid) for p_starttime.
func processStart(pid int) (time.Time, error) {
	k, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil {
		return time.Time{}, err
	}
	tv := k.Proc.P_starttime
	if tv.Sec == 0 && tv.Usec == 0 {
		return time.Time{}, errStartUnknown
	}
	return time.Unix(tv.Sec, int64(tv.Usec)*1000), nil
}
