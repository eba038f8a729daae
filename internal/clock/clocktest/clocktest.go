// Package clocktest is a fake clock.Clock for tests: time moves only when
// the test says (Advance), or, made with NewAuto, by each timer's own
// duration the moment it is made, so a wait of minutes runs in
// microseconds and every time a test reads is exact.
package clocktest

import (
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/clock"
)

// Fake is a clock in virtual time.
type Fake struct {
	mu     sync.Mutex
	now    time.Time
	auto   bool
	timers []*timer
}

// New is a clock at t whose time moves only by Advance.
func New(t time.Time) *Fake { return &Fake{now: t} }

// NewAuto is a clock at t on which every timer advances the time by its
// duration and fires at once: a loop that waits on it runs without pause.
func NewAuto(t time.Time) *Fake { return &Fake{now: t, auto: true} }

// Now implements clock.Clock.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTimer implements clock.Clock.
func (f *Fake) NewTimer(d time.Duration) clock.Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &timer{f: f, c: make(chan time.Time, 1)}
	if f.auto {
		if d > 0 {
			f.now = f.now.Add(d)
		}
		t.c <- f.now
		return t
	}
	t.at = f.now.Add(d)
	if d <= 0 {
		t.c <- f.now
		return t
	}
	f.timers = append(f.timers, t)
	return t
}

// Advance moves the time by d, firing the timers that fall due in the
// order of their times (the clock reads each one's time as it fires).
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	end := f.now.Add(d)
	sort.SliceStable(f.timers, func(i, j int) bool { return f.timers[i].at.Before(f.timers[j].at) })
	for len(f.timers) > 0 && !f.timers[0].at.After(end) {
		t := f.timers[0]
		f.timers = f.timers[1:]
		if t.at.After(f.now) {
			f.now = t.at
		}
		t.c <- f.now
	}
	f.now = end
}

// Waiters is how many timers wait to fire.
func (f *Fake) Waiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
}

// WaitForWaiters returns once at least n timers wait to fire (the code
// under test has reached its wait), failing the test after 30 s of real
// time.
func (f *Fake) WaitForWaiters(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for f.Waiters() < n {
		if time.Now().After(deadline) {
			t.Fatalf("fake clock: %d timer(s) waiting after 30s, want %d", f.Waiters(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

type timer struct {
	f  *Fake
	at time.Time
	c  chan time.Time
}

func (t *timer) C() <-chan time.Time { return t.c }

// Stop removes a timer that has not fired: true if it had not.
func (t *timer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	for i, o := range t.f.timers {
		if o == t {
			t.f.timers = append(t.f.timers[:i], t.f.timers[i+1:]...)
			return true
		}
	}
	return false
}
