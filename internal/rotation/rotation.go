// Package rotation takes a server out of load-balancer rotation and puts it
// back. Each method (keep-alive file, load-balancer API, ...) is one file
// implementing Method and registering its type (method.go); a Set combines
// the methods of a run, all or nothing, and records.go keeps their undo data
// in state records.
package rotation

import (
	"errors"

	"github.com/drain-cli/drain/internal/usage"
)

// Status is where a server stands in rotation.
type Status string

// Rotation states.
const (
	In      Status = "IN"
	Out     Status = "OUT"
	Unknown Status = "UNKNOWN"
)

// ErrConfig marks a rotation target that is misconfigured or in a state
// drain cannot act on; nothing was changed. It is usage.Err: every usage
// error of a method is a *usage.Error, and errors.Is matches either name.
var ErrConfig = usage.Err

// configErrorf is fmt.Errorf (with %w) for a usage error of a method: a
// *usage.Error whose text is the whole message, as the user sees it. Spec.New
// gives it the type's hint when the method gave none.
func configErrorf(format string, a ...any) error {
	return usage.Errorf(format, a...)
}

// ErrMixed marks a Status error where the parts of a target (HAProxy
// instances, rotation methods) disagree; Out can still complete the change.
var ErrMixed = errors.New("mixed rotation state")

// joinErrs joins errs on one line; nil when there is none.
func joinErrs(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return joinedErrs(errs)
}
