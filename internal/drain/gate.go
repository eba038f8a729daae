package drain

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/drain-cli/drain/internal/rotation"
)

// Gate is asked before a server leaves rotation: the disruption budget
// (--min-in-rotation), waiting for a turn, the pool's lock. Enter returns
// once the server may go, holding whatever makes the check and the change
// one step (a lock per pool), or an error with nothing changed: one wrapping
// ErrRefused when the budget says no. The run calls Lost just before and
// just after the change, then Leave.
type Gate interface {
	Enter(ctx context.Context, emit func(Event)) (Turn, error)
}

// Turn is a granted Enter.
type Turn interface {
	// Lost says the lock Enter took is no longer held (an etcd lease that
	// expired or could not be renewed): nil while it holds.
	Lost() error
	// Leave lets go of the lock, after the change (changed says the server
	// was taken out by this run) or after it failed.
	Leave(changed bool)
}

// ErrRefused marks a Gate's refusal: taking the server out would break the
// disruption budget. Nothing was changed.
var ErrRefused = errors.New("refused")

// Hinter is an error that says what to do about it.
type Hinter interface{ Hint() string }

func hintOf(err error) string {
	var h Hinter
	if errors.As(err, &h) {
		return h.Hint()
	}
	return ""
}

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
// done and verified), the run carries on, and the operator knows another
// drain may have counted it as still in rotation.
func (p *run) leave(turn Turn, changed bool) {
	if err := turn.Lost(); err != nil && changed {
		p.emit(Event{Event: EvWarning, Message: fmt.Sprintf("the pool lock was lost while taking the server out (%v): the server is OUT as intended and the run goes on, but another drain may have decided on the pool meanwhile; check the pool (drain status --pool)", err)})
	}
	turn.Leave(changed)
}
