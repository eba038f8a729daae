//go:build windows

package state

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/windows"
)

// openFile opens path with FILE_FLAG_OPEN_REPARSE_POINT: a symbolic link
// or junction put in its place is opened itself, not followed, and
// checkOpened refuses it. With create, a missing file is created
// (OPEN_ALWAYS) with the directory's inherited rights; perm does not apply.
func openFile(path string, write, create bool, _ fs.FileMode) (*os.File, error) {
	name, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, err
	}
	access := uint32(windows.GENERIC_READ)
	if write {
		access |= windows.GENERIC_WRITE
	}
	disp := uint32(windows.OPEN_EXISTING)
	if create {
		disp = windows.OPEN_ALWAYS
	}
	// Delete sharing: a record read now can still be replaced by a rename.
	h, err := windows.CreateFile(name, access,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, disp, windows.FILE_ATTRIBUTE_NORMAL|windows.FILE_FLAG_OPEN_REPARSE_POINT|windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}

func isReparse(fi fs.FileInfo) bool {
	if d, ok := fi.Sys().(*syscall.Win32FileAttributeData); ok {
		return d.FileAttributes&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0
	}
	return false
}

// fileFacts is what checkOpened needs to know of an open file.
type fileFacts struct {
	kind      string // empty for a regular file
	links     uint64
	untrusted string // who wrote it, when that is not an administrator or this account
	fix       string
}

func factsOf(f *os.File) (fileFacts, error) {
	h := windows.Handle(f.Fd())
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &info); err != nil {
		return fileFacts{}, err
	}
	var ff fileFacts
	switch {
	case info.FileAttributes&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0:
		ff.kind = "a symbolic link or junction (a reparse point)"
	case info.FileAttributes&windows.FILE_ATTRIBUTE_DIRECTORY != 0:
		ff.kind = "a directory"
	default:
		if t, err := windows.GetFileType(h); err == nil && t != windows.FILE_TYPE_DISK {
			ff.kind = "a special file"
		}
	}
	ff.links = uint64(info.NumberOfLinks)
	if who := untrustedOwner(h); who != "" {
		ff.untrusted = who + ", not by Administrators, SYSTEM or this account"
		ff.fix = "an administrator acts only on records an administrator wrote; run this drain as that account, or, if you trust the record, takeown /A /F " + f.Name()
	}
	return ff, nil
}

// untrustedOwner names the file's owner when it is not Administrators,
// SYSTEM or this account; "" when it is one of them. An owner that cannot
// be read is untrusted.
func untrustedOwner(h windows.Handle) string {
	sd, err := windows.GetSecurityInfo(h, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Sprintf("an owner that cannot be read (%v)", err)
	}
	owner, _, err := sd.Owner()
	if err != nil || owner == nil {
		return "no owner"
	}
	if owner.IsWellKnown(windows.WinBuiltinAdministratorsSid) || owner.IsWellKnown(windows.WinLocalSystemSid) {
		return ""
	}
	if u, err := windows.GetCurrentProcessToken().GetTokenUser(); err == nil && owner.Equals(u.User.Sid) {
		return ""
	}
	name := owner.String()
	if acct, dom, _, err := owner.LookupAccount(""); err == nil {
		name = dom + `\` + acct
	}
	return name
}

// sharedWithoutSticky: Windows has no sticky bit; who may delete or replace
// a file is in the directory's ACL (see docs/reliability.md).
func sharedWithoutSticky(fs.FileInfo) bool { return false }
