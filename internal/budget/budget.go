// Package budget is the disruption budget of a pool (--min-in-rotation):
// before a server leaves rotation, read the pool from the load balancer and
// count the servers still in rotation without it; refuse, or wait for a
// turn (--wait-turn), when fewer than the budget would remain. The check
// and the change are made under the pool's locks (a machine-wide file lock,
// and an etcd lease with --lock etcd:URL), so two drains never both take the
// last free slot.
package budget

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/drain-cli/drain/internal/clock"
	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/rotation"
	"github.com/drain-cli/drain/internal/usage"
)

// Locker takes a pool's lock, waiting while another drain holds it, until
// ctx ends.
type Locker interface {
	// Name says what the lock is, for messages: "this machine's lock",
	// "etcd http://...".
	Name() string
	Lock(ctx context.Context, pool string, waiting func(holder string)) (Held, error)
}

// Held is a held pool lock.
type Held interface {
	Lost() error // nil while held
	Release()
}

// Recorder is a Held lock that can also keep who took which server out
// (etcd: /drain/pools/<pool>/out/<server>). The record is written before
// the change, as the local one is, so that a change the balancer applied
// but answered late has its owner too; ForgetOut removes it when the change
// did not happen or was put back.
type Recorder interface {
	RecordOut(ctx context.Context, server string, r OutRecord) error
	ForgetOut(ctx context.Context, server string) error
}

// OutRecord is who took a server out of a pool, and why.
type OutRecord struct {
	Server  string    `json:"server"`
	Target  string    `json:"target,omitempty"`
	By      string    `json:"by,omitempty"`
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Command string    `json:"command,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	Since   time.Time `json:"since"`
}

// Guard is a drain.Gate: the budget check under the pool's locks.
type Guard struct {
	Pooler rotation.Pooler
	// Pools identify the pool for locks and records, e.g.
	// "haproxy:unix:/run/haproxy/admin.sock#web": each is locked, in order.
	Pools    []string
	Min      int           // --min-in-rotation: others that must stay in rotation
	WaitTurn time.Duration // 0: refuse at once
	Interval time.Duration // between checks while waiting (1 s when 0)
	// Peek, when set, is how often a wait for a turn reads the pool
	// between checks, without the locks: once the count would allow the
	// change, the check under the locks comes at once, not at the next
	// Interval (a roll moves on as soon as the budget allows).
	Peek time.Duration
	// LockWait bounds waiting for a lock another drain holds when WaitTurn
	// is shorter (a holder keeps it only for a check and a change).
	LockWait time.Duration
	Locks    []Locker // taken in order, released in reverse
	Record   OutRecord
	// Hold, when set, is called once the locks are held and the pool is
	// being checked, and its result when they are let go: the CLI defers a
	// terminal's Ctrl-Z (SIGTSTP) over that span, so that a stop does not
	// outlast the lock's lease between the check and the change.
	Hold func() (release func())
	// Clock is the time of the wait for a turn and for a lock (the real
	// clock when nil; a fake one in tests).
	Clock clock.Clock
}

// RefusedError is the budget's no: taking Server out would leave Left of
// Total in rotation, fewer than Min.
type RefusedError struct {
	Server      string
	Left, Total int
	Min         int
	Waited      time.Duration // >0: refused after waiting this long for a turn
	Out         []string      // the others not in rotation, with why
}

func (e *RefusedError) Error() string {
	s := fmt.Sprintf("refused: taking %s out would leave %d in rotation, the budget is %d", e.Server, e.Left, e.Min)
	if e.Waited > 0 {
		s += fmt.Sprintf(" (waited %s for a turn)", e.Waited.Round(time.Second))
	}
	return s
}

func (e *RefusedError) Unwrap() error { return drain.ErrRefused }

// Hint implements drain.Hinter.
func (e *RefusedError) Hint() string {
	h := "nothing was changed; "
	if len(e.Out) > 0 {
		h += "not in rotation: " + strings.Join(e.Out, ", ") + "; "
	}
	if e.Waited > 0 {
		return h + "bring one of them back (drain in), or wait longer (--wait-turn)"
	}
	return h + "bring one back (drain in) first, add --wait-turn DUR to wait for a turn, or lower --min-in-rotation"
}

// Count is what a pool view says for a server: how many others are in
// rotation, of how many servers, and whether the server itself is.
type Count struct {
	Self       string
	SelfIn     bool
	Others     int // others in rotation
	Total      int // servers in the pool, the server included
	NotInNames []string
}

// CountPool counts the pool's servers in rotation, not counting the one
// marked Self, nor those that leave rotation with it (they track it: see
// rotation.Member.LeavesWith), which are listed in NotInNames with why. A
// pool where no member is Self is an error: the server is not in the pool
// it was read from.
func CountPool(p rotation.Pool) (Count, error) {
	var c Count
	found := false
	var names []string
	for _, m := range p.Members {
		names = append(names, m.Name)
		c.Total++
		if m.Self {
			found = true
			c.Self = m.Name
			c.SelfIn = m.InRotation
		}
	}
	if !found {
		return c, usage.New("name this server as the balancer does (the pool's names above), or read the pool it is in",
			"the server is not in pool %q (it has: %s)", p.Name, strings.Join(names, ", "))
	}
	for _, m := range p.Members {
		switch {
		case m.Self:
		case m.InRotation && slices.Contains(m.LeavesWith, c.Self):
			c.NotInNames = append(c.NotInNames, fmt.Sprintf("%s (tracks %s: leaves rotation with it)", m.Name, c.Self))
		case m.InRotation:
			c.Others++
		case m.Why != "":
			c.NotInNames = append(c.NotInNames, fmt.Sprintf("%s (%s, %s, %s)", m.Name, m.Admin, m.Health, m.Why))
		default:
			c.NotInNames = append(c.NotInNames, fmt.Sprintf("%s (%s, %s)", m.Name, m.Admin, m.Health))
		}
	}
	return c, nil
}

type turn struct {
	held     []Held
	g        *Guard
	emit     func(drain.Event)
	start    time.Time // when the run began waiting for its turn
	rec      OutRecord
	recorded []Recorder // holding an out record written at Enter
	unhold   func()
}

func (t *turn) Lost() error {
	for _, h := range t.held {
		if err := h.Lost(); err != nil {
			return err
		}
	}
	return nil
}

// Confirm implements drain.Turn: read the pool again after the change. A
// drain paused between its check and its change for longer than its lock's
// lease (Ctrl-Z, SIGSTOP, a VM pause) may wake to find that another drain
// took its own server out meanwhile; the budget is what the balancer shows
// now, with this server out.
func (t *turn) Confirm(ctx context.Context) error {
	lost := t.Lost()
	p, err := t.g.Pooler.Pool(ctx)
	var c Count
	if err == nil {
		c, err = CountPool(p)
	}
	if err != nil {
		if lost == nil {
			// The check before the change was made under the lock, which
			// still holds: no other drain can have gone meanwhile.
			t.emit(drain.Event{Event: drain.EvWarning, Message: fmt.Sprintf("could not read the pool back after the change (%v); the check before it was made under the pool lock, which still holds", err)})
			return nil
		}
		return fmt.Errorf("the pool lock was lost (%w) and the pool could not be read back after the change (%w): the budget cannot be confirmed", lost, err)
	}
	if c.Others >= t.g.Min {
		return nil
	}
	e := &BrokenError{Server: c.Self, Left: c.Others, Total: c.Total, Min: t.g.Min, Out: c.NotInNames, Lost: lost}
	if t.g.WaitTurn > 0 && t.g.clock().Now().Before(t.start.Add(t.g.WaitTurn)) {
		e.Again = true
	}
	return e
}

// BrokenError says the pool read back after the change is below the
// budget: another drain went while this one's lock was lost (it was paused
// past the lease), or a server failed meanwhile. The server is put back.
type BrokenError struct {
	Server      string
	Left, Total int
	Min         int
	Out         []string
	Lost        error // the lock lost meanwhile, if it was
	Again       bool  // time is left to wait for another turn
}

func (e *BrokenError) Error() string {
	s := fmt.Sprintf("refused after the change: with %s out the pool has %d in rotation, the budget is %d", e.Server, e.Left, e.Min)
	if e.Lost != nil {
		s += fmt.Sprintf(" (the pool lock was lost meanwhile: %v)", e.Lost)
	}
	return s
}

func (e *BrokenError) Unwrap() []error {
	if e.Again {
		return []error{drain.ErrRefused, drain.ErrTurnAgain}
	}
	return []error{drain.ErrRefused}
}

// Hint implements drain.Hinter.
func (e *BrokenError) Hint() string {
	h := "the server was put back before anything ran; "
	if len(e.Out) > 0 {
		h += "not in rotation: " + strings.Join(e.Out, ", ") + "; "
	}
	if e.Lost != nil {
		h += "this drain was paused or cut off from etcd past its lock's lease while another drain went; "
	}
	return h + "run it again once one of them is back (or with --wait-turn DUR)"
}

// Leave implements drain.Turn: let go of the locks. The out records
// written at Enter stay when changed (the server is out by this run), and
// are removed otherwise.
func (t *turn) Leave(changed bool) {
	if !changed {
		for _, r := range t.recorded {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := r.ForgetOut(ctx, t.rec.Server); err != nil {
				t.emit(drain.Event{Event: drain.EvWarning, Message: fmt.Sprintf("could not remove the out record of %s from etcd (%v): 'drain status --pool' may say it is out by this drain", t.rec.Server, err)})
			}
			cancel()
		}
	}
	release(t.held)
	if t.unhold != nil {
		t.unhold()
	}
}

// record writes who takes the server out into every lock that keeps out
// records, before the change.
func (t *turn) record() {
	rec := t.g.Record
	if rec.Server == "" {
		rec.Server = t.rec.Server
	}
	rec.Since = t.g.clock().Now().UTC()
	t.rec = rec
	for _, h := range t.held {
		r, ok := h.(Recorder)
		if !ok {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := r.RecordOut(ctx, rec.Server, rec)
		cancel()
		if err != nil {
			t.emit(drain.Event{Event: drain.EvWarning, Message: fmt.Sprintf("could not record in etcd who takes %s out (%v): 'drain status --pool' will not say who did", rec.Server, err)})
			continue
		}
		t.recorded = append(t.recorded, r)
	}
}

func release(held []Held) {
	for i := len(held) - 1; i >= 0; i-- {
		held[i].Release()
	}
}

// Enter implements drain.Gate: take the locks, read the pool, count; go
// (locks held until Leave), refuse, or let go of the locks and check again
// after Interval until WaitTurn has passed.
func (g *Guard) Enter(ctx context.Context, emit func(drain.Event)) (drain.Turn, error) {
	clk := g.clock()
	start := drain.WaitStartOn(ctx, clk)
	interval := g.Interval
	if interval <= 0 {
		interval = time.Second
	}
	var deadline time.Time
	if g.WaitTurn > 0 {
		deadline = start.Add(g.WaitTurn)
	}
	lastMsg := ""
	lostTries := 0
	for {
		held, c, unhold, err := g.check(ctx, start, emit)
		if err != nil {
			return nil, err
		}
		if !c.SelfIn || c.Others >= g.Min {
			// The locks must still hold now, with time for the change:
			// a pause while the pool was read may have outlived them.
			lerr := error(nil)
			for _, h := range held {
				if lerr = h.Lost(); lerr != nil {
					break
				}
			}
			if lerr != nil {
				release(held)
				unhold()
				if lostTries++; lostTries >= 3 || ctx.Err() != nil {
					return nil, lerr
				}
				emit(drain.Event{Event: drain.EvTurn, Message: fmt.Sprintf("the pool lock was lost before the change (%v); checking again", lerr)})
				continue
			}
			msg := fmt.Sprintf("budget ok: %d other(s) of %d stay in rotation, budget %d", c.Others, c.Total, g.Min)
			if !c.SelfIn {
				msg = fmt.Sprintf("budget ok: %s is not in rotation now, so taking it out takes nothing away (%d of %d in rotation, budget %d)", c.Self, c.Others, c.Total, g.Min)
			}
			emit(drain.Event{Event: drain.EvTurn, Message: msg})
			t := &turn{held: held, g: g, emit: emit, start: start, rec: OutRecord{Server: c.Self}, unhold: unhold}
			if c.SelfIn {
				t.record()
			}
			return t, nil
		}
		release(held)
		unhold()
		ref := &RefusedError{Server: c.Self, Left: c.Others, Total: c.Total, Min: g.Min, Out: c.NotInNames}
		now := clk.Now()
		if deadline.IsZero() {
			return nil, ref
		}
		if !now.Before(deadline) {
			ref.Waited = now.Sub(start)
			return nil, ref
		}
		msg := fmt.Sprintf("waiting for a turn: %d of %d in rotation without %s, budget %d", c.Others, c.Total, c.Self, g.Min)
		if len(c.NotInNames) > 0 {
			msg += "; not in rotation: " + strings.Join(c.NotInNames, ", ")
		}
		if msg != lastMsg {
			emit(drain.Event{Event: drain.EvTurn, Message: msg, Elapsed: drain.Seconds(now.Sub(start).Seconds()), Remaining: secsPtr(deadline.Sub(now))})
			lastMsg = msg
		}
		if err := g.pause(ctx, clk, min(interval, max(deadline.Sub(clk.Now()), 0)+time.Millisecond)); err != nil {
			return nil, err
		}
	}
}

// pause waits d before the next check of a wait for a turn; with Peek it
// reads the pool every Peek meanwhile (no locks: only a hint) and ends as
// soon as the count would allow the change. A read that fails is left to
// the next check to report.
func (g *Guard) pause(ctx context.Context, clk clock.Clock, d time.Duration) error {
	end := clk.Now().Add(d)
	for {
		step := end.Sub(clk.Now())
		if g.Peek > 0 {
			step = min(step, g.Peek)
		}
		if step <= 0 {
			return nil
		}
		if err := clock.Sleep(ctx, clk, step); err != nil {
			return err
		}
		if g.Peek <= 0 || !clk.Now().Before(end) {
			return nil
		}
		if p, err := g.Pooler.Pool(ctx); err == nil {
			if c, err := CountPool(p); err == nil && (!c.SelfIn || c.Others >= g.Min) {
				return nil
			}
		}
	}
}

// clock is the Guard's clock, the real one when none is set.
func (g *Guard) clock() clock.Clock { return clock.Or(g.Clock) }

func secsPtr(d time.Duration) *drain.Seconds {
	s := drain.Seconds(d.Seconds())
	return &s
}

// check takes every lock and reads the pool once; unhold ends the Hold
// taken once the locks are held (a no-op without Hold).
func (g *Guard) check(ctx context.Context, start time.Time, emit func(drain.Event)) (held []Held, c Count, unhold func(), err error) {
	for _, lp := range g.lockPairs() {
		l, pool := lp.l, lp.pool
		lctx, cancel := ctx, context.CancelFunc(func() {})
		if wait := max(g.LockWait, start.Add(g.WaitTurn).Sub(g.clock().Now())); wait > 0 {
			lctx, cancel = clock.WithTimeout(ctx, g.clock(), wait)
		}
		said := ""
		h, err := l.Lock(lctx, pool, func(holder string) {
			if holder != said {
				said = holder
				emit(drain.Event{Event: drain.EvTurn, Message: fmt.Sprintf("waiting for the pool lock (%s): held by %s", l.Name(), holderText(holder))})
			}
		})
		lockCtxErr := lctx.Err()
		cancel()
		if err != nil {
			release(held)
			if ctx.Err() != nil {
				return nil, Count{}, nil, ctx.Err()
			}
			if lockCtxErr != nil && errors.Is(err, lockCtxErr) {
				return nil, Count{}, nil, &LockBusyError{Lock: l.Name(), Pool: pool, Holder: holderText(said)}
			}
			return nil, Count{}, nil, err
		}
		held = append(held, h)
	}
	unhold = func() {}
	if g.Hold != nil {
		unhold = g.Hold()
	}
	p, err := g.Pooler.Pool(ctx)
	if err != nil {
		release(held)
		unhold()
		return nil, Count{}, nil, fmt.Errorf("read the pool for the budget: %w", err)
	}
	c, err = CountPool(p)
	if err != nil {
		release(held)
		unhold()
		return nil, Count{}, nil, err
	}
	return held, c, unhold, nil
}

type lockPair struct {
	l    Locker
	pool string
}

// lockPairs: every lock of every pool ID, this machine's first.
func (g *Guard) lockPairs() []lockPair {
	var out []lockPair
	for _, l := range g.Locks {
		for _, p := range g.Pools {
			out = append(out, lockPair{l, p})
		}
	}
	return out
}

// LockBusyError says another drain held the pool's lock for longer than this one
// would wait.
type LockBusyError struct {
	Lock, Pool, Holder string
}

func (e *LockBusyError) Error() string {
	return fmt.Sprintf("the pool lock (%s) on %s stayed held by %s", e.Lock, e.Pool, e.Holder)
}

// Hint implements drain.Hinter.
func (e *LockBusyError) Hint() string {
	return "nothing was changed; a drain holds the pool lock only while it checks and takes its server out: if it is stuck, stop it (a dead holder frees the lock), or give --wait-turn a longer time"
}

// holderText turns a lock holder's JSON (state.Holder, as both locks write
// it) into words; raw text when it is not JSON.
func holderText(h string) string {
	if strings.TrimSpace(h) == "" {
		return "another drain"
	}
	var hd Holder
	if err := jsonUnmarshal([]byte(h), &hd); err != nil || hd.PID == 0 {
		return h
	}
	s := fmt.Sprintf("drain %s (pid %d", hd.Command, hd.PID)
	if me, _ := os.Hostname(); hd.Host != "" && hd.Host != me {
		s += " on " + hd.Host
	}
	s += ")"
	if hd.Server != "" {
		s += " for " + hd.Server
	}
	return s
}
