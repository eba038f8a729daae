//go:build windows

package proctree

import (
	"os/exec"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Prepare does nothing on Windows: the tree is a job object that Attach
// creates once the process exists.
func Prepare(cmd *exec.Cmd) {}

// Tree is a started command and every process it started: on Windows a job
// object that kills every process in it when terminated, so children die
// with the command.
type Tree struct {
	job windows.Handle
	cmd *exec.Cmd
}

// Attach puts the started cmd in a new job object. Should that fail, the
// tree is the process alone.
func Attach(cmd *exec.Cmd) *Tree {
	t := &Tree{cmd: cmd}
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return t
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{
		BasicLimitInformation: windows.JOBOBJECT_BASIC_LIMIT_INFORMATION{
			LimitFlags: windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
		},
	}
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		_ = windows.CloseHandle(job)
		return t
	}
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(cmd.Process.Pid))
	if err != nil {
		_ = windows.CloseHandle(job)
		return t
	}
	defer func() { _ = windows.CloseHandle(h) }()
	if err := windows.AssignProcessToJobObject(job, h); err != nil {
		_ = windows.CloseHandle(job)
		return t
	}
	t.job = job
	return t
}

// Terminate ends the tree: Windows has no SIGTERM for console programs
// started this way.
func (t *Tree) Terminate() { t.Kill() }

// Kill ends every process in the job.
func (t *Tree) Kill() {
	if t.job != 0 {
		_ = windows.TerminateJobObject(t.job, 1)
		return
	}
	_ = t.cmd.Process.Kill()
}

// Close releases the job without ending what is left of it. An action that
// ended by itself may have started something meant to outlive it (as on
// Unix, where only a timeout or an interrupt signals the group): lift
// kill-on-close first so closing the handle does not end it.
func (t *Tree) Close() {
	if t.job == 0 {
		return
	}
	var info windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
	_, _ = windows.SetInformationJobObject(t.job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)))
	_ = windows.CloseHandle(t.job)
	t.job = 0
}
