// Package drain is the algorithm: out of rotation -> wait until the sources
// are quiet (and the load balancer has noticed) -> run the action. It knows
// no command line and no terminal; it takes plain values and emits events.
package drain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/drain-cli/drain/internal/action"
	"github.com/drain-cli/drain/internal/rotation"
	"github.com/drain-cli/drain/internal/source"
	"github.com/drain-cli/drain/internal/state"
)

// Exit codes, documented in --help and the README.
const (
	ExitOK          = 0
	ExitError       = 1
	ExitUsage       = 2
	ExitTimeout     = 3
	ExitAction      = 4
	ExitInterrupted = 130
)

// Watch is one source and the value at or below which it counts as quiet.
type Watch struct {
	Name      string // the spec, shown as each reading's source
	Label     string // the short name, each reading's name
	Source    source.Source
	Threshold float64
}

// Plan is everything a run needs. A nil Rotator means no rotation change
// (drain wait); a nil Action means nothing to run.
type Plan struct {
	Rotator *rotation.Set
	Store   state.Store
	Reason  string
	Verify  *Verifier

	Sources  []Watch
	Interval time.Duration // poll period
	Settle   time.Duration // every source quiet this long, continuously
	Timeout  time.Duration // 0: no limit
	LBGrace  time.Duration // minimum time out of rotation

	// Probed says the load balancer learns of the change only by probing
	// (a keep-alive page), not at once (HAProxy's runtime API).
	Probed bool

	Force   bool // on timeout run the action anyway
	KeepOut bool // on failure or interrupt leave the server out

	Action               action.Action
	ActionOut, ActionErr io.Writer

	// InFlight, when set, lists the requests still executing (IIS). It is
	// called only when a wait is slow and at the timeout, to show what the
	// drain is waiting for.
	InFlight func(ctx context.Context) ([]Request, error)
	// PreAction, when set, is asked just before the action runs; a non-empty
	// answer is shown as a warning (InProc sessions a recycle will drop).
	PreAction func(ctx context.Context) string

	DryRun bool
	Emit   func(Event)

	inFlightWarned bool
	outStatus      rotation.Status // how rotation looked right after out
}

// Outcome is how a command ended: the result event, the exit code and where
// the server stands.
type Outcome struct {
	Result   string
	Code     int
	Rotation rotation.Status
	Err      error
	Hint     string // what to do about Err, shown under it
	// Unchanged says this command changed nothing (a usage error, a lock
	// held by another drain): Rotation is as it was, or UNKNOWN if unread.
	Unchanged bool
}

func (p *Plan) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if p.Emit != nil {
		p.Emit(e)
	}
}

// Run does the whole job: out, wait, act. Every return path says where the
// server stands: it is put back unless the action ran (or may have run), it
// was already out before this run, or KeepOut asks otherwise.
func (p *Plan) Run(ctx context.Context) Outcome {
	if p.DryRun {
		return p.dryRun(ctx)
	}
	if oc := p.notStarted(ctx); oc != nil {
		return *oc
	}
	rec, changed, oc := p.out(ctx, "run")
	if oc != nil {
		return *oc
	}
	outAt := time.Now()
	p.setPhase(rec, state.PhaseWaiting, "")
	if changed && p.Probed && p.LBGrace == 0 && p.Verify == nil {
		p.emit(Event{Event: EvWarning, Message: "--lb-grace is 0 and there is no --verify-url: the load balancer sends requests until its probe has failed (interval x fall, e.g. 6s for HAProxy inter 2s fall 3), so a zero counter before then proves nothing; set --lb-grace to that time, or --verify-url to the URL it probes"})
	}

	drained, why, err := p.wait(ctx, outAt)
	switch {
	case errors.Is(err, context.Canceled):
		return p.restore(rec, changed, Outcome{Result: ResultInterrupted, Code: ExitInterrupted, Err: interrupted(ctx, "while waiting")})
	case err != nil:
		return p.restore(rec, changed, Outcome{Result: ResultError, Code: ExitError, Err: err})
	case !drained && !p.Force:
		return p.restore(rec, changed, Outcome{Result: ResultTimeout, Code: ExitTimeout, Err: errors.New(why)})
	}
	result := ResultDrained
	if !drained {
		result = ResultForced
		p.emit(Event{Event: EvWarning, Message: fmt.Sprintf("NOT DRAINED after %s: running the action anyway (--on-timeout force); in-flight requests may be cut", p.Timeout)})
	}
	if ctx.Err() != nil { // a signal between the last poll and now
		return p.restore(rec, changed, Outcome{Result: ResultInterrupted, Code: ExitInterrupted, Err: interrupted(ctx, "before the action")})
	}
	if oc := p.stillOut(ctx, rec); oc != nil {
		return *oc
	}
	if p.Action == nil {
		p.setPhase(rec, state.PhaseDone, result)
		return Outcome{Result: result, Code: ExitOK, Rotation: rotation.Out}
	}
	p.setPhase(rec, state.PhaseAction, "")
	oc2 := p.runAction(ctx)
	if oc2.Code == ExitOK {
		oc2.Result = result
	}
	phase := state.PhaseDone
	if oc2.Code == ExitInterrupted {
		phase = state.PhaseAction // stopped halfway: the record says so
	}
	p.setPhase(rec, phase, oc2.Result)
	oc2.Rotation = rotation.Out // the action ran or may have run: never put back by surprise
	return oc2
}

// Wait waits until drained without changing rotation (drain wait).
func (p *Plan) Wait(ctx context.Context) Outcome {
	drained, why, err := p.wait(ctx, time.Now())
	switch {
	case errors.Is(err, context.Canceled):
		return Outcome{Result: ResultInterrupted, Code: ExitInterrupted, Err: interrupted(ctx, "while waiting")}
	case err != nil:
		return Outcome{Result: ResultError, Code: ExitError, Err: err}
	case !drained:
		return Outcome{Result: ResultTimeout, Code: ExitTimeout, Err: errors.New(why)}
	}
	return Outcome{Result: ResultDrained, Code: ExitOK}
}

// wait polls until the drain condition holds (true), the timeout passes
// (false, with the timeout message saying what still blocked) or ctx ends
// (its error). Drained means: LBGrace has passed since
// outAt, the verify URL (if any) no longer answers 2xx, and every source has
// been known and at/below its threshold for the whole Settle window.
func (p *Plan) wait(ctx context.Context, outAt time.Time) (bool, string, error) {
	var deadline time.Time
	if p.Timeout > 0 {
		deadline = outAt.Add(p.Timeout)
	}
	var quietSince, listedAt time.Time
	verified := p.Verify == nil
	for {
		readCtx, cancelRead := readContext(ctx, deadline)
		readings := p.poll(readCtx)
		if ctx.Err() != nil {
			cancelRead()
			return false, "", ctx.Err()
		}
		var blocking []string
		if !verified {
			ok, why := p.Verify.Gone(readCtx)
			if ok {
				verified = true
				p.emit(Event{Event: EvVerify, Message: why})
			} else {
				blocking = append(blocking, why)
			}
		}
		cancelRead()
		now := time.Now() // after the reads: they may have taken a while
		for _, r := range readings {
			if !r.OK {
				blocking = append(blocking, r.Source)
			}
		}
		if len(blocking) == 0 {
			if quietSince.IsZero() {
				quietSince = now
			}
		} else {
			quietSince = time.Time{}
		}
		graceLeft := p.LBGrace - now.Sub(outAt)
		settleLeft := p.Settle
		if !quietSince.IsZero() {
			settleLeft -= now.Sub(quietSince)
		}
		if len(blocking) == 0 && graceLeft > 0 {
			blocking = append(blocking, fmt.Sprintf("lb-grace (%s left)", graceLeft.Round(100*time.Millisecond)))
		}
		if len(blocking) == 0 && settleLeft > 0 {
			blocking = append(blocking, fmt.Sprintf("settle (%s left)", settleLeft.Round(100*time.Millisecond)))
		}
		timedOut := len(blocking) > 0 && !deadline.IsZero() && !now.Before(deadline)
		var reqs []Request
		var nReqs int
		if p.InFlight != nil && len(blocking) > 0 &&
			(timedOut || now.Sub(outAt) >= SlowWait && now.Sub(listedAt) >= SlowWaitEvery) {
			reqs, nReqs = p.listInFlight(ctx)
			listedAt = now
		}
		ev := Event{Event: EvPoll, Sources: readings, Blocking: blocking, Elapsed: secs(now.Sub(outAt)), Requests: reqs, RequestCount: nReqs}
		if !deadline.IsZero() {
			ev.Remaining = secsPtr(max(deadline.Sub(now), 0))
		}
		if !quietSince.IsZero() {
			ev.QuietFor = secsPtr(now.Sub(quietSince))
		}
		p.emit(ev)
		if len(blocking) == 0 {
			p.emit(Event{Event: EvDrained, Elapsed: secs(now.Sub(outAt)), Message: "every source quiet", Sources: readings})
			return true, "", nil
		}
		if timedOut {
			why := notDrained(p.Timeout, explain(blocking, readings), reqs)
			p.emit(Event{
				Event: EvTimeout, Elapsed: secs(now.Sub(outAt)), Blocking: blocking, Sources: readings,
				Message: why, Requests: reqs, RequestCount: nReqs,
			})
			return false, why, nil
		}
		// Poll again after one interval, or sooner when the grace or settle
		// window ends first, so the action starts as soon as it may.
		next := now.Add(p.Interval)
		if !quietSince.IsZero() {
			if t := now.Add(max(graceLeft, settleLeft)); t.Before(next) {
				next = t
			}
		}
		if !deadline.IsZero() && deadline.Before(next) {
			next = deadline
		}
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return false, "", ctx.Err()
		case <-t.C:
		}
	}
}

// notStarted ends a command interrupted before it changed anything (a
// signal while it was starting).
func (p *Plan) notStarted(ctx context.Context) *Outcome {
	if ctx.Err() == nil {
		return nil
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	return &Outcome{Result: ResultInterrupted, Code: ExitInterrupted, Rotation: p.status(sctx), Unchanged: true, Err: interrupted(ctx, "before anything changed")}
}

// interrupted is the error of a command ended by ctx, naming the signal when
// the CLI gave it as the cancel cause: "interrupted by SIGHUP while waiting".
func interrupted(ctx context.Context, when string) error {
	if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) && !errors.Is(c, context.DeadlineExceeded) {
		return fmt.Errorf("interrupted by %w %s", c, when)
	}
	return errors.New("interrupted " + when)
}

// FinalReadGrace is the least time a poll's reads get, even at the
// deadline: the last poll is scheduled for the deadline (and a coarse clock,
// as on Windows, may read it a hair early), and the timeout message needs
// its values.
var FinalReadGrace = time.Second

// readContext bounds one poll's reads by the run's deadline as well as by
// each source's --read-timeout, so that a hanging source cannot stretch the
// wait past --timeout (by more than FinalReadGrace).
func readContext(ctx context.Context, deadline time.Time) (context.Context, context.CancelFunc) {
	if deadline.IsZero() {
		return ctx, func() {}
	}
	if least := time.Now().Add(FinalReadGrace); deadline.Before(least) {
		deadline = least
	}
	return context.WithDeadline(ctx, deadline)
}

// poll reads every source at once; an error makes that source unknown.
func (p *Plan) poll(ctx context.Context) []Reading {
	out := make([]Reading, len(p.Sources))
	var wg sync.WaitGroup
	for i, w := range p.Sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = read(ctx, w)
		}()
	}
	wg.Wait()
	return out
}

func read(ctx context.Context, w Watch) Reading {
	r := Reading{Source: w.Name, Name: w.Label, Threshold: w.Threshold}
	v, err := w.Source.Read(ctx)
	if err != nil {
		r.Error = err.Error()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			r.Error = "no answer before the --timeout deadline"
		}
		return r
	}
	r.Value = &v
	r.OK = v <= w.Threshold
	if n, ok := w.Source.(source.Noter); ok {
		r.Note = n.Note()
	}
	return r
}

// Poll reads every source once (drain status, dry runs).
func (p *Plan) Poll(ctx context.Context) []Reading { return p.poll(ctx) }

func (p *Plan) runAction(ctx context.Context) Outcome {
	if p.PreAction != nil {
		if w := p.PreAction(ctx); w != "" {
			p.emit(Event{Event: EvWarning, Message: w})
		}
	}
	p.emit(Event{Event: EvAction, Action: p.Action.String(), Message: "started"})
	res, err := p.Action.Run(ctx, p.ActionOut, p.ActionErr)
	ev := Event{Event: EvAction, Action: p.Action.String(), ActionExit: intPtr(res.ExitCode), Elapsed: secs(res.Duration)}
	if err != nil {
		ev.Error = err.Error()
		if res.Tail != "" {
			ev.Message = res.Tail
		}
		p.emit(ev)
		if ctx.Err() != nil {
			return Outcome{Result: ResultInterrupted, Code: ExitInterrupted, Err: fmt.Errorf("%w: %w", interrupted(ctx, "during the action"), err)}
		}
		return Outcome{Result: ResultActionFail, Code: ExitAction, Err: err}
	}
	ev.Message = "finished"
	p.emit(ev)
	return Outcome{Result: ResultDrained, Code: ExitOK}
}
