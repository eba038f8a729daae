//go:build windows

package action

import (
	"os/exec"
	"unsafe"

	"golang.org/x/sys/windows"
)

// On Windows the action is put in a job object that kills every process in
// it when terminated, so children started by the action die with it.
func setupTree(cmd *exec.Cmd) {}

type tree struct {
	job windows.Handle
	cmd *exec.Cmd
}

func attachTree(cmd *exec.Cmd) *tree {
	t := &tree{cmd: cmd}
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

// Windows has no SIGTERM for console programs started this way: end the tree.
func (t *tree) terminate() { t.kill() }

func (t *tree) kill() {
	if t.job != 0 {
		_ = windows.TerminateJobObject(t.job, 1)
		return
	}
	_ = t.cmd.Process.Kill()
}

// close releases the job. An action that ended by itself may have started
// something meant to outlive it (as on Unix, where only a timeout or an
// interrupt signals the group): lift kill-on-close first so closing the
// handle does not end it.
func (t *tree) close() {
	if t.job == 0 {
		return
	}
	var info windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
	_, _ = windows.SetInformationJobObject(t.job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)))
	_ = windows.CloseHandle(t.job)
	t.job = 0
}
