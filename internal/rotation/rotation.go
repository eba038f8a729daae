// Package rotation takes a server out of load-balancer rotation and puts it
// back. Each method (keep-alive file, load-balancer API, ...) is one file
// implementing Rotator.
package rotation

import (
	"context"
	"errors"

	"github.com/drain-cli/drain/internal/state"
)

// Status is where a server stands in rotation.
type Status string

// Rotation states.
const (
	In      Status = "IN"
	Out     Status = "OUT"
	Unknown Status = "UNKNOWN"
)

// Rotator changes and reports rotation for one target.
type Rotator interface {
	// Target identifies what is rotated (state is keyed by it).
	Target() string
	// Status reads the current state. An error means it cannot be told, or
	// the target is in a state drain did not make (e.g. the page is missing).
	// With an error the status is still IN or OUT when that much is known
	// (a missing page is OUT: the probe gets 404; a page present next to
	// its disabled name is IN), else Unknown.
	Status(ctx context.Context) (Status, error)
	// Out takes the server out of rotation. It fills rec with what it will
	// change and calls save before changing anything, so a crash at any
	// point leaves a record that In can undo. changed is false when the
	// server was already out.
	Out(ctx context.Context, rec *state.Record, save func(*state.Record) error) (changed bool, err error)
	// In puts the server back, undoing what rec says Out changed (rec may be
	// nil when there is no record). changed is false when it was already in.
	In(ctx context.Context, rec *state.Record) (changed bool, err error)
}

// ErrConfig marks a rotation target that is misconfigured or in a state
// drain cannot act on; nothing was changed.
var ErrConfig = errors.New("rotation")

// ErrMixed marks a Status error where the parts of a target (HAProxy
// instances, rotation methods) disagree; Out can still complete the change.
var ErrMixed = errors.New("mixed rotation state")
