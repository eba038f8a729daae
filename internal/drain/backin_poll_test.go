package drain

import (
	"context"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/clock/clocktest"
	"github.com/drain-cli/drain/internal/rotation"
)

// in --wait-healthy with no --interval reads the balancer's view every
// FastInterval, so that it returns within a poll of the balancer marking
// the server up (not up to the 1 s a far-off wait backs off to); a given
// --interval stays exact. Virtual time: the view says down (failing checks
// after the in) until 2.35 s, then up.
func TestWaitHealthyPollsFastByDefault(t *testing.T) {
	for _, tc := range []struct {
		name     string
		auto     bool
		interval time.Duration
		maxGap   time.Duration
		latest   float64 // seconds after the in by which it must return
	}{
		{"no --interval", true, time.Second, FastInterval, 2.35 + FastInterval.Seconds() + 0.001},
		{"--interval 1s", false, time.Second, time.Second, 3.001},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := &script{clk: clocktest.NewAuto(time.Now())}
			sc.t0 = sc.clk.Now()
			sc.member = func(s float64) rotation.Member {
				if s < 2.35 {
					return down
				}
				return upMember
			}
			p := &Plan{Clock: sc.clk, Interval: tc.interval, IntervalAuto: tc.auto, PoolViews: []rotation.PoolView{viewScript{sc}}}
			var healthy []Event
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := p.start(func(e Event) {
				if e.Event == EvHealthy {
					healthy = append(healthy, e)
				}
			}).waitBalancers(ctx); err != nil {
				t.Fatal(err)
			}
			if len(healthy) != 1 {
				t.Fatalf("healthy events: %+v", healthy)
			}
			looks := sc.looks
			for i := 1; i < len(looks); i++ {
				if gap := time.Duration((looks[i] - looks[i-1]) * float64(time.Second)); gap > tc.maxGap+time.Millisecond {
					t.Errorf("reads %d and %d of the view %s apart, want at most %s (reads at %v)", i-1, i, gap, tc.maxGap, looks)
				}
			}
			if end := looks[len(looks)-1]; end < 2.35 || end > tc.latest {
				t.Errorf("returned at %.3f s after the in, want 2.35 s..%.3f s (reads at %v)", end, tc.latest, looks)
			}
		})
	}
}

// Two views of one balancer (the rotation method's own and --pool naming
// the same server, as examples/ansible's in gives them) see the same check
// bring the server up: in returns at that check, not after the fixed wait
// for the view that was read only once it was already up. Virtual time:
// down (NOLB, waiting for a check after the in) until 0.35 s, then up.
func TestWaitHealthyTwoViewsOfOneBalancer(t *testing.T) {
	sc := &script{clk: clocktest.NewAuto(time.Now())}
	sc.t0 = sc.clk.Now()
	sc.member = func(s float64) rotation.Member {
		if s < 0.35 {
			return down
		}
		return upMember
	}
	p := &Plan{Clock: sc.clk, Interval: time.Second, IntervalAuto: true, PoolViews: []rotation.PoolView{viewScript{sc}, viewScript{sc}}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var healthy int
	if err := p.start(func(e Event) {
		if e.Event == EvHealthy {
			healthy++
		}
	}).waitBalancers(ctx); err != nil {
		t.Fatal(err)
	}
	if end := sc.clk.Now().Sub(sc.t0).Seconds(); end > 0.35+FastInterval.Seconds()+0.001 || healthy != 2 {
		t.Errorf("returned at %.3f s after the in with %d healthy events, want by %.3f s and 2 (reads at %v)", end, healthy, 0.35+FastInterval.Seconds(), sc.looks)
	}
}
