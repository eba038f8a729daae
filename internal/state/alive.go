package state

import (
	"errors"
	"os"
	"sync"
	"time"
)

// errStartUnknown: this OS (or this process's rights) cannot tell when a
// process started.
var errStartUnknown = errors.New("process start time unknown")

// ProcessStart returns when the process with this pid started. With the pid
// it names one process for good: a pid is reused, a (pid, start) pair is not.
func ProcessStart(pid int) (time.Time, error) {
	if pid == os.Getpid() {
		myStartOnce.Do(func() { myStart, myStartErr = processStart(pid) })
		return myStart, myStartErr
	}
	return processStart(pid)
}

var (
	myStartOnce sync.Once
	myStart     time.Time
	myStartErr  error
)

// SameProcess reports whether the process that recorded (pid, start) is
// still running: the pid is alive and, when the start time was recorded and
// can be read, it started then. A zero start (a record of an older drain)
// or a start time this OS will not tell falls back to the pid alone.
func SameProcess(pid int, start time.Time) bool {
	if !ProcessAlive(pid) {
		return false
	}
	if start.IsZero() {
		return true
	}
	now, err := ProcessStart(pid)
	if err != nil {
		return true
	}
	d := now.Sub(start)
	return d <= startSlack && d >= -startSlack
}
