package drain

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/drain-cli/drain/internal/source"
)

// What a slow or failed wait reports: what still blocks it, and (on IIS)
// the longest requests in flight.

// Knobs are the algorithm's fixed timings. A zero field takes its default
// (DefaultKnobs); the CLI leaves them zero, tests set their own, so that
// none is a package variable a test must overwrite and put back.
type Knobs struct {
	// When a wait is slow: after SlowWait, the requests in flight are
	// listed every SlowWaitEvery (and always at the timeout), the
	// ListLongest longest of them.
	SlowWait, SlowWaitEvery time.Duration
	ListLongest             int
	// RestoreTimeout bounds putting the server back after an interrupt,
	// and the status read after a failed restore takes at most a second
	// more: both stay inside the few seconds a CI runner or Windows gives
	// after a signal.
	RestoreTimeout time.Duration
	// FinalReadGrace is the least time a poll's reads get, even at the
	// deadline: the last poll is scheduled for the deadline (and a coarse
	// clock, as on Windows, may read it a hair early), and the timeout
	// message needs its values.
	FinalReadGrace time.Duration
}

// DefaultKnobs are the timings a zero Knobs field takes.
var DefaultKnobs = Knobs{SlowWait: 15 * time.Second, SlowWaitEvery: 10 * time.Second, ListLongest: 5, RestoreTimeout: 3 * time.Second, FinalReadGrace: time.Second}

// knobs is the Plan's Knobs with each zero field at its default.
func (p *Plan) knobs() Knobs {
	k, d := p.Knobs, DefaultKnobs
	if k.SlowWait <= 0 {
		k.SlowWait = d.SlowWait
	}
	if k.SlowWaitEvery <= 0 {
		k.SlowWaitEvery = d.SlowWaitEvery
	}
	if k.ListLongest <= 0 {
		k.ListLongest = d.ListLongest
	}
	if k.RestoreTimeout <= 0 {
		k.RestoreTimeout = d.RestoreTimeout
	}
	if k.FinalReadGrace <= 0 {
		k.FinalReadGrace = d.FinalReadGrace
	}
	return k
}

// explain says what blocked the drain, with each busy or unknown source's
// value or error: the message of a timeout.
func explain(blocking []string, readings []Reading) string {
	why := make([]string, 0, len(blocking))
	for _, b := range blocking {
		detail := b
		for _, r := range readings {
			switch {
			case r.Source != b:
			case r.Value == nil:
				detail = fmt.Sprintf("%s unknown (%s)", b, r.Error)
			default:
				detail = fmt.Sprintf("%s=%v (threshold %v)", b, *r.Value, r.Threshold)
			}
		}
		why = append(why, detail)
	}
	return "still waiting on " + strings.Join(why, ", ")
}

// listers are the sources that can list the requests they count.
func (p *Plan) listers() []source.RequestLister {
	var out []source.RequestLister
	for _, w := range p.Sources {
		if l, ok := w.Source.(source.RequestLister); ok {
			out = append(out, l)
		}
	}
	return out
}

// ListsRequests tells whether any source can list its requests in flight.
func (p *Plan) ListsRequests() bool { return len(p.listers()) > 0 }

// InFlight lists the requests in flight of every source that can list them
// (a source.RequestLister), in source order.
func (p *Plan) InFlight(ctx context.Context) ([]Request, error) {
	var out []Request
	for _, l := range p.listers() {
		rs, err := l.Requests(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	return out, nil
}

// listInFlight returns the longest Knobs.ListLongest requests in flight and how
// many there are. A failure is shown once as a warning, never fails the wait.
func (p *run) listInFlight(ctx context.Context) ([]Request, int) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	reqs, err := p.InFlight(ctx)
	if err != nil {
		if !p.inFlightWarned && ctx.Err() == nil {
			p.inFlightWarned = true
			p.emit(Event{Event: EvWarning, Message: "cannot list the requests in flight: " + err.Error()})
		}
		return nil, 0
	}
	reqs = slices.Clone(reqs)
	slices.SortStableFunc(reqs, func(a, b Request) int { return cmp.Compare(b.Elapsed, a.Elapsed) })
	return reqs[:min(len(reqs), p.knobs().ListLongest)], len(reqs)
}

// notDrained is the timeout message: what still blocked, and the longest
// requests still running when they could be listed.
func notDrained(timeout time.Duration, why string, stuck []Request) string {
	msg := fmt.Sprintf("not drained within %s: %s", timeout, why)
	if len(stuck) == 0 {
		return msg
	}
	names := make([]string, len(stuck))
	for i, r := range stuck {
		names[i] = r.String()
	}
	return msg + "; still executing: " + strings.Join(names, ", ")
}
