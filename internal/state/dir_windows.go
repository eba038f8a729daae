//go:build windows

package state

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
)

// machineDirSDDL: SYSTEM and Administrators have full control, other
// signed-in accounts may read (drain status) but not write: a record says
// which file to rename back, so a plain user must not be able to plant one.
// P: inherited entries from %ProgramData% (which lets Users create files)
// are blocked. O:BA: owned by Administrators, not by whoever created it
// (on SKUs where the creator owns what it creates, an administrator's own
// account would own it, and a later run as SYSTEM or another administrator
// would refuse it; an elevated token may name Administrators as owner).
const machineDirSDDL = "O:BAD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;AU)"

// isAdmin: an elevated process (an Administrator through UAC) or SYSTEM.
var isAdmin = func() bool {
	tok := windows.GetCurrentProcessToken()
	if tok.IsElevated() {
		return true
	}
	for _, t := range []windows.WELL_KNOWN_SID_TYPE{windows.WinLocalSystemSid, windows.WinBuiltinAdministratorsSid} {
		sid, err := windows.CreateWellKnownSid(t)
		if err != nil {
			continue
		}
		if ok, err := windows.Token(0).IsMember(sid); err == nil && ok {
			return true
		}
	}
	return false
}

// serviceAccountDirs are the per-user directories of the built-in service
// accounts that pipeline agents (Azure Pipelines, Octopus Tentacle) run as.
// Only administrators and those accounts can write there.
func serviceAccountDirs() []string {
	win, err := windows.GetSystemWindowsDirectory()
	if err != nil {
		return nil
	}
	var dirs []string
	for _, d := range []string{
		filepath.Join(win, "ServiceProfiles", "NetworkService", "AppData", "Local", "drain"),
		filepath.Join(win, "ServiceProfiles", "LocalService", "AppData", "Local", "drain"),
		filepath.Join(win, "System32", "config", "systemprofile", "AppData", "Local", "drain"),
	} {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// makeMachineDir creates dir with machineDirSDDL (its parent, %ProgramData%,
// exists; under a test override it is made with default rights). A
// directory that exists, also one that appeared between the caller's check
// and CreateDirectory (a user may create it in between), is used only if
// its owner is trusted.
func makeMachineDir(dir string) error {
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return trustedDir(dir, fi)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	sd, err := windows.SecurityDescriptorFromString(machineDirSDDL)
	if err != nil {
		return err
	}
	sa := windows.SecurityAttributes{SecurityDescriptor: sd}
	sa.Length = uint32(unsafe.Sizeof(sa))
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return err
	}
	err = windows.CreateDirectory(p, &sa)
	if errors.Is(err, windows.ERROR_INVALID_OWNER) {
		// A token that may not name Administrators as owner: the DACL
		// alone, owned by this (administrator's) account.
		if sd, err = windows.SecurityDescriptorFromString(strings.TrimPrefix(machineDirSDDL, "O:BA")); err != nil {
			return err
		}
		sa.SecurityDescriptor = sd
		err = windows.CreateDirectory(p, &sa)
	}
	if err != nil && !errors.Is(err, windows.ERROR_ALREADY_EXISTS) {
		return err
	}
	return trustedDir(dir, nil)
}

// trustedDir: owned by Administrators or SYSTEM (or by this account, when it
// is an administrator). A directory a plain user created first would be
// theirs, with whatever rights they chose.
func trustedDir(dir string, _ fs.FileInfo) error {
	sd, err := windows.GetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return &UnsafeDirError{Dir: dir, Why: "cannot be checked: " + err.Error(), Fix: "set --state-dir"}
	}
	owner, _, err := sd.Owner()
	if err != nil || owner == nil {
		return &UnsafeDirError{Dir: dir, Why: "has no owner", Fix: "remove it (an administrator's next drain recreates it), or set --state-dir"}
	}
	if owner.IsWellKnown(windows.WinBuiltinAdministratorsSid) || owner.IsWellKnown(windows.WinLocalSystemSid) {
		return nil
	}
	if isAdmin() {
		if u, err := windows.GetCurrentProcessToken().GetTokenUser(); err == nil && owner.Equals(u.User.Sid) {
			return nil
		}
	}
	name := owner.String()
	if acct, dom, _, err := owner.LookupAccount(""); err == nil {
		name = dom + `\` + acct
	}
	return &UnsafeDirError{
		Dir: dir, Why: "is owned by " + name + ", not Administrators or SYSTEM",
		Fix: "remove it (an administrator's next drain recreates it with the right permissions), or set --state-dir",
	}
}
