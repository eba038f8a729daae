// Package denied gives a permission error what to do about it: which
// account drain runs as, who owns the file, socket or directory it was
// denied and with which mode, and the fix (a group to join, a mode to set,
// --state-dir). It is made where the error is found (the keep-alive page,
// the HAProxy socket, the state directory); the hint travels beside the
// error's text (Hint), which it never changes.
package denied

import (
	"errors"
	"io/fs"
	"os/user"
	"strings"
)

// Error is a permission error with its hint.
type Error struct {
	Err  error
	hint string
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Hint says who was denied what, and how to fix it.
func (e *Error) Hint() string { return e.hint }

// Wrap returns err with a hint when it is a permission error (else err as
// it is). path is what to describe: the directory of a page that could not
// be renamed, the socket, the state directory. fix says what to do; in it
// GROUP stands for the name of path's group.
func Wrap(err error, path, fix string) error {
	if err == nil || !errors.Is(err, fs.ErrPermission) {
		return err
	}
	var de *Error
	if errors.As(err, &de) {
		return err // already says it
	}
	owner, group, mode := describe(path)
	var b strings.Builder
	if owner != "" {
		b.WriteString(path + " is owned by " + owner + ":" + group + " with mode " + mode + " and drain runs as " + me())
	} else { // Windows (ACLs), or it cannot be read
		b.WriteString("drain runs as " + me() + ", which may not use " + path)
	}
	if fix != "" {
		if group == "" {
			group = "(its group)"
		}
		b.WriteString(": " + strings.ReplaceAll(fix, "GROUP", group))
	}
	return &Error{Err: err, hint: b.String()}
}

// Is says whether err is a permission error.
func Is(err error) bool { return errors.Is(err, fs.ErrPermission) }

func me() string {
	u, err := user.Current()
	if err != nil || u.Username == "" {
		return "uid " + uid()
	}
	return u.Username
}
