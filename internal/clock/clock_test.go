package clock_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/clock"
	"github.com/drain-cli/drain/internal/clock/clocktest"
)

func TestOrIsRealWhenNil(t *testing.T) {
	if _, ok := clock.Or(nil).(clock.Real); !ok {
		t.Fatalf("Or(nil) = %T, want clock.Real", clock.Or(nil))
	}
	f := clocktest.New(time.Unix(0, 0))
	if clock.Or(f) != clock.Clock(f) {
		t.Fatal("Or(f) is not f")
	}
}

// A fake timer fires only when Advance reaches its time, in the order of
// the times, and the clock reads each timer's time as it fires.
func TestFakeAdvanceFiresInOrder(t *testing.T) {
	t0 := time.Unix(1000, 0)
	f := clocktest.New(t0)
	late, early := f.NewTimer(3*time.Second), f.NewTimer(time.Second)
	stopped := f.NewTimer(2 * time.Second)
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop of a pending timer must say true once")
	}
	if f.Waiters() != 2 {
		t.Fatalf("waiters %d", f.Waiters())
	}
	f.Advance(999 * time.Millisecond)
	select {
	case <-early.C():
		t.Fatal("fired before its time")
	default:
	}
	f.Advance(5 * time.Second)
	if got := <-early.C(); !got.Equal(t0.Add(time.Second)) {
		t.Errorf("early fired at %s", got.Sub(t0))
	}
	if got := <-late.C(); !got.Equal(t0.Add(3 * time.Second)) {
		t.Errorf("late fired at %s", got.Sub(t0))
	}
	if !f.Now().Equal(t0.Add(5999 * time.Millisecond)) {
		t.Errorf("now %s", f.Now().Sub(t0))
	}
	select {
	case <-stopped.C():
		t.Fatal("a stopped timer fired")
	default:
	}
}

// NewAuto: each timer moves the time by its duration and fires at once.
func TestFakeAuto(t *testing.T) {
	t0 := time.Unix(0, 0)
	f := clocktest.NewAuto(t0)
	for range 3 {
		<-f.NewTimer(time.Minute).C()
	}
	if got := f.Now().Sub(t0); got != 3*time.Minute {
		t.Fatalf("now +%s, want +3m", got)
	}
}

// Sleep and WithTimeout wait on the given clock: on a fake one, nothing
// happens until it is advanced; an ended context ends the wait.
func TestSleepAndWithTimeoutOnFake(t *testing.T) {
	f := clocktest.New(time.Unix(0, 0))
	done := make(chan error, 1)
	go func() { done <- clock.Sleep(context.Background(), f, time.Hour) }()
	f.WaitForWaiters(t, 1)
	f.Advance(time.Hour)
	if err := <-done; err != nil {
		t.Fatalf("Sleep: %v", err)
	}

	ctx, cancel := clock.WithTimeout(context.Background(), f, 10*time.Second)
	defer cancel()
	f.WaitForWaiters(t, 1)
	f.Advance(9 * time.Second)
	if ctx.Err() != nil {
		t.Fatal("ended before its time")
	}
	f.Advance(time.Second)
	select {
	case <-ctx.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("WithTimeout never ended")
	}
	if !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		t.Errorf("cause %v", context.Cause(ctx))
	}

	cctx, ccancel := context.WithCancel(context.Background())
	go func() { done <- clock.Sleep(cctx, f, time.Hour) }()
	f.WaitForWaiters(t, 1)
	ccancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep after cancel: %v", err)
	}
	if f.Waiters() != 0 {
		t.Errorf("the ended Sleep left %d timer(s)", f.Waiters())
	}
}

// On the real clock WithTimeout is context.WithTimeout.
func TestWithTimeoutReal(t *testing.T) {
	ctx, cancel := clock.WithTimeout(context.Background(), nil, time.Millisecond)
	defer cancel()
	<-ctx.Done()
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("err %v", ctx.Err())
	}
}
