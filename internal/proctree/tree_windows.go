//go:build windows

package proctree

import (
	"fmt"
	"os/exec"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Prepare makes the command start suspended: Attach puts it in a job object
// that kills every process in it when terminated, and only then resumes it,
// so a child started in its first instants cannot escape the job.
func Prepare(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.CreationFlags |= windows.CREATE_SUSPENDED
}

// Tree is a started command and every process it started: on Windows a job
// object that kills every process in it when terminated, so children die
// with the command.
type Tree struct {
	job windows.Handle
	cmd *exec.Cmd
}

var procNtResumeProcess = windows.NewLazySystemDLL("ntdll.dll").NewProc("NtResumeProcess")

// Attach puts the suspended cmd (see Prepare) in a new job object, then
// resumes it. If the job cannot be had (an outer job that forbids nesting),
// it says so on the command's stderr: a timeout or an interrupt then ends
// only the command's own process.
func Attach(cmd *exec.Cmd) *Tree {
	t := &Tree{cmd: cmd}
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE|windows.PROCESS_SUSPEND_RESUME, false, uint32(cmd.Process.Pid))
	if err != nil {
		t.warn(fmt.Errorf("open the process: %w", err))
		resumeThreads(uint32(cmd.Process.Pid))
		return t
	}
	defer func() { _ = windows.CloseHandle(h) }()
	if job, err := newKillJob(); err != nil {
		t.warn(err)
	} else if err := windows.AssignProcessToJobObject(job, h); err != nil {
		_ = windows.CloseHandle(job)
		t.warn(fmt.Errorf("assign it to a job object: %w (is drain itself in a job that forbids nesting?)", err))
	} else {
		t.job = job
	}
	if err := resume(h, uint32(cmd.Process.Pid)); err != nil {
		t.warn(fmt.Errorf("resume it: %w", err))
		_ = windows.TerminateProcess(h, 1) // never leave it suspended
	}
	return t
}

func newKillJob() (windows.Handle, error) {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return 0, fmt.Errorf("create a job object: %w", err)
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{
		BasicLimitInformation: windows.JOBOBJECT_BASIC_LIMIT_INFORMATION{
			LimitFlags: windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
		},
	}
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		_ = windows.CloseHandle(job)
		return 0, fmt.Errorf("set up a job object: %w", err)
	}
	return job, nil
}

// resume resumes the suspended process: NtResumeProcess, or else each of
// its threads (os/exec keeps no handle to the main thread).
func resume(h windows.Handle, pid uint32) error {
	if procNtResumeProcess.Find() == nil {
		if st, _, _ := procNtResumeProcess.Call(uintptr(h)); st == 0 {
			return nil
		}
	}
	if n := resumeThreads(pid); n == 0 {
		return fmt.Errorf("no thread of process %d could be resumed", pid)
	}
	return nil
}

// resumeThreads resumes every thread of process pid; it returns how many.
func resumeThreads(pid uint32) int {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPTHREAD, 0)
	if err != nil {
		return 0
	}
	defer func() { _ = windows.CloseHandle(snap) }()
	n := 0
	te := windows.ThreadEntry32{Size: uint32(unsafe.Sizeof(windows.ThreadEntry32{}))}
	for err := windows.Thread32First(snap, &te); err == nil; err = windows.Thread32Next(snap, &te) {
		if te.OwnerProcessID != pid {
			continue
		}
		th, err := windows.OpenThread(windows.THREAD_SUSPEND_RESUME, false, te.ThreadID)
		if err != nil {
			continue
		}
		if _, err := windows.ResumeThread(th); err == nil {
			n++
		}
		_ = windows.CloseHandle(th)
	}
	return n
}

func (t *Tree) warn(err error) {
	if t.cmd.Stderr != nil {
		fmt.Fprintf(t.cmd.Stderr, "drain: %s runs outside a job object (%v): a timeout or an interrupt ends only its own process, not what it started\n", t.cmd.Path, err)
	}
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
