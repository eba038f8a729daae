package drain

import "time"

// Clock is the time the drain loop reads and waits on: the real clock by
// default (Plan.Clock nil), a fake one in tests, so that a test of the
// wait's timing runs in virtual time instead of sleeping.
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

type realClock struct{}

func (realClock) Now() time.Time                 { return time.Now() }
func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }

// clock is the Plan's clock, the real one when none is set.
func (p *Plan) clock() Clock {
	if p.Clock == nil {
		return realClock{}
	}
	return p.Clock
}
