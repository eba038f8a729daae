// Package clock is the time drain reads and waits on, injected so that a
// test of a wait's timing (the drain loop, the budget's turn, a lock's
// retries) runs in virtual time instead of sleeping: the real clock in the
// program, a fake one (internal/clock/clocktest) in tests.
package clock

import (
	"context"
	"time"
)

// Clock is the time a wait reads and waits on.
type Clock interface {
	Now() time.Time
	// NewTimer fires once on its channel after d.
	NewTimer(d time.Duration) Timer
}

// Timer is a Clock's one-shot timer.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

// Real is the system clock.
type Real struct{}

// Now implements Clock.
func (Real) Now() time.Time { return time.Now() }

// NewTimer implements Clock.
func (Real) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }

// Or is c, or the real clock when c is nil (a field left unset).
func Or(c Clock) Clock {
	if c == nil {
		return Real{}
	}
	return c
}

// Sleep waits d on c, or until ctx ends: ctx's error then, nil after d.
func Sleep(ctx context.Context, c Clock, d time.Duration) error {
	t := Or(c).NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}

// WithTimeout is context.WithTimeout on c: the context ends after d of c's
// time. On a clock other than the real one its Err is context.Canceled
// (context.Cause says context.DeadlineExceeded).
func WithTimeout(ctx context.Context, c Clock, d time.Duration) (context.Context, context.CancelFunc) {
	c = Or(c)
	if _, ok := c.(Real); ok {
		return context.WithTimeout(ctx, d)
	}
	cctx, cancel := context.WithCancelCause(ctx)
	t := c.NewTimer(d)
	go func() {
		defer t.Stop()
		select {
		case <-t.C():
			cancel(context.DeadlineExceeded)
		case <-cctx.Done():
		}
	}()
	return cctx, func() { t.Stop(); cancel(context.Canceled) }
}
