package rotation

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/drain-cli/drain/internal/state"
)

// Multi rotates through several methods at once (a keep-alive page and an
// HAProxy API, say). It is all-or-nothing: if one Out fails, the methods
// already changed are put back, newest first. One record covers all.
type Multi []Rotator

// Target implements Rotator.
func (m Multi) Target() string {
	parts := make([]string, len(m))
	for i, r := range m {
		parts[i] = r.Target()
	}
	return joinTargets(parts)
}

// LegacyTarget is the key earlier releases used.
func (m Multi) LegacyTarget() string {
	parts := make([]string, len(m))
	for i, r := range m {
		parts[i] = legacyTarget(r)
	}
	return joinTargets(parts)
}

// Status implements Rotator: the common state, or an error when the methods
// disagree.
func (m Multi) Status(ctx context.Context) (Status, error) {
	var sts []string
	var common Status
	same := true
	for i, r := range m {
		st, err := r.Status(ctx)
		if err != nil {
			return Unknown, err
		}
		sts = append(sts, fmt.Sprintf("%s %s", r.Target(), st))
		if i == 0 {
			common = st
		} else if st != common {
			same = false
		}
	}
	if !same {
		return Unknown, fmt.Errorf("%w: %s", ErrMixed, strings.Join(sts, ", "))
	}
	return common, nil
}

// Out implements Rotator.
func (m Multi) Out(ctx context.Context, rec *state.Record, save func(*state.Record) error) (bool, error) {
	// Read every method first: one that cannot be read fails the run
	// before anything changes.
	for _, r := range m {
		if _, err := r.Status(ctx); err != nil && !errors.Is(err, ErrMixed) {
			return false, err
		}
	}
	target := m.Target()
	save2 := func(r *state.Record) error {
		r.Target = target
		return save(r)
	}
	var done []Rotator
	anyChanged := false
	for _, r := range m {
		changed, err := r.Out(ctx, rec, save2)
		rec.Target = target
		if err != nil {
			return false, m.rollback(ctx, done, rec, err)
		}
		if changed {
			done = append(done, r)
			anyChanged = true
		}
	}
	return anyChanged, nil
}

func (m Multi) rollback(ctx context.Context, done []Rotator, rec *state.Record, cause error) error {
	if len(done) == 0 {
		return cause
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	var msgs []string
	failed := false
	for i := len(done) - 1; i >= 0; i-- {
		if _, err := done[i].In(ctx, rec); err != nil {
			failed = true
			msgs = append(msgs, fmt.Sprintf("%s: %v", done[i].Target(), err))
		} else {
			msgs = append(msgs, done[i].Target())
		}
	}
	if failed {
		return fmt.Errorf("%w; ROLLBACK FAILED: %s", cause, strings.Join(msgs, "; "))
	}
	return fmt.Errorf("%w; put back %s", cause, strings.Join(msgs, ", "))
}

// In implements Rotator: every method is put back (newest first) even when
// one fails; the error names each failure.
func (m Multi) In(ctx context.Context, rec *state.Record) (bool, error) {
	anyChanged := false
	var errs joinedErrs
	for i := len(m) - 1; i >= 0; i-- {
		changed, err := m[i].In(ctx, rec)
		if err != nil {
			errs = append(errs, err)
		}
		anyChanged = anyChanged || changed
	}
	if len(errs) > 0 {
		return anyChanged, errs
	}
	return anyChanged, nil
}

// joinedErrs is one line for several errors, each still matched by
// errors.Is (ErrConfig, ErrPageChanged).
type joinedErrs []error

func (j joinedErrs) Error() string {
	msgs := make([]string, len(j))
	for i, err := range j {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; ")
}

func (j joinedErrs) Unwrap() []error { return j }
