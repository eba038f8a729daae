package drain

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/drain-cli/drain/internal/rotation"
	"github.com/drain-cli/drain/internal/state"
)

// out takes the server out of rotation and records it. A non-nil Outcome
// means the run stops here (nothing was changed, or the change failed and
// was reported). command ("out" or "run") goes into the record.
//
// An existing record (under any of the methods' keys) says the server was
// taken out by drain; what the balancer says now is the truth (outAgain):
// still out, the record is kept and the run carries on with the server
// out, as not changed by this run (Rotator.Out is not called: with other
// flags it could change the page again and the record of the original would
// be overwritten); in again, it is taken out again as any server in
// rotation is (budget, lock, a new record that keeps what in needs);
// unreadable, nothing is changed or run.
func (p *run) out(ctx context.Context, command string) (*state.Record, bool, *Outcome) {
	target := p.Rotator.Target()
	prev, err := rotation.LoadRecord(p.Store, p.Rotator)
	if err != nil {
		return nil, false, &Outcome{Result: ResultError, Rotation: p.status(ctx), Err: err}
	}
	var carried *state.Record // a record the balancer undid: carried into the new one
	if prev != nil {
		keep, oc := p.outAgain(ctx, prev, command)
		if oc != nil || keep {
			return prev, false, oc
		}
		carried = prev
	}
	if oc := p.checkVerifyBefore(ctx); oc != nil {
		return nil, false, oc
	}
	gctx := WithWaitStart(ctx, p.clock().Now())
	var rec *state.Record
	var changed bool
	st := rotation.Unknown
	for attempt := 1; ; attempt++ {
		var turn Turn
		if p.Gate != nil {
			t, oc := p.enter(gctx)
			if oc != nil {
				return nil, false, oc
			}
			turn = t
		}
		rec = &state.Record{Reason: p.Reason, By: state.Who(), PID: os.Getpid(), Since: time.Now().UTC(), Phase: state.PhaseOut, Command: command}
		// Only the first try carries the old record: a try the budget undid
		// put every method back in, the carried ones too.
		carry(rec, carried)
		carried = nil
		changed, err = p.Rotator.Out(ctx, rec, func(r *state.Record) error { return rotation.SaveRecord(p.Store, r) })
		st = rotation.Unknown
		if err != nil {
			// A change the balancer applied but answered late is OUT; read
			// even after an interrupt, which may be what ended the change.
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			st = p.status(sctx)
			cancel()
		}
		if turn == nil {
			break
		}
		landed := changed && err == nil || err != nil && st == rotation.Out
		oc, again := p.confirm(ctx, turn, rec, landed, err == nil && changed || err != nil && st != rotation.In, attempt)
		if oc != nil {
			return nil, false, oc
		}
		if !again {
			break
		}
	}
	if err != nil {
		if st == rotation.In {
			_ = rotation.DeleteRecord(p.Store, p.Rotator, rec) // only the record was written
		}
		return nil, false, &Outcome{Result: ResultError, Usage: errors.Is(err, rotation.ErrConfig), Rotation: st, Err: err}
	}
	p.outStatus = rotation.Out
	msg := "taken out of rotation"
	if !changed {
		msg = "already out of rotation; left as it was"
		rec = nil // out by hand: there is nothing of ours to record
	}
	p.emit(Event{Event: EvOut, Target: target, Rotation: string(rotation.Out), Changed: boolPtr(changed), Message: msg, Reason: p.Reason})
	return rec, changed, nil
}

// PhaseIn is the phase of a record whose server is being put back: in
// saves it before the change, so that a record that cannot be deleted
// afterwards (an unwritable state directory) never says the server is out
// while the balancer has it in. Such a record counts as not out; out and
// run read the balancer in any case.
const PhaseIn state.Phase = "in"

// outAgain decides what an existing record means, by reading the balancer
// as the record says out left it: keep says the server is still out (the
// record is kept, as it was); a non-nil Outcome stops the run with nothing
// changed (the balancer cannot be read, or the server cannot be taken out
// again safely); neither says the balancer has the server in again, and
// the caller takes it out through the normal path.
func (p *run) outAgain(ctx context.Context, prev *state.Record, command string) (keep bool, oc *Outcome) {
	target := p.Rotator.Target()
	since := "out since " + prev.Since.Local().Format(time.DateTime)
	if prev.By != "" {
		since += " by " + prev.By
	}
	if prev.Reason != "" {
		since += ": " + prev.Reason
	}
	st, err := p.live(ctx, prev)
	switch st {
	case rotation.Out:
		p.outStatus = rotation.Out
		if prev.Phase == PhaseIn { // an in that stopped before its change
			p.setPhase(prev, state.PhaseOut, "")
		}
		p.emit(Event{Event: EvOut, Target: target, Rotation: string(rotation.Out), Changed: boolPtr(false), Message: "already out of rotation; left as it was (" + since + ")", Reason: p.Reason})
		if command == "run" {
			prev.PID = os.Getpid() // this run now carries the record's phases
		}
		return true, nil
	case rotation.Unknown:
		what := "nothing was changed"
		if command == "run" {
			what += " and the action was NOT run"
		}
		return false, &Outcome{
			Result: ResultError, Rotation: rotation.Unknown, Unchanged: true,
			Err:  fmt.Errorf("a record says %s was taken out (%s), but where it stands cannot be read now (%w): the balancer may be sending it traffic, so %s", target, since, err, what),
			Hint: "check that the balancer answers ('drain status' reads it), then run drain again",
		}
	}
	if err := p.Rotator.CheckOutAgain(prev); err != nil {
		return false, &Outcome{
			Result: ResultError, Usage: errors.Is(err, rotation.ErrConfig), Rotation: rotation.In, Unchanged: true, Err: err,
			Hint: "remove the stale copy (or the re-created page) by hand, then run drain again; 'drain status' shows the record",
		}
	}
	why := "it was put back by something else: a balancer restart, a deploy?"
	if prev.Phase == PhaseIn {
		why = "a drain in put it back but could not remove the record"
	}
	p.emit(Event{Event: EvWarning, Message: fmt.Sprintf("a record says %s was taken out (%s), but the balancer has it IN (%s): taking it out again, as any server in rotation, with a new record", target, since, why)})
	return false, nil
}

// live reads where the server stands, as rec says out left it: IN when any
// part of it is in rotation (parts that disagree: some are), OUT, or
// UNKNOWN with the error that says why.
func (p *run) live(ctx context.Context, rec *state.Record) (rotation.Status, error) {
	st, err := p.Rotator.StatusAs(ctx, rec)
	switch {
	case err == nil:
		return st, nil
	case errors.Is(err, rotation.ErrMixed), st == rotation.In:
		return rotation.In, err
	}
	return rotation.Unknown, err
}

// carry puts the entries of a record the balancer undid into the new one,
// so that a method still out keeps what in needs to restore the original
// (rotation.Set.Out), and the old record's files are replaced.
func carry(rec, prev *state.Record) {
	if prev == nil {
		return
	}
	rec.Entries = append([]state.Entry(nil), prev.Entries...)
	rec.Files = prev.Files
}

func statusWord(st rotation.Status, err error) string {
	if err != nil {
		return fmt.Sprintf("%s (%v)", rotation.Unknown, err)
	}
	return string(st)
}

// checkVerifyBefore makes sure the verify URL answers 2xx while the server
// is still in rotation: a URL that already fails (a typo, the wrong port)
// would otherwise be taken as proof that the load balancer noticed the
// change. Nothing has changed yet; a server already out is left alone.
func (p *run) checkVerifyBefore(ctx context.Context) *Outcome {
	if p.Verify == nil {
		return nil
	}
	st, err := p.Rotator.Status(ctx)
	if err != nil || st != rotation.In {
		return nil // Out says so itself, or leaves an out server alone
	}
	code, err := p.Verify.check(ctx)
	if err == nil && code >= 200 && code <= 299 {
		return nil
	}
	what := fmt.Sprintf("answered %d", code)
	hint := "check --verify-url: it is the URL the load balancer probes (the keep-alive page), e.g. http://127.0.0.1/keepalive.htm"
	if err != nil {
		what = fmt.Sprintf("did not answer (%v)", unwrapURL(err))
		var cve *tls.CertificateVerificationError
		if errors.As(err, &cve) {
			hint = "trust the server's certificate authority with --ca-file CA.pem (or --insecure, for a test server only)"
		}
	}
	return &Outcome{
		Result: ResultError, Usage: true, Rotation: rotation.In, Unchanged: true,
		Err:  fmt.Errorf("verify-url %s %s before anything changed; it must answer 2xx while the server is in rotation, or its failing later proves nothing", RedactURL(p.Verify.URL), what),
		Hint: hint,
	}
}

// RedactURL is u without its user info and query (they may hold secrets).
func RedactURL(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	pu.User = nil
	if pu.RawQuery != "" {
		pu.RawQuery = "..."
	}
	pu.Fragment = ""
	return pu.String()
}

// stillOut checks, right before the action, that the server is still out
// of rotation: a deploy step may have re-created the keep-alive page during
// the wait, a balancer restarted. A nil answer means the action may run.
// The rotation state is read as the record says out left it (its flags may
// differ from this command's), and the verify URL must not answer 2xx.
func (p *run) stillOut(ctx context.Context, rec *state.Record) *Outcome {
	st, err := p.Rotator.StatusAs(ctx, rec)
	var back []string
	if (err != nil || st != rotation.Out) && p.outStatus == rotation.Out {
		back = append(back, "rotation is "+statusWord(st, err))
	}
	if p.Verify != nil {
		code, verr := p.Verify.check(ctx)
		if verr == nil && code >= 200 && code <= 299 {
			back = append(back, fmt.Sprintf("verify-url answers %d again", code))
			st = rotation.In // the load balancer's probe is answered: it sends traffic
		}
	}
	if len(back) == 0 {
		return nil
	}
	what := "the action was NOT run"
	if p.Action == nil {
		what = "it is not drained"
	}
	p.setPhase(rec, state.PhaseOut, ResultError)
	if err != nil && st != rotation.In {
		st = rotation.Unknown
	}
	return &Outcome{
		Result: ResultError, Rotation: st,
		Err:  fmt.Errorf("the server is no longer out of rotation (%s): something put it back during the wait; %s", strings.Join(back, ", "), what),
		Hint: "find what put it back (a deploy step re-creating the keep-alive page, a balancer restarted or reconfigured), then run drain again; 'drain status' shows the record",
	}
}

// restore ends a run that did not reach its action: the server goes back into
// rotation if this run took it out, unless KeepOut says otherwise.
func (p *run) restore(ctx context.Context, rec *state.Record, changed bool, oc Outcome) Outcome {
	oc.Rotation = rotation.Out
	switch {
	case !changed:
		p.setPhase(rec, state.PhaseOut, oc.Result) // a record of an earlier out: it stays out
		p.emit(Event{Event: EvWarning, Message: "left OUT of rotation: it was already out before this run"})
		return oc
	case p.KeepOut:
		p.setPhase(rec, state.PhaseOut, oc.Result)
		p.emit(Event{Event: EvWarning, Message: "left OUT of rotation (--keep-out); run `drain in` to put it back"})
		return oc
	}
	// The caller's context may be cancelled (interrupt): restoring must still
	// happen, and quickly: after a signal more may follow (CI runners send
	// SIGTERM then SIGKILL seconds after SIGINT; Windows ends a closed
	// console's process about 5 s after CTRL_CLOSE_EVENT).
	limit := 30 * time.Second
	if oc.Result == ResultInterrupted {
		limit = p.knobs().RestoreTimeout
	}
	// WithoutCancel: not the cancel, but the values (--verbose's log).
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), limit)
	defer cancel()
	if err := p.putIn(ctx, rec); err != nil {
		p.emit(Event{Event: EvWarning, Message: "could not put the server back: " + err.Error()})
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer scancel()
		oc.Rotation = p.status(sctx)
		oc.RestoreFailed = true
		return oc
	}
	oc.Rotation = rotation.In
	return oc
}

// putIn puts the server back and forgets the record. The record is marked
// as being put back (PhaseIn) before the change: a record that could not be
// removed afterwards then does not say OUT while the balancer has the
// server IN; one that cannot be marked (an unwritable state directory)
// stops in before anything changes, the server still out as the record
// says.
func (p *run) putIn(ctx context.Context, rec *state.Record) error {
	target := p.Rotator.Target()
	var phase state.Phase
	if rec != nil {
		phase = rec.Phase
		rec.Phase = PhaseIn
		if err := rotation.SaveRecord(p.Store, rec); err != nil {
			rec.Phase = phase
			return &hintedErr{
				err:  fmt.Errorf("cannot update the state record before putting the server back, so nothing was changed (a record left behind would say OUT while the balancer has it IN): %w", err),
				hint: "make the state directory writable (--state-dir), then run 'drain in' again",
			}
		}
	}
	changed, err := p.Rotator.In(ctx, rec)
	if err != nil {
		if st, serr := p.Rotator.Status(ctx); rec != nil && serr == nil && st == rotation.Out {
			rec.Phase = phase // still out: the record says so again
			_ = rotation.SaveRecord(p.Store, rec)
		}
		return err
	}
	if err := rotation.DeleteRecord(p.Store, p.Rotator, rec); err != nil {
		return err
	}
	for _, n := range p.Rotator.Notes() {
		p.emit(Event{Event: EvWarning, Message: n})
	}
	msg := "put back into rotation"
	if !changed {
		msg = "already in rotation; nothing to do"
	}
	p.emit(Event{Event: EvIn, Target: target, Rotation: string(rotation.In), Changed: boolPtr(changed), Message: msg})
	return nil
}

func (p *run) setPhase(rec *state.Record, ph state.Phase, result string) {
	if rec == nil {
		return
	}
	rec.Phase, rec.Result = ph, result
	if err := rotation.SaveRecord(p.Store, rec); err != nil {
		p.emit(Event{Event: EvWarning, Message: "could not update the state file: " + err.Error()})
	}
}

func (p *Plan) status(ctx context.Context) rotation.Status {
	st, err := p.Rotator.Status(ctx)
	if err != nil {
		return rotation.Unknown
	}
	return st
}

// Out takes the server out of rotation only (drain out), sending its events
// to emit. With a verify URL it waits (up to Timeout) until that URL stops
// answering 2xx.
func (p *Plan) Out(ctx context.Context, emit func(Event)) Outcome {
	return p.start(emit).outOnly(ctx)
}

func (p *run) outOnly(ctx context.Context) Outcome {
	if p.DryRun {
		return p.dryRun(ctx)
	}
	if oc := p.notStarted(ctx); oc != nil {
		return *oc
	}
	rec, changed, oc := p.out(ctx, "out")
	if oc != nil {
		return *oc
	}
	if p.Verify != nil {
		if err := p.Verify.WaitFor(ctx, false, p.Interval, p.Timeout, p.emit); err != nil {
			return p.restore(ctx, rec, changed, verifyOutcome(ctx, err))
		}
	}
	return Outcome{Result: ResultOK, Rotation: rotation.Out}
}

// In puts the server back (drain in), using the record of what out changed,
// sending its events to emit. With WarmUp URLs it first warms the server up
// (backin.go). With healthy set, it then waits until the verify URL answers
// 2xx and each balancer with a pool view reports the server up.
func (p *Plan) In(ctx context.Context, healthy bool, emit func(Event)) Outcome {
	return p.start(emit).in(ctx, healthy)
}

func (p *run) in(ctx context.Context, healthy bool) Outcome {
	rec, err := rotation.LoadRecord(p.Store, p.Rotator)
	if err != nil {
		return Outcome{Result: ResultError, Rotation: p.status(ctx), Err: err}
	}
	if p.DryRun {
		return p.dryRun(ctx)
	}
	if oc := p.warmUp(ctx); oc != nil {
		return *oc
	}
	if rec != nil && rec.PID != os.Getpid() && leftByRun(rec) {
		p.emit(Event{Event: EvWarning, Message: fmt.Sprintf("a run (pid %d) left this server in phase %q; undoing what it changed", rec.PID, rec.Phase)})
	}
	// drain in --wait-healthy: the server may have been restarted since out
	// (a deploy), so a balancer that can be made to wait for a check made
	// after the in does (rotation.AwaitCheck), and the wait below returns
	// at that check. A plain in (the caller does not wait) and a put-back
	// within a run, before anything ran, go back at once, as before: the
	// server counts as in rotation for the next drain's budget right away.
	ictx := ctx
	if healthy {
		ictx = rotation.AwaitCheck(ctx)
	}
	if err := p.putIn(ictx, rec); err != nil {
		return Outcome{Result: ResultError, Usage: errors.Is(err, rotation.ErrConfig), Rotation: p.status(ctx), Err: err, Hint: hintOf(err)}
	}
	if healthy {
		// One --timeout for the verify URL and the balancers together.
		hctx := ctx
		if p.Timeout > 0 {
			var cancel context.CancelFunc
			hctx, cancel = context.WithTimeout(ctx, p.Timeout)
			defer cancel()
		}
		err := error(nil)
		if p.Verify != nil {
			err = p.Verify.WaitFor(hctx, true, p.backInPoll(), 0, p.emit)
		}
		if err == nil {
			err = p.waitBalancers(hctx)
		}
		if err != nil {
			oc := verifyOutcome(ctx, err)
			oc.Rotation = rotation.In
			return oc
		}
	}
	return Outcome{Result: ResultOK, Rotation: rotation.In}
}

// leftByRun tells a record a run left halfway (killed, or failed with
// --keep-out) from one of a plain 'drain out', whose phase out is its end.
func leftByRun(r *state.Record) bool {
	switch r.Phase {
	case state.PhaseDone:
		return false
	case state.PhaseOut:
		return r.Command == "run" || r.Command == "" && r.Result != ""
	}
	return true
}

func verifyOutcome(ctx context.Context, err error) Outcome {
	switch {
	case errors.Is(err, context.Canceled):
		return Outcome{Result: ResultInterrupted, Err: interrupted(ctx, "while waiting for the verify URL")}
	case errors.Is(err, context.DeadlineExceeded):
		return Outcome{Result: ResultTimeout, Err: err}
	}
	return Outcome{Result: ResultError, Err: err}
}

// dryRun reads everything once and says what would change.
func (p *run) dryRun(ctx context.Context) Outcome {
	oc := Outcome{Result: ResultDryRun}
	if p.Rotator != nil {
		st, err := p.Rotator.Status(ctx)
		oc.Rotation = st
		if err != nil {
			oc.Result, oc.Err, oc.Usage = ResultError, err, errors.Is(err, rotation.ErrConfig)
			return oc
		}
		p.emit(Event{
			Event: EvOut, Target: p.Rotator.Target(), Rotation: string(st), Changed: boolPtr(false),
			Message: fmt.Sprintf("dry run: currently %s; nothing changed", st),
		})
	}
	if len(p.Sources) > 0 {
		readings := p.poll(ctx)
		var blocking []string
		for _, r := range readings {
			if !r.OK {
				blocking = append(blocking, r.Source)
			}
		}
		p.emit(Event{Event: EvPoll, Sources: readings, Blocking: blocking})
	}
	if p.Action != nil {
		p.emit(Event{Event: EvAction, Action: p.Action.String(), Message: "dry run: would run"})
	}
	return oc
}

// Verifier checks the URL the load balancer probes, proving a change took
// effect: after out it must stop answering 2xx, after in answer 2xx again.
type Verifier struct {
	URL    string
	Client *http.Client
}

// check returns the HTTP status code, or an error when nothing answered.
func (v *Verifier) check(ctx context.Context) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.URL, http.NoBody)
	if err != nil {
		return 0, err
	}
	resp, err := v.Client.Do(req)
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// Gone reports whether the URL answers non-2xx. No answer at all is not
// proof (a typo in the URL would look the same), so it counts as not gone.
func (v *Verifier) Gone(ctx context.Context) (bool, string) {
	code, err := v.check(ctx)
	switch {
	case err != nil:
		return false, fmt.Sprintf("verify-url unreachable (%v)", unwrapURL(err))
	case code >= 200 && code <= 299:
		return false, fmt.Sprintf("verify-url still answers %d", code)
	}
	return true, fmt.Sprintf("verify-url now answers %d", code)
}

// WaitFor polls until the URL is healthy (2xx) or gone (non-2xx answer).
func (v *Verifier) WaitFor(ctx context.Context, healthy bool, interval, timeout time.Duration, emit func(Event)) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	start := time.Now()
	var last string
	for {
		code, err := v.check(ctx)
		ok := err == nil && (code >= 200 && code <= 299) == healthy
		switch {
		case err != nil:
			last = fmt.Sprintf("verify-url unreachable (%v)", unwrapURL(err))
		default:
			last = fmt.Sprintf("verify-url answers %d", code)
		}
		if ok {
			emit(Event{Event: EvVerify, Message: last, Elapsed: secs(time.Since(start))})
			return nil
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			want := "healthy (2xx)"
			if !healthy {
				want = "gone (non-2xx)"
			}
			return fmt.Errorf("verify-url not %s after %s; last: %s: %w", want, time.Since(start).Round(time.Second), last, ctx.Err())
		case <-t.C:
		}
	}
}

func unwrapURL(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

// hintedErr is an error with what to do about it (Hinter).
type hintedErr struct {
	err  error
	hint string
}

func (h *hintedErr) Error() string { return h.err.Error() }
func (h *hintedErr) Unwrap() error { return h.err }
func (h *hintedErr) Hint() string  { return h.hint }
