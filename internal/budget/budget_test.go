package budget

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/clock/clocktest"
	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/haproxy/haproxytest"
	"github.com/drain-cli/drain/internal/rotation"
	"github.com/drain-cli/drain/internal/state"
)

type events struct {
	mu sync.Mutex
	ev []drain.Event
}

func (e *events) emit(ev drain.Event) { e.mu.Lock(); e.ev = append(e.ev, ev); e.mu.Unlock() }

func (e *events) text() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b strings.Builder
	for _, ev := range e.ev {
		b.WriteString(ev.Event + ": " + ev.Message + "\n")
	}
	return b.String()
}

// guard is a Guard of server on lb's backend web, its waits (for a turn,
// for the machine's lock) on clk: nothing in these tests sleeps; a test
// moves clk (Advance) once the guard waits on it.
func guard(t *testing.T, lb *haproxytest.Fake, clk *clocktest.Fake, server string, min int, wait time.Duration) *Guard {
	t.Helper()
	h, err := rotation.NewHAProxy([]string{lb.Addr + "#web/" + server}, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	store := state.Store{Dir: t.TempDir()}
	return &Guard{
		Pooler: h, Pools: []string{h.PoolID()}, Min: min, WaitTurn: wait, Interval: 100 * time.Millisecond, LockWait: 5 * time.Second,
		Locks: []Locker{&Local{Store: store, Me: Me("run", server, ""), Clock: clk}},
		Clock: clk,
	}
}

// waitFor returns once the events say want (the guard then waits on its
// clock, or is about to), failing after 30 s of real time.
func (e *events) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(e.text(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in 30s; events:\n%s", want, e.text())
		}
		time.Sleep(time.Millisecond)
	}
}

type entered struct {
	turn drain.Turn
	err  error
}

// enter runs g.Enter in the background.
func enter(ctx context.Context, g *Guard, ev *events) <-chan entered {
	ch := make(chan entered, 1)
	go func() {
		turn, err := g.Enter(ctx, ev.emit)
		ch <- entered{turn, err}
	}()
	return ch
}

func TestCountPool(t *testing.T) {
	p := rotation.Pool{Name: "web", Members: []rotation.Member{
		{Name: "a", InRotation: true, Self: true},
		{Name: "b", InRotation: true},
		{Name: "c", Admin: "drain", Health: "up"},
	}}
	c, err := CountPool(p)
	if err != nil || c.Others != 1 || c.Total != 3 || !c.SelfIn || c.Self != "a" || len(c.NotInNames) != 1 || c.NotInNames[0] != "c (drain, up)" {
		t.Fatalf("%+v %v", c, err)
	}
	p.Members[0].Self = false
	if _, err := CountPool(p); !errors.Is(err, rotation.ErrConfig) || !strings.Contains(err.Error(), "a, b, c") {
		t.Fatalf("no self: %v", err)
	}
}

// 3 servers, one out, budget 2: taking a out would leave 1: refused at
// once, exit-5 error, message and hint as documented.
func TestRefused(t *testing.T) {
	lb := haproxytest.New(t, "web/a", "web/b", "web/c")
	lb.Set("web/c", haproxytest.Server{Admin: 0x08})
	var ev events
	_, err := guard(t, lb, clocktest.New(time.Now()), "a", 2, 0).Enter(context.Background(), ev.emit)
	var re *RefusedError
	if !errors.As(err, &re) || !errors.Is(err, drain.ErrRefused) {
		t.Fatalf("err %v", err)
	}
	if err.Error() != "refused: taking a out would leave 1 in rotation, the budget is 2" {
		t.Errorf("message %q", err)
	}
	if h := re.Hint(); !strings.Contains(h, "c (drain, up)") || !strings.Contains(h, "--wait-turn") {
		t.Errorf("hint %q", h)
	}
	for _, c := range lb.Commands {
		if strings.HasPrefix(c, "set ") {
			t.Errorf("changed something: %q", c)
		}
	}
}

// Budget met: the turn is granted holding the pool lock (a second guard on
// the same pool waits for it), and Leave frees it.
func TestGrantedHoldsLock(t *testing.T) {
	lb := haproxytest.New(t, "web/a", "web/b", "web/c")
	g := guard(t, lb, clocktest.New(time.Now()), "a", 2, 0)
	var ev events
	turn, err := g.Enter(context.Background(), ev.emit)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ev.text(), "budget ok: 2 other(s) of 3 stay in rotation, budget 2") {
		t.Errorf("events:\n%s", ev.text())
	}
	clk := clocktest.New(time.Now())
	g2 := guard(t, lb, clk, "b", 1, 0)
	g2.Locks = []Locker{&Local{Store: g.Locks[0].(*Local).Store, Me: Me("run", "b", ""), Clock: clk}} // same machine, same state directory
	g2.LockWait = 500 * time.Millisecond
	var ev2 events
	done := enter(context.Background(), g2, &ev2)
	ev2.waitFor(t, "waiting for the pool lock")
	clk.WaitForWaiters(t, 2) // the lock's retry and LockWait
	clk.Advance(499 * time.Millisecond)
	select {
	case r := <-done:
		t.Fatalf("gave up before LockWait: %v", r.err)
	case <-time.After(50 * time.Millisecond):
	}
	clk.Advance(time.Millisecond)
	err = (<-done).err
	var busy *LockBusyError
	if !errors.As(err, &busy) || !strings.Contains(ev2.text(), "waiting for the pool lock (this machine's lock): held by drain run (pid") {
		t.Fatalf("second guard while the lock is held: %v\n%s", err, ev2.text())
	}
	turn.Leave(false)
	t2, err := g2.Enter(context.Background(), ev2.emit)
	if err != nil {
		t.Fatalf("after Leave: %v", err)
	}
	t2.Leave(false)
}

// Waiting for a turn: refused now, granted once another server is back,
// having said what it waits for.
func TestWaitTurnGranted(t *testing.T) {
	lb := haproxytest.New(t, "web/a", "web/b", "web/c")
	lb.Set("web/c", haproxytest.Server{Admin: 0x08})
	clk := clocktest.New(time.Now())
	g := guard(t, lb, clk, "a", 2, 30*time.Second)
	var ev events
	done := enter(context.Background(), g, &ev)
	ev.waitFor(t, "waiting for a turn")
	clk.WaitForWaiters(t, 1)
	lb.Set("web/c", haproxytest.Server{})
	clk.Advance(g.Interval)
	r := <-done
	turn, err := r.turn, r.err
	if err != nil {
		t.Fatalf("%v\n%s", err, ev.text())
	}
	turn.Leave(false)
	if !strings.Contains(ev.text(), "waiting for a turn: 1 of 3 in rotation without a, budget 2; not in rotation: c (drain, up)") {
		t.Errorf("events:\n%s", ev.text())
	}
}

// At the deadline the wait ends as a refusal that says how long it waited;
// an interrupt ends it as the context's error.
func TestWaitTurnDeadlineAndInterrupt(t *testing.T) {
	lb := haproxytest.New(t, "web/a", "web/b")
	lb.Set("web/b", haproxytest.Server{Down: true})
	var ev events
	_, err := guard(t, lb, clocktest.NewAuto(time.Now()), "a", 1, 700*time.Millisecond).Enter(context.Background(), ev.emit)
	var re *RefusedError
	if !errors.As(err, &re) || re.Waited < 700*time.Millisecond || re.Left != 0 || !strings.Contains(re.Hint(), "b (enabled, down)") {
		t.Fatalf("deadline: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	clk := clocktest.New(time.Now())
	var ev2 events
	done := enter(ctx, guard(t, lb, clk, "a", 1, time.Minute), &ev2)
	ev2.waitFor(t, "waiting for a turn")
	clk.WaitForWaiters(t, 1)
	cancel()
	err = (<-done).err
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupt: %v", err)
	}
}

// A server that is not in rotation already (down) can go: it takes nothing away.
func TestSelfNotInRotation(t *testing.T) {
	lb := haproxytest.New(t, "web/a", "web/b")
	lb.Set("web/a", haproxytest.Server{Down: true})
	lb.Set("web/b", haproxytest.Server{Admin: 0x08})
	var ev events
	turn, err := guard(t, lb, clocktest.New(time.Now()), "a", 1, 0).Enter(context.Background(), ev.emit)
	if err != nil {
		t.Fatal(err)
	}
	turn.Leave(false)
	if !strings.Contains(ev.text(), "a is not in rotation now") {
		t.Errorf("events:\n%s", ev.text())
	}
}

// The balancer unreachable: an error, not a refusal, and no lock left held.
func TestPoolUnreadable(t *testing.T) {
	h, err := rotation.NewHAProxy([]string{"127.0.0.1:1#web/a"}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	store := state.Store{Dir: t.TempDir()}
	g := &Guard{Pooler: h, Pools: []string{h.PoolID()}, Min: 1, Locks: []Locker{&Local{Store: store, Me: Me("run", "a", "")}}}
	_, err = g.Enter(context.Background(), func(drain.Event) {})
	if err == nil || errors.Is(err, drain.ErrRefused) || !strings.Contains(err.Error(), "read the pool") {
		t.Fatalf("err %v", err)
	}
	lk, _, err := store.Lock(LocalKey(h.PoolID()), state.Holder{PID: 1})
	if err != nil {
		t.Fatalf("lock left held: %v", err)
	}
	lk.Release()
}

// Confirm reads the pool back after the change: with the server out and
// another gone meanwhile, below the budget is a refusal (and, while
// --wait-turn time is left, a turn again); at or above it, nil. Hold
// spans the check and the change: held from the granted check to Leave.
func TestConfirm(t *testing.T) {
	lb := haproxytest.New(t, "web/a", "web/b", "web/c")
	for _, wait := range []time.Duration{0, time.Minute} {
		g := guard(t, lb, clocktest.New(time.Now()), "a", 1, wait)
		holds := 0
		g.Hold = func() func() { holds++; return func() { holds-- } }
		var ev events
		turn, err := g.Enter(context.Background(), ev.emit)
		if err != nil {
			t.Fatal(err)
		}
		if holds != 1 {
			t.Fatalf("holds %d after Enter", holds)
		}
		lb.Set("web/a", haproxytest.Server{Admin: 0x08}) // our change
		if err := turn.Confirm(context.Background()); err != nil {
			t.Fatalf("b and c in: %v", err)
		}
		lb.Set("web/b", haproxytest.Server{Admin: 0x08}) // another drain went
		lb.Set("web/c", haproxytest.Server{Admin: 0x08})
		err = turn.Confirm(context.Background())
		var be *BrokenError
		if !errors.As(err, &be) || !errors.Is(err, drain.ErrRefused) || be.Left != 0 || !strings.Contains(be.Hint(), "put back") {
			t.Fatalf("below the budget: %v", err)
		}
		if errors.Is(err, drain.ErrTurnAgain) != (wait > 0) {
			t.Errorf("--wait-turn %s: turn again %v", wait, errors.Is(err, drain.ErrTurnAgain))
		}
		turn.Leave(false)
		if holds != 0 {
			t.Errorf("holds %d after Leave", holds)
		}
		for _, s := range []string{"web/a", "web/b", "web/c"} {
			lb.Set(s, haproxytest.Server{})
		}
	}
}

// flaky is a lock whose first holds are found lost (a lease with too little
// left for the change, or gone) when the turn would be granted.
type flaky struct {
	lostFirst int
	locks     int
	released  int
}

func (f *flaky) Name() string { return "flaky" }

func (f *flaky) Lock(context.Context, string, func(string)) (Held, error) {
	f.locks++
	return &flakyHeld{f: f, n: f.locks}, nil
}

type flakyHeld struct {
	f *flaky
	n int
}

func (h *flakyHeld) Lost() error {
	if h.n <= h.f.lostFirst {
		return errors.New("only 0.5s of its lease left")
	}
	return nil
}

func (h *flakyHeld) Release() { h.f.released++ }

// A lock found lost (or too short for the change) when the turn would be
// granted is let go and taken again; three times in a row is an error.
func TestEnterRetriesLostLock(t *testing.T) {
	lb := haproxytest.New(t, "web/a", "web/b")
	g := guard(t, lb, clocktest.New(time.Now()), "a", 1, 0)
	f := &flaky{lostFirst: 1}
	g.Locks = []Locker{f}
	var ev events
	turn, err := g.Enter(context.Background(), ev.emit)
	if err != nil {
		t.Fatal(err)
	}
	turn.Leave(false)
	if f.locks != 2 || f.released != 2 || !strings.Contains(ev.text(), "the pool lock was lost before the change") {
		t.Errorf("locks %d released %d\n%s", f.locks, f.released, ev.text())
	}
	f = &flaky{lostFirst: 5}
	g.Locks = []Locker{f}
	if _, err := g.Enter(context.Background(), ev.emit); err == nil || f.locks != 3 || f.released != 3 {
		t.Errorf("always lost: %v, locks %d released %d", err, f.locks, f.released)
	}
}

// A roll moves on as soon as the budget allows: while it waits for a turn,
// the guard reads the pool (without the locks) every Peek, and checks
// under the locks as soon as the count would allow, not only every
// Interval. Here Interval is 3 s and c comes back 0.2 s into the wait (of
// the guard's clock).
func TestWaitTurnPeeksPromptly(t *testing.T) {
	lb := haproxytest.New(t, "web/a", "web/b", "web/c")
	lb.Set("web/c", haproxytest.Server{Admin: 0x08})
	clk := clocktest.New(time.Now())
	g := guard(t, lb, clk, "a", 2, 30*time.Second)
	g.Interval, g.Peek = 3*time.Second, 100*time.Millisecond
	var ev events
	done := enter(context.Background(), g, &ev)
	ev.waitFor(t, "waiting for a turn")
	clk.WaitForWaiters(t, 1)
	clk.Advance(100 * time.Millisecond) // a peek: c is still out
	clk.WaitForWaiters(t, 1)
	lb.Set("web/c", haproxytest.Server{})
	clk.Advance(100 * time.Millisecond) // the next peek sees c back
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("%v\n%s", r.err, ev.text())
		}
		r.turn.Leave(false)
	case <-time.After(30 * time.Second):
		t.Fatalf("no turn 0.2 s into the wait, with c back 0.1 s before: it waits for the 3 s Interval\n%s", ev.text())
	}
}
