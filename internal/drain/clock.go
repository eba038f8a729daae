package drain

import (
	"context"
	"time"

	"github.com/drain-cli/drain/internal/clock"
)

// Clock is the time the drain loop reads and waits on (internal/clock):
// the real clock by default (Plan.Clock nil), a fake one in tests, so that
// a test of the wait's timing runs in virtual time instead of sleeping.
type Clock = clock.Clock

// Timer is a Clock's one-shot timer.
type Timer = clock.Timer

// clock is the Plan's clock, the real one when none is set.
func (p *Plan) clock() Clock { return clock.Or(p.Clock) }

// WaitStartOn is WaitStart read on c: when the run began waiting for a
// turn, c's now when not said (a Gate with its own clock, used alone).
func WaitStartOn(ctx context.Context, c Clock) time.Time {
	if t, ok := ctx.Value(waitStartKey{}).(time.Time); ok {
		return t
	}
	return clock.Or(c).Now()
}
