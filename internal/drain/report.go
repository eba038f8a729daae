package drain

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// What a slow or failed wait reports: what still blocks it, and (on IIS)
// the longest requests in flight.

// When a wait is slow: after SlowWait, the requests in flight are listed
// every SlowWaitEvery (and always at the timeout).
var (
	SlowWait      = 15 * time.Second
	SlowWaitEvery = 10 * time.Second
	ListLongest   = 5
)

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

// listInFlight returns the longest ListLongest requests in flight and how
// many there are. A failure is shown once as a warning, never fails the wait.
func (p *Plan) listInFlight(ctx context.Context) ([]Request, int) {
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
	return reqs[:min(len(reqs), ListLongest)], len(reqs)
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
