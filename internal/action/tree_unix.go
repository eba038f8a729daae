//go:build !windows

package action

import (
	"os/exec"
	"syscall"
)

// setupTree starts the action in a process group of its own so that the
// whole tree (a shell and what it started) can be signalled at once.
func setupTree(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

type tree struct{ pgid int }

func attachTree(cmd *exec.Cmd) *tree { return &tree{pgid: cmd.Process.Pid} }

func (t *tree) terminate() { _ = syscall.Kill(-t.pgid, syscall.SIGTERM) }
func (t *tree) kill()      { _ = syscall.Kill(-t.pgid, syscall.SIGKILL) }
func (t *tree) close()     {}
