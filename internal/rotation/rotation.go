// Package rotation takes a server out of load-balancer rotation and puts it
// back. Each method (keep-alive file, load-balancer API, ...) is one file
// implementing Method and registering its type (method.go); a Set combines
// the methods of a run, all or nothing, and records.go keeps their undo data
// in state records.
package rotation

import (
	"errors"
	"fmt"
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
// drain cannot act on; nothing was changed.
var ErrConfig = errors.New("rotation")

// configError is a usage error of a rotation method: an ErrConfig whose
// text is the whole message, as the user sees it (no "rotation:" for a
// caller to cut off).
type configError struct{ err error }

func (e configError) Error() string   { return e.err.Error() }
func (e configError) Unwrap() []error { return []error{ErrConfig, e.err} }

// configErrorf is fmt.Errorf (with %w) for a usage error: it is an
// ErrConfig.
func configErrorf(format string, a ...any) error {
	return configError{fmt.Errorf(format, a...)}
}

// ErrMixed marks a Status error where the parts of a target (HAProxy
// instances, rotation methods) disagree; Out can still complete the change.
var ErrMixed = errors.New("mixed rotation state")
