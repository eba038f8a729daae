package drain

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drain-cli/drain/internal/action"

	"github.com/drain-cli/drain/internal/rotation"
)

// gate is a Gate whose answers the test sets: the real ones (budget.Guard
// over HAProxy and etcd) are tested in internal/budget and internal/e2e;
// this is about what the run does with each answer.
type gate struct {
	enterErr   error
	lostBefore error // Lost's answer on its first call (just before out)
	lostAfter  error // and on its second (just after)
	calls      int
	left       []bool
	confirms   []error // Confirm's answers, one per call (nil after)
	confirmed  int
}

func (g *gate) Confirm(context.Context) error {
	g.confirmed++
	if len(g.confirms) == 0 {
		return nil
	}
	err := g.confirms[0]
	g.confirms = g.confirms[1:]
	return err
}

func (g *gate) Enter(context.Context, func(Event)) (Turn, error) {
	if g.enterErr != nil {
		return nil, g.enterErr
	}
	return g, nil
}

func (g *gate) Lost() error {
	g.calls++
	if g.calls == 1 {
		return g.lostBefore
	}
	return g.lostAfter
}

func (g *gate) Leave(changed bool) { g.left = append(g.left, changed) }

type hinted struct{ error }

func (hinted) Hint() string { return "the hint" }

func (h hinted) Unwrap() error { return h.error }

func TestGateRefusedChangesNothing(t *testing.T) {
	p, page, rec := newPlan(t, &scripted{})
	p.Gate = &gate{enterErr: hinted{fmt.Errorf("refused: taking x out would leave 0 in rotation, the budget is 1: %w", ErrRefused)}}
	oc := p.Out(context.Background(), rec.emit)
	if oc.Result != ResultRefused || !oc.Unchanged || oc.Rotation != rotation.In || oc.Hint != "the hint" || !exists(page) {
		t.Fatalf("outcome %+v, page there %v", oc, exists(page))
	}
}

func TestGateErrorAndInterrupt(t *testing.T) {
	p, page, rec := newPlan(t, &scripted{})
	p.Gate = &gate{enterErr: errors.New("etcd unreachable")}
	if oc := p.Run(context.Background(), rec.emit); oc.Result != ResultError || !oc.Unchanged || oc.Rotation != rotation.In || !exists(page) {
		t.Fatalf("error: %+v", oc)
	}
	// The pool cannot be known from the balancer's configuration (bad
	// input): exit 2, nothing changed.
	p.Gate = &gate{enterErr: fmt.Errorf("read the pool for the budget: %w", fmt.Errorf("%w: FILE has server lines both inside upstream blocks and outside any", rotation.ErrConfig))}
	if oc := p.Run(context.Background(), rec.emit); oc.Result != ResultError || !oc.Usage || !oc.Unchanged || oc.Rotation != rotation.In || !exists(page) {
		t.Fatalf("bad input: %+v", oc)
	}
	// Ctrl-C while Enter waits for a turn.
	ctx, cancel := context.WithCancel(context.Background())
	p.Gate = gateFunc(func(context.Context) error { cancel(); return context.Canceled })
	oc := p.Out(ctx, rec.emit)
	if oc.Result != ResultInterrupted || !oc.Unchanged || oc.Rotation != rotation.In || !strings.Contains(oc.Err.Error(), "before anything changed") || !exists(page) {
		t.Fatalf("interrupt: %+v", oc)
	}
}

type gateFunc func(context.Context) error

func (f gateFunc) Enter(ctx context.Context, _ func(Event)) (Turn, error) { return nil, f(ctx) }

// The lock lost between the check and the change: stop, nothing changed.
func TestGateLostBeforeOut(t *testing.T) {
	p, page, rec := newPlan(t, &scripted{})
	g := &gate{lostBefore: errors.New("etcd lock lost: the lease expired")}
	p.Gate = g
	oc := p.Out(context.Background(), rec.emit)
	if oc.Result != ResultError || !oc.Unchanged || oc.Rotation != rotation.In || !strings.Contains(oc.Err.Error(), "lease expired") || !exists(page) {
		t.Fatalf("outcome %+v", oc)
	}
	if len(g.left) != 1 || g.left[0] {
		t.Errorf("Leave calls %v, want one, unchanged", g.left)
	}
}

// The lock lost while the server was being taken out: it stays OUT, the
// run says so and goes on.
func TestGateLostDuringOut(t *testing.T) {
	p, page, rec := newPlan(t, &scripted{})
	g := &gate{lostAfter: errors.New("etcd lock lost: the lease expired")}
	p.Gate = g
	oc := p.Out(context.Background(), rec.emit)
	if oc.Result != ResultOK || oc.Rotation != rotation.Out || exists(page) {
		t.Fatalf("outcome %+v", oc)
	}
	w, ok := rec.find(EvWarning)
	if !ok || !strings.Contains(w.Message, "pool lock was lost while taking the server out") || !strings.Contains(w.Message, "OUT") {
		t.Errorf("warning %+v", w)
	}
	if len(g.left) != 1 || !g.left[0] {
		t.Errorf("Leave calls %v, want one, changed", g.left)
	}
}

// The pool read back after the change is below the budget (this run was
// paused past its lease and another drain went meanwhile): the server goes
// back in with the record's undo, the action never runs, refused with the
// server IN and no record left.
func TestGateConfirmBrokenPutsBack(t *testing.T) {
	p, page, rec := newPlan(t, &scripted{})
	ran := filepath.Join(t.TempDir(), "ran")
	p.Action = &action.Exec{Argv: []string{"touch", ran}}
	g := &gate{confirms: []error{hinted{fmt.Errorf("the pool fell below the budget: %w", ErrRefused)}}}
	p.Gate = g
	oc := p.Run(context.Background(), rec.emit)
	if oc.Result != ResultRefused || oc.Rotation != rotation.In || !exists(page) || exists(ran) {
		t.Fatalf("outcome %+v, page there %v, action ran %v", oc, exists(page), exists(ran))
	}
	if r, err := rotation.LoadRecord(p.Store, p.Rotator); err != nil || r != nil {
		t.Errorf("record left: %+v %v", r, err)
	}
	if len(g.left) != 1 || g.left[0] {
		t.Errorf("Leave calls %v, want one, not changed", g.left)
	}
	if _, ok := rec.find(EvIn); !ok {
		t.Error("no event says the server was put back")
	}
}

// Confirm says the budget broke but time is left to wait: put back, a new
// turn, out again; the run goes on.
func TestGateConfirmTurnAgain(t *testing.T) {
	p, page, rec := newPlan(t, &scripted{})
	g := &gate{confirms: []error{fmt.Errorf("below the budget: %w", errors.Join(ErrRefused, ErrTurnAgain))}}
	p.Gate = g
	oc := p.Out(context.Background(), rec.emit)
	if oc.Result != ResultOK || oc.Rotation != rotation.Out || exists(page) {
		t.Fatalf("outcome %+v", oc)
	}
	if g.confirmed != 2 || len(g.left) != 2 || g.left[0] || !g.left[1] {
		t.Errorf("confirms %d, Leave calls %v", g.confirmed, g.left)
	}
}

// A change that never lands is not confirmed: nothing to read back.
func TestGateNoConfirmWithoutChange(t *testing.T) {
	p, _, rec := newPlan(t, &scripted{})
	g := &gate{enterErr: nil}
	p.Gate = g
	if oc := p.Out(context.Background(), rec.emit); oc.Result != ResultOK {
		t.Fatalf("%+v", oc)
	}
	// out again: already out by a record, no turn at all
	if oc := p.Out(context.Background(), rec.emit); oc.Result != ResultOK || g.confirmed != 1 {
		t.Fatalf("%+v confirmed %d", oc, g.confirmed)
	}
}
