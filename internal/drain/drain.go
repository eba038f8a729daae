// Package drain is the algorithm: out of rotation -> wait until the sources
// are quiet (and the load balancer has noticed) -> run the action. It knows
// no command line and no terminal; it takes plain values and emits events.
package drain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/drain-cli/drain/internal/action"
	"github.com/drain-cli/drain/internal/rotation"
	"github.com/drain-cli/drain/internal/source"
	"github.com/drain-cli/drain/internal/state"
)

// Exit codes, documented in --help and the README. The algorithm does not
// choose them: it says how a command ended (Outcome), and the CLI maps that
// to a code in one place (internal/cli/exitcode.go).
const (
	ExitOK          = 0
	ExitError       = 1
	ExitUsage       = 2
	ExitTimeout     = 3
	ExitAction      = 4
	ExitRefused     = 5 // the disruption budget refused; nothing changed
	ExitInterrupted = 130
)

// Watch is one source and the value at or below which it counts as quiet.
type Watch struct {
	Name      string // the spec, shown as each reading's source
	Label     string // the short name, each reading's name
	Source    source.Source
	Threshold float64
	// Seen says the balancer this source counts at (a source.BalancerSide)
	// is among the views the run reads (an haproxy: source on the runtime
	// API is its own view). A balancer-side source not seen is another
	// balancer, maybe still sending: the grace and the settle window stay.
	Seen bool
}

// Plan is everything a run needs, as settings only: a run never changes it,
// so one Plan can be run many times, at once too (once per server of a
// pool). A nil Rotator means no rotation change (drain wait); a nil Action
// means nothing to run.
//
// What a source or an action can do beyond the basics is found by type
// assertion: a source.RequestLister lists the requests a slow wait waits
// for, an action.Warner warns just before the action runs.
type Plan struct {
	Rotator *rotation.Set
	Store   state.Store
	Reason  string
	Verify  *Verifier
	// Gate, when set, is asked before the server leaves rotation (the
	// disruption budget and the pool lock); nil: no budget.
	Gate Gate
	// PoolViews are pools named on their own (--pool), only read: in
	// --wait-healthy waits until each has the server up (backin.go), as it
	// does for rotation methods that read their pool.
	PoolViews []rotation.PoolView

	Sources []Watch
	// AllowUnread are sources (by Watch.Name) that may be unreadable
	// before run takes the server out: they answer only once it is out.
	// Any other source that cannot be read then stops the run, nothing
	// changed.
	AllowUnread []string

	Interval time.Duration // poll period
	Settle   time.Duration // every source quiet this long, continuously
	// IntervalAuto: --interval was not given, so Interval is the slowest
	// poll period: near the end the wait polls every FastInterval.
	IntervalAuto bool
	// SettleAuto: --settle was not given, so Settle is the window used
	// where drain cannot see the balancer stop sending: 0 where it can
	// (blocking_lb.go).
	SettleAuto bool
	// Clock is the time of the wait loop; nil: the real clock.
	Clock Clock
	// Knobs are the fixed timings (zero: DefaultKnobs).
	Knobs   Knobs
	Timeout time.Duration // 0: no limit
	LBGrace time.Duration // minimum time out of rotation

	// Probed says the load balancer learns of the change only by probing
	// (a keep-alive page), not at once (HAProxy's runtime API).
	Probed bool

	Force   bool // on timeout run the action anyway
	KeepOut bool // on failure or interrupt leave the server out

	// WarmUp are URLs drain in requests until each answers 2xx
	// WarmUpCount times, before the server goes back (backin.go), with
	// Client.
	WarmUp      []string
	WarmUpCount int
	Client      *http.Client

	Action               action.Action
	ActionOut, ActionErr io.Writer

	DryRun bool
}

// run is one execution of a Plan: where its events go and what it learns on
// the way. Each run has its own, so runs of one Plan never share state.
type run struct {
	*Plan
	emitFn func(Event)

	inFlightWarned bool
	outStatus      rotation.Status // how rotation looked right after out
}

// start begins a run whose events go to emit (nil: nowhere).
func (p *Plan) start(emit func(Event)) *run { return &run{Plan: p, emitFn: emit} }

// Outcome is how a command ended: the result, the kind of error and where
// the server stands. The CLI maps it to an exit code (internal/cli/exitcode.go).
type Outcome struct {
	Result   string
	Rotation rotation.Status
	Err      error
	Hint     string // what to do about Err, shown under it
	// Unchanged says this command changed nothing (a usage error, a lock
	// held by another drain): Rotation is as it was, or UNKNOWN if unread.
	Unchanged bool
	// Usage says Err is bad input found before anything changed (a rotation
	// config the method refuses, a verify URL that already fails).
	Usage bool
	// RestoreFailed says a failed wait could not put the server back: a
	// timeout then ends as an error, since the server is not where the
	// operator expects it.
	RestoreFailed bool

	// Code is the exit code, set by the CLI from the fields above; the
	// algorithm leaves it 0.
	Code int
}

func (p *run) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = p.clock().Now()
	}
	if p.emitFn != nil {
		p.emitFn(e)
	}
}

// Run does the whole job: out, wait, act, sending its events to emit. Every
// return path says where the server stands: it is put back unless the
// action ran (or may have run), it was already out before this run, or
// KeepOut asks otherwise.
func (p *Plan) Run(ctx context.Context, emit func(Event)) Outcome {
	return p.start(emit).run(ctx)
}

func (p *run) run(ctx context.Context) Outcome {
	if p.DryRun {
		return p.dryRun(ctx)
	}
	if oc := p.notStarted(ctx); oc != nil {
		return *oc
	}
	if oc := p.readBefore(ctx); oc != nil {
		return *oc
	}
	rec, changed, oc := p.out(ctx, "run")
	if oc != nil {
		return *oc
	}
	outAt := p.clock().Now()
	p.setPhase(rec, state.PhaseWaiting, "")
	if changed && p.Probed && p.LBGrace == 0 && p.Verify == nil && len(p.balancerViews()) == 0 {
		p.emit(Event{Event: EvWarning, Message: "--lb-grace is 0 and there is no --verify-url: the load balancer sends requests until its probe has failed (interval x fall, e.g. 6s for HAProxy inter 2s fall 3), so a zero counter before then proves nothing; set --lb-grace to that time, or --verify-url to the URL it probes"})
	}

	drained, why, err := p.wait(ctx, outAt, true)
	switch {
	case errors.Is(err, context.Canceled):
		return p.restore(ctx, rec, changed, Outcome{Result: ResultInterrupted, Err: interrupted(ctx, "while waiting")})
	case err != nil:
		return p.restore(ctx, rec, changed, Outcome{Result: ResultError, Err: err})
	case !drained && !p.Force:
		return p.restore(ctx, rec, changed, Outcome{Result: ResultTimeout, Err: errors.New(why)})
	}
	result := ResultDrained
	if !drained {
		result = ResultForced
		p.emit(Event{Event: EvWarning, Message: fmt.Sprintf("NOT DRAINED after %s: running the action anyway (--on-timeout force); in-flight requests may be cut", p.Timeout)})
	}
	if ctx.Err() != nil { // a signal between the last poll and now
		return p.restore(ctx, rec, changed, Outcome{Result: ResultInterrupted, Err: interrupted(ctx, "before the action")})
	}
	if oc := p.stillOut(ctx, rec); oc != nil {
		return *oc
	}
	if p.Action == nil {
		p.setPhase(rec, state.PhaseDone, result)
		return Outcome{Result: result, Rotation: rotation.Out}
	}
	p.setPhase(rec, state.PhaseAction, "")
	oc2 := p.runAction(ctx)
	if oc2.Result == ResultDrained {
		oc2.Result = result
	}
	phase := state.PhaseDone
	if oc2.Result == ResultInterrupted {
		phase = state.PhaseAction // stopped halfway: the record says so
	}
	p.setPhase(rec, phase, oc2.Result)
	oc2.Rotation = rotation.Out // the action ran or may have run: never put back by surprise
	return oc2
}

// readBeforeTries and readBeforePause: how often, and how far apart, a
// source is read before anything changes before it counts as unreadable.
const (
	readBeforeTries = 3
	readBeforePause = 250 * time.Millisecond
)

// readBefore reads every source once before anything changes: a source
// that cannot be read now (a typo'd port, an exporter that is not running)
// would keep the server out of rotation for the whole --timeout, for
// nothing. Such a source stops the run, naming it, as bad input: nothing
// changed. A source in AllowUnread (it answers only once the server is
// out) is not read now.
func (p *run) readBefore(ctx context.Context) *Outcome {
	read := *p.Plan
	read.Sources = nil
	for _, w := range p.Sources {
		if !slices.Contains(p.AllowUnread, w.Name) {
			read.Sources = append(read.Sources, w)
		}
	}
	if len(read.Sources) == 0 {
		return nil
	}
	// A source gets readBeforeTries reads: one that failed once (a slow
	// exec on a loaded CI machine, a connection reset) is not bad input.
	var bad []string
	for try := 1; ; try++ {
		bad = bad[:0]
		var again []Watch
		for i, r := range read.poll(ctx) { // each read bounded by --read-timeout
			if ctx.Err() != nil {
				return p.notStarted(ctx)
			}
			if r.Value != nil {
				continue
			}
			what := r.Source
			if r.Name != "" && r.Name != r.Source {
				what = r.Name + " (" + r.Source + ")"
			}
			bad = append(bad, what+": "+r.Error)
			again = append(again, read.Sources[i])
		}
		if len(bad) == 0 {
			return nil
		}
		if try == readBeforeTries {
			break
		}
		read.Sources = again
		select {
		case <-ctx.Done():
			return p.notStarted(ctx)
		case <-time.After(readBeforePause):
		}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	noun := "source"
	if len(bad) > 1 {
		noun = "sources"
	}
	return &Outcome{
		Result: ResultError, Usage: true, Unchanged: true, Rotation: p.status(sctx),
		Err:  fmt.Errorf("%s cannot be read before anything changed, so it would keep the server out for the whole --timeout: %s", noun, strings.Join(bad, "; ")),
		Hint: "check each source's address (is the exporter running?); a source that answers only once the server is out: --allow-unread-source NAME",
	}
}

// Wait waits until drained without changing rotation (drain wait), sending
// its events to emit.
func (p *Plan) Wait(ctx context.Context, emit func(Event)) Outcome {
	r := p.start(emit)
	drained, why, err := r.wait(ctx, r.clock().Now(), false)
	switch {
	case errors.Is(err, context.Canceled):
		return Outcome{Result: ResultInterrupted, Err: interrupted(ctx, "while waiting")}
	case err != nil:
		return Outcome{Result: ResultError, Err: err}
	case !drained:
		return Outcome{Result: ResultTimeout, Err: errors.New(why)}
	}
	return Outcome{Result: ResultDrained}
}

// wait polls until the drain condition holds (true), the timeout passes
// (false, with the timeout message saying what still blocked) or ctx ends
// (its error). What still blocks at each poll is blocking's answer, with
// the windows decide chooses from what the balancer's view says (gateOnLB:
// this run took the server out, so a balancer that still sends it requests
// blocks).
func (p *run) wait(ctx context.Context, outAt time.Time, gateOnLB bool) (bool, string, error) {
	w := p.newWaiter(outAt, gateOnLB)
	for {
		readings, seen, waiting, err := w.readPoll(ctx)
		if err != nil {
			return false, "", err
		}
		now := w.clk.Now() // after the reads: they may have taken a while
		tm, blocks := w.judge(readings, seen, waiting, now)
		if done, drained, why := w.report(ctx, now, readings, blocks, tm); done {
			return drained, why, nil
		}
		if err := w.sleep(ctx, now, readings, seen, tm); err != nil {
			return false, "", err
		}
	}
}

// waiter is one wait of a run: its settings and what it carries from one
// poll to the next.
type waiter struct {
	*run
	clk          Clock
	outAt        time.Time
	deadline     time.Time // zero: no timeout
	gateOnLB     bool
	canList      bool            // some source lists its requests in flight
	balancerSide map[string]bool // the sources that count at the balancer (lbSide)

	quietSince time.Time          // when every source first read quiet; zero while one does not
	listedAt   time.Time          // when the requests in flight were last listed
	totals     map[string]float64 // each source's last known total
	verified   bool               // the verify URL has stopped answering 2xx (or there is none)
	prevSight  sight              // the balancer's view at the poll before
	lastSight  sight              // the balancer's view as last read
	lookedAt   time.Time          // when it was last read
	step       time.Duration      // the last step between two polls
}

func (p *run) newWaiter(outAt time.Time, gateOnLB bool) *waiter {
	w := &waiter{
		run: p, clk: p.clock(), outAt: outAt, gateOnLB: gateOnLB,
		totals: map[string]float64{}, verified: p.Verify == nil,
		canList: len(p.listers()) > 0, balancerSide: p.lbSide(),
		step: FastInterval,
	}
	if p.Timeout > 0 {
		w.deadline = outAt.Add(p.Timeout)
	}
	return w
}

// readPoll is one poll's reads, each bounded by the deadline (readContext):
// every source, the balancer's view when it can change this wait, and the
// verify URL until it stops answering. It returns the readings, the
// balancer's view as it stands and what blocks before the sources (the
// verify URL); the error is ctx's when it ended during the reads.
func (w *waiter) readPoll(ctx context.Context) ([]Reading, sight, []string, error) {
	readCtx, cancelRead := readContext(ctx, time.Now(), w.deadline, w.knobs().FinalReadGrace) // a context's deadline is in real time
	defer cancelRead()
	readings := w.poll(readCtx)
	seen := w.lastSight
	if w.viewMatters(w.gateOnLB) && (lowLoad(readings) || w.clk.Now().Sub(w.lookedAt) >= LookEvery) {
		// The balancer's view: at every poll when it can end the wait
		// now (every source read and low), else every LookEvery (what
		// it said stands meanwhile: a server out stays out). A stop
		// it sees after this poll's totals is safe to build on: a
		// request the balancer sent between those reads and the stop
		// shows as an arrival at the next poll.
		seen, w.lookedAt = w.look(readCtx), w.clk.Now()
		w.lastSight = seen
	}
	if ctx.Err() != nil {
		return nil, sight{}, nil, ctx.Err()
	}
	var waiting []string // what blocks before the sources: the balancer, the verify URL
	if !w.verified {
		ok, why := w.Verify.Gone(readCtx)
		if ok {
			w.verified = true
			w.emit(Event{Event: EvVerify, Message: why})
		} else {
			waiting = append(waiting, why)
		}
	}
	return readings, seen, waiting, nil
}

// judge says what blocks the drain at now: blocking's answer, with the
// windows decide chooses from the balancer's view (seen) and the
// balancer-side arrivals, after waiting (what blocks before the sources).
// It sets each reading's arrivals and keeps for the next poll the
// balancer's view, quietSince and each source's total.
func (w *waiter) judge(readings []Reading, seen sight, waiting []string, now time.Time) (timing, []string) {
	for i := range readings {
		if n, ok := arrived(readings[i], w.totals); ok {
			readings[i].Arrived = &n
		}
	}
	visible, still := lbArrivals(readings, w.totals, w.balancerSide)
	tm := decide(timingInput{
		Grace: w.LBGrace, Settle: w.Settle, SettleAuto: w.SettleAuto, GateOnLB: w.gateOnLB,
		Now: seen, PrevSeen: w.prevSight, Arrivals: visible, Still: still, HaveLBSide: len(w.balancerSide) > 0, Unseen: w.unseen(),
	})
	w.prevSight = seen
	if tm.WaitLB != "" {
		waiting = append([]string{tm.WaitLB}, waiting...)
	}
	var blocks []string
	blocks, w.quietSince = blocking(readings, w.totals, waiting, now, w.outAt, w.quietSince, tm.Grace, tm.Settle)
	for _, r := range readings {
		if r.Total != nil {
			w.totals[r.Source] = *r.Total
		}
	}
	return tm, blocks
}

// report emits the poll's event, listing the requests in flight when the
// wait is slow or timed out (and a source can list them), then the drained
// event when nothing blocks or the timeout event when the deadline has
// passed. done says the wait ends here, drained how, and why is the
// timeout message.
func (w *waiter) report(ctx context.Context, now time.Time, readings []Reading, blocks []string, tm timing) (done, drained bool, why string) {
	timedOut := len(blocks) > 0 && !w.deadline.IsZero() && !now.Before(w.deadline)
	var reqs []Request
	var nReqs int
	if w.canList && len(blocks) > 0 &&
		(timedOut || now.Sub(w.outAt) >= w.knobs().SlowWait && now.Sub(w.listedAt) >= w.knobs().SlowWaitEvery) {
		reqs, nReqs = w.listInFlight(ctx)
		w.listedAt = now
	}
	ev := w.pollEvent(now, readings, blocks, tm, reqs, nReqs)
	w.emit(ev)
	if len(blocks) == 0 {
		msg := "every source quiet"
		if w.SettleAuto && tm.Rule != "" {
			msg += "; " + tm.Rule
		}
		w.emit(Event{Event: EvDrained, Elapsed: secs(now.Sub(w.outAt)), Message: msg, Sources: readings, Settle: secsPtr(tm.Settle), Rule: ev.Rule})
		return true, true, ""
	}
	if timedOut {
		why := notDrained(w.Timeout, explain(blocks, readings), reqs)
		w.emit(Event{
			Event: EvTimeout, Elapsed: secs(now.Sub(w.outAt)), Blocking: blocks, Sources: readings,
			Message: why, Requests: reqs, RequestCount: nReqs,
		})
		return true, false, why
	}
	return false, false, ""
}

// pollEvent is the event of one poll at now.
func (w *waiter) pollEvent(now time.Time, readings []Reading, blocks []string, tm timing, reqs []Request, nReqs int) Event {
	ev := Event{
		Event: EvPoll, Sources: readings, Blocking: blocks, Elapsed: secs(now.Sub(w.outAt)), Requests: reqs, RequestCount: nReqs,
		Settle: secsPtr(tm.Settle),
	}
	if w.SettleAuto {
		ev.Rule = tm.Rule
	}
	if !w.deadline.IsZero() {
		ev.Remaining = secsPtr(max(w.deadline.Sub(now), 0))
	}
	if !w.quietSince.IsZero() {
		ev.QuietFor = secsPtr(now.Sub(w.quietSince))
	}
	return ev
}

// sleep waits for the next poll: after one step (the interval, or
// adaptive: fast near the end, backing off while far), or sooner when the
// grace or settle window ends first, so the action starts as soon as it
// may, and never past the deadline. The error is ctx's when it ends first.
func (w *waiter) sleep(ctx context.Context, now time.Time, readings []Reading, seen sight, tm timing) error {
	graceLeft, settleLeft := windowsLeft(now, w.outAt, w.quietSince, tm.Grace, tm.Settle)
	w.step = nextPoll(!w.IntervalAuto, w.Interval, w.step, near(readings, seen, graceLeft, settleLeft, !w.quietSince.IsZero()))
	next := now.Add(w.step)
	if !w.quietSince.IsZero() {
		if t := now.Add(max(graceLeft, settleLeft)); t.Before(next) {
			next = t
		}
	}
	if !w.deadline.IsZero() && w.deadline.Before(next) {
		next = w.deadline
	}
	t := w.clk.NewTimer(next.Sub(w.clk.Now()))
	select {
	case <-ctx.Done():
		t.Stop()
		return ctx.Err()
	case <-t.C():
	}
	return nil
}

// blocking says what still stops the drain at now, a pure function of one
// poll, the totals of the polls before and the clock: waiting is what
// blocks before any source (the load balancer that still sends it requests,
// the verify URL that still answers 2xx; empty when nothing does), then
// every source unknown or above its threshold, then every source
// whose total (requests counted in all) rose by more than its threshold
// since the last poll (lastTotals, by source: short requests that started
// and ended between two polls are seen only so), then, once those are
// clear, the rest of the LBGrace window since outAt and of the Settle
// window since quietSince. It returns the new quietSince: when every source
// (and the verify URL) first read quiet, zero while any does not. Drained
// means the answer is empty.
func blocking(readings []Reading, lastTotals map[string]float64, waiting []string, now, outAt, quietSince time.Time, grace, settle time.Duration) ([]string, time.Time) {
	blocks := slices.Clone(waiting)
	for _, r := range readings {
		if !r.OK {
			blocks = append(blocks, r.Source)
		} else if n, ok := arrived(r, lastTotals); ok && n > r.Threshold {
			blocks = append(blocks, fmt.Sprintf("%s: %s since the last poll", r.Source, newRequests(n)))
		}
	}
	if len(blocks) > 0 {
		return blocks, time.Time{}
	}
	if quietSince.IsZero() {
		quietSince = now
	}
	graceLeft, settleLeft := windowsLeft(now, outAt, quietSince, grace, settle)
	if graceLeft > 0 {
		return []string{fmt.Sprintf("lb-grace (%s left)", graceLeft.Round(100*time.Millisecond))}, quietSince
	}
	if settleLeft > 0 {
		return []string{fmt.Sprintf("settle (%s left)", settleLeft.Round(100*time.Millisecond))}, quietSince
	}
	return nil, quietSince
}

// arrived is how many requests came to r's source since the last poll: its
// total now less its last known total (lastTotals, by source). ok is false
// without both, and when the total went down (a counter reset: a restarted
// server starts again from zero, and this poll becomes the baseline).
func arrived(r Reading, lastTotals map[string]float64) (float64, bool) {
	last, known := lastTotals[r.Source]
	if r.Total == nil || !known || *r.Total < last {
		return 0, false
	}
	return *r.Total - last, true
}

func newRequests(n float64) string {
	if n == 1 {
		return "1 new request"
	}
	return strconv.FormatFloat(n, 'f', -1, 64) + " new requests"
}

// windowsLeft is what is left at now of the LBGrace window (since outAt)
// and of the Settle window (since quietSince; all of it when zero).
func windowsLeft(now, outAt, quietSince time.Time, grace, settle time.Duration) (graceLeft, settleLeft time.Duration) {
	graceLeft = grace - now.Sub(outAt)
	settleLeft = settle
	if !quietSince.IsZero() {
		settleLeft -= now.Sub(quietSince)
	}
	return graceLeft, settleLeft
}

// notStarted ends a command interrupted before it changed anything (a
// signal while it was starting).
func (p *run) notStarted(ctx context.Context) *Outcome {
	if ctx.Err() == nil {
		return nil
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	return &Outcome{Result: ResultInterrupted, Rotation: p.status(sctx), Unchanged: true, Err: interrupted(ctx, "before anything changed")}
}

// interrupted is the error of a command ended by ctx, naming the signal when
// the CLI gave it as the cancel cause: "interrupted by SIGHUP while waiting".
func interrupted(ctx context.Context, when string) error {
	if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) && !errors.Is(c, context.DeadlineExceeded) {
		return fmt.Errorf("interrupted by %w %s", c, when)
	}
	return errors.New("interrupted " + when)
}

// readContext bounds one poll's reads by the run's deadline as well as by
// each source's --read-timeout, so that a hanging source cannot stretch the
// wait past --timeout (by more than grace, Knobs.FinalReadGrace).
func readContext(ctx context.Context, now, deadline time.Time, grace time.Duration) (context.Context, context.CancelFunc) {
	if deadline.IsZero() {
		return ctx, func() {}
	}
	if least := now.Add(grace); deadline.Before(least) {
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
	if t, ok := w.Source.(source.Totaler); ok {
		if total, ok := t.Total(); ok {
			r.Total = &total
		}
	}
	if n, ok := w.Source.(source.Noter); ok {
		r.Note = n.Note()
	}
	return r
}

// Poll reads every source once (drain status, dry runs).
func (p *Plan) Poll(ctx context.Context) []Reading { return p.poll(ctx) }

// watched names the sources being waited on, as an action.Warner wants them.
func (p *Plan) watched() []string {
	names := make([]string, len(p.Sources))
	for i, w := range p.Sources {
		names[i] = w.Name
	}
	return names
}

func (p *run) runAction(ctx context.Context) Outcome {
	if w := action.WarnerOf(p.Action); w != nil {
		if msg := w.Warn(ctx, p.watched()); msg != "" {
			p.emit(Event{Event: EvWarning, Message: msg})
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
			return Outcome{Result: ResultInterrupted, Err: fmt.Errorf("%w: %w", interrupted(ctx, "during the action"), err)}
		}
		return Outcome{Result: ResultActionFail, Err: err}
	}
	ev.Message = "finished"
	p.emit(ev)
	return Outcome{Result: ResultDrained}
}
