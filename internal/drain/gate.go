package drain

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/drain-cli/drain/internal/rotation"
	"github.com/drain-cli/drain/internal/state"
	"github.com/drain-cli/drain/internal/usage"
)

// Gate is asked before a server leaves rotation: the disruption budget
// (--min-in-rotation), waiting for a turn, the pool's lock. Enter returns
// once the server may go, holding whatever makes the check and the change
// one step (a lock per pool), or an error with nothing changed: one wrapping
// ErrRefused when the budget says no. The run calls Lost just before the
// change; Confirm right after a change that landed (even one the balancer
// answered late), still holding the turn; then Leave.
type Gate interface {
	Enter(ctx context.Context, emit func(Event)) (Turn, error)
}

// Turn is a granted Enter.
type Turn interface {
	// Lost says the lock Enter took is no longer held (an etcd lease that
	// expired or could not be renewed): nil while it holds.
	Lost() error
	// Confirm reads the pool again after the change, under the lock if it
	// is still held: a drain paused after its check (Ctrl-Z, SIGSTOP, a VM
	// pause) past its lock's lease may find that another drain went
	// meanwhile. nil: the change stands. An error: the run puts the server
	// back at once (nothing has run yet) and stops with it IN; the error
	// wraps ErrRefused when the pool is below the budget, and ErrTurnAgain
	// as well when the run may wait for another turn.
	Confirm(ctx context.Context) error
	// Leave lets go of the lock, after the change (changed says the server
	// is out by this run: its records stay) or after it failed or was put
	// back (records of it are removed).
	Leave(changed bool)
}

// ErrTurnAgain is wrapped by a Confirm error when the Gate may still give
// another turn (--wait-turn time is left): the run puts the server back and
// asks Enter again, a few times at most.
var ErrTurnAgain = errors.New("may wait for a turn again")

type waitStartKey struct{}

// WithWaitStart tells Enter when the run began waiting for its turn: a run
// that put its server back after Confirm asks again within the same wait.
func WithWaitStart(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, waitStartKey{}, t)
}

// WaitStart is when the run began waiting for a turn (now when not said).
func WaitStart(ctx context.Context) time.Time {
	if t, ok := ctx.Value(waitStartKey{}).(time.Time); ok {
		return t
	}
	return time.Now()
}

// ErrRefused marks a Gate's refusal: taking the server out would break the
// disruption budget. Nothing was changed.
var ErrRefused = errors.New("refused")

// Hinter is an error that says what to do about it.
type Hinter = usage.Hinter

func hintOf(err error) string { return usage.HintOf(err) }

// enter asks the Gate for a turn. A refusal, an error (the pool or the lock
// service unreachable) or an interrupt while waiting stops the run with
// nothing changed.
func (p *run) enter(ctx context.Context) (Turn, *Outcome) {
	turn, err := p.Gate.Enter(ctx, p.emit)
	if err == nil {
		err = turn.Lost()
		if err != nil {
			turn.Leave(false)
		}
	}
	if err == nil {
		return turn, nil
	}
	oc := &Outcome{Result: ResultError, Err: err, Hint: hintOf(err), Unchanged: true, Usage: errors.Is(err, rotation.ErrConfig)}
	switch {
	case errors.Is(err, ErrRefused):
		oc.Result = ResultRefused
	case ctx.Err() != nil:
		oc.Result = ResultInterrupted
		oc.Err = interrupted(ctx, "while waiting for a turn, before anything changed")
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	oc.Rotation = p.status(sctx)
	return nil, oc
}

// leave lets go of the turn after the change. A lock lost while the server
// was being taken out is said loudly: the server stays out (the change is
// done, and the pool read back after it kept the budget), the run carries
// on, and the operator knows another drain may have decided meanwhile.
func (p *run) leave(turn Turn, changed bool) {
	if err := turn.Lost(); err != nil && changed {
		p.emit(Event{Event: EvWarning, Message: fmt.Sprintf("the pool lock was lost while taking the server out (%v): the pool read back after the change keeps the budget, so the server stays OUT and the run goes on; check the pool (drain status --pool)", err)})
	}
	turn.Leave(changed)
}

// maxTurns bounds how often a run takes its server out, finds the pool
// below the budget and puts it back, when it may wait for another turn.
const maxTurns = 3

// confirm ends a turn after the change. A change that landed (landed) is
// read back through the pool (Turn.Confirm); if that breaks the budget, the
// server goes back in at once with the record's undo (nothing has run yet)
// and the run stops with it IN (refused: exit 5), or goes back to wait for
// a turn (again) while the Gate allows it. keep says the server is out by
// this run when the turn is let go (its records stay).
func (p *run) confirm(ctx context.Context, turn Turn, rec *state.Record, landed, keep bool, attempt int) (oc *Outcome, again bool) {
	if !landed {
		p.leave(turn, keep)
		return nil, false
	}
	cerr := turn.Confirm(ctx)
	if cerr == nil {
		p.leave(turn, keep)
		return nil, false
	}
	what := cerr.Error()
	if errors.Is(cerr, ErrRefused) {
		what = "the pool read back after the change is below the budget"
	}
	p.emit(Event{Event: EvWarning, Message: what + ": putting the server back into rotation (nothing has run)"})
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := p.putIn(uctx, rec); err != nil {
		turn.Leave(true) // it is still out: its records stay
		return &Outcome{Result: ResultError, Err: fmt.Errorf("%w; putting the server back failed: %w", cerr, err), Rotation: p.status(uctx), RestoreFailed: true}, false
	}
	turn.Leave(false)
	if errors.Is(cerr, ErrTurnAgain) && attempt < maxTurns && ctx.Err() == nil {
		return nil, true
	}
	oc = &Outcome{Result: ResultError, Err: cerr, Hint: hintOf(cerr), Unchanged: true, Rotation: rotation.In}
	if errors.Is(cerr, ErrRefused) {
		oc.Result = ResultRefused
	}
	return oc, false
}
