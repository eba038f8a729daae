//go:build !windows

package proctree

import (
	"os/exec"
	"syscall"
)

// Prepare makes cmd start in a process group of its own, so that the whole
// tree (a shell and what it started) can be signalled at once. Call it
// before cmd.Start.
func Prepare(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
}

// Tree is a started command and every process it started.
type Tree struct{ pgid int }

// Attach returns the tree of cmd, started after Prepare.
func Attach(cmd *exec.Cmd) *Tree { return &Tree{pgid: cmd.Process.Pid} }

// Terminate asks the whole tree to stop (SIGTERM to the group).
func (t *Tree) Terminate() { _ = syscall.Kill(-t.pgid, syscall.SIGTERM) }

// Kill ends the whole tree (SIGKILL to the group).
func (t *Tree) Kill() { _ = syscall.Kill(-t.pgid, syscall.SIGKILL) }

// Close releases the tree without ending what is left of it.
func (t *Tree) Close() {}
