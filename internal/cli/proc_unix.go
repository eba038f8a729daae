//go:build !windows

package cli

import (
	"errors"
	"os"
	"syscall"
)

// signalZero probes whether a process exists.
func signalZero(p *os.Process) bool {
	err := p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}
