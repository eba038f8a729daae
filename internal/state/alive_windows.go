//go:build windows

package state

import (
	"errors"
	"time"

	"golang.org/x/sys/windows"
)

// startSlack: Windows gives the creation time in 100 ns units.
const startSlack = time.Millisecond

// ProcessAlive reports whether a process with this pid is still running.
func ProcessAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		// Access denied means it exists but belongs to someone else.
		return errors.Is(err, windows.ERROR_ACCESS_DENIED)
	}
	defer func() { _ = windows.CloseHandle(h) }()
	var code uint32
	if err := windows.GetExitCodeProcess(h, &code); err != nil {
		return true
	}
	const stillActive = 259
	return code == stillActive
}

// processStart returns the process's creation time (GetProcessTimes).
// Without the right to query it (another user's process, not elevated) the
// start time is unknown.
func processStart(pid int) (time.Time, error) {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
			return time.Time{}, errStartUnknown
		}
		return time.Time{}, err
	}
	defer func() { _ = windows.CloseHandle(h) }()
	var created, exited, kernel, user windows.Filetime
	if err := windows.GetProcessTimes(h, &created, &exited, &kernel, &user); err != nil {
		return time.Time{}, errStartUnknown
	}
	if created.Nanoseconds() <= 0 {
		return time.Time{}, errStartUnknown
	}
	return time.Unix(0, created.Nanoseconds()), nil
}
