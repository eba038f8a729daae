//go:build linux

package state

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"
)

// startSlack: Linux gives the start in clock ticks since boot, and the boot
// time (btime) only to the second, recomputed from the wall clock.
const startSlack = 2 * time.Second

// processStart reads field 22 of /proc/PID/stat (start time in clock ticks
// after boot) and adds it to btime from /proc/stat. USER_HZ is 100 on every
// Linux architecture.
func processStart(pid int) (time.Time, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if errors.Is(err, fs.ErrNotExist) {
		return time.Time{}, fmt.Errorf("no process %d", pid)
	}
	if err != nil {
		return time.Time{}, err
	}
	// The command name (field 2) is in parentheses and may hold anything.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return time.Time{}, errStartUnknown
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return time.Time{}, errStartUnknown
	}
	ticks, err := strconv.ParseUint(f[19], 10, 64) // f[0] is field 3
	if err != nil {
		return time.Time{}, errStartUnknown
	}
	boot, err := bootTime()
	if err != nil {
		return time.Time{}, err
	}
	return boot.Add(time.Duration(ticks) * (time.Second / 100)), nil
}

func bootTime() (time.Time, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				break
			}
			return time.Unix(s, 0), nil
		}
	}
	return time.Time{}, errStartUnknown
}
