package drain

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/clock/clocktest"
	"github.com/drain-cli/drain/internal/rotation"
)

// script is a source and a balancer view driven by the fake clock: what
// each reads at a virtual time since t0.
type script struct {
	clk      *clocktest.Fake
	t0       time.Time
	inFlight func(s float64) float64
	total    func(s float64) float64 // nil: no total
	member   func(s float64) rotation.Member
	lbSide   bool
	mu       sync.Mutex
	last     float64
	hasTotal bool
	looks    []float64 // when the view was read
}

func (s *script) at() float64 { return s.clk.Now().Sub(s.t0).Seconds() }

func (s *script) Read(context.Context) (float64, error) {
	at := s.at()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.total != nil {
		s.last, s.hasTotal = s.total(at), true
	}
	return s.inFlight(at), nil
}

func (s *script) Total() (float64, bool) { s.mu.Lock(); defer s.mu.Unlock(); return s.last, s.hasTotal }

type lbScript struct{ *script }

func (l lbScript) BalancerSide() bool { return true }

type viewScript struct{ s *script }

func (v viewScript) Pool(context.Context) (rotation.Pool, error) {
	v.s.mu.Lock()
	v.s.looks = append(v.s.looks, v.s.at())
	v.s.mu.Unlock()
	m := v.s.member(v.s.at())
	m.Self, m.Name = true, "a"
	return rotation.Pool{Name: "web", Members: []rotation.Member{m, {Name: "b", Admin: rotation.AdminEnabled, Health: rotation.HealthUp, InRotation: true}}}, nil
}
func (v viewScript) Target() string                   { return "haproxy:fake#web/a" }
func (v viewScript) MemberKey(rotation.Member) string { return "" }

var (
	maint    = rotation.Member{Admin: rotation.AdminDisabled, Health: rotation.HealthUp, Detail: "MAINT"}
	upMember = rotation.Member{Admin: rotation.AdminEnabled, Health: rotation.HealthUp, InRotation: true}
	failing  = rotation.Member{Admin: rotation.AdminEnabled, Health: rotation.HealthUp, InRotation: true, Failing: true}
	down     = rotation.Member{Admin: rotation.AdminEnabled, Health: rotation.HealthDown}
)

type virtualRun struct {
	drained  float64 // seconds since out; -1: not drained
	polls    []float64
	rule     string
	blocking []string // every blocker seen
}

// runVirtual waits in virtual time on sc (a balancer-side source when
// sc.lbSide, the view when sc.member is set) with the plan p fills in.
func runVirtual(t *testing.T, sc *script, gate bool, fill func(p *Plan)) virtualRun {
	t.Helper()
	sc.clk = clocktest.NewAuto(time.Now())
	sc.t0 = sc.clk.Now()
	var src interface {
		Read(context.Context) (float64, error)
	} = sc
	if sc.lbSide {
		src = lbScript{sc}
	}
	p := &Plan{Clock: sc.clk, Interval: time.Second, IntervalAuto: true, Settle: 5 * time.Second, SettleAuto: true}
	p.Sources = []Watch{{Name: "haproxy:fake#web/a", Label: "web/a", Source: src, Seen: sc.member != nil}}
	if sc.member != nil {
		p.PoolViews = []rotation.PoolView{viewScript{sc}}
	}
	fill(p)
	out := virtualRun{drained: -1}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second) // real time: a stuck loop fails, not hangs
	defer cancel()
	r := p.start(func(e Event) {
		switch e.Event {
		case EvPoll:
			out.polls = append(out.polls, float64(e.Elapsed))
			out.blocking = append(out.blocking, e.Blocking...)
		case EvDrained:
			out.drained, out.rule = float64(e.Elapsed), e.Rule
		}
	})
	// Cap virtual time: a run that never drains stops at 60 s.
	r.Timeout = 60 * time.Second
	drained, _, err := r.wait(ctx, sc.t0, gate)
	if err != nil {
		t.Fatal(err)
	}
	if !drained {
		out.drained = -1
	}
	return out
}

func step(at float64, before, after float64) func(float64) float64 {
	return func(s float64) float64 {
		if s < at {
			return before
		}
		return after
	}
}

func memberAt(at float64, before, after rotation.Member) func(float64) rotation.Member {
	return func(s float64) rotation.Member {
		if s < at {
			return before
		}
		return after
	}
}

// TestWaitFastWhenTheBalancerIsAuthoritative: the balancer says MAINT at
// once (runtime API), its arrivals counter stays still, the last request
// ends at 2.0 s: drained within about one fast poll of it, no settle window.
func TestWaitFastWhenTheBalancerIsAuthoritative(t *testing.T) {
	sc := &script{inFlight: step(2, 3, 0), total: step(0, 40, 40), member: memberAt(0, maint, maint), lbSide: true}
	got := runVirtual(t, sc, true, func(*Plan) {})
	if got.drained < 2 || got.drained > 2+2*FastInterval.Seconds() {
		t.Fatalf("drained at %.2fs, want within %s of 2s (polls %v)", got.drained, 2*FastInterval, got.polls)
	}
	if !strings.Contains(got.rule, "no settle window") {
		t.Fatalf("rule %q", got.rule)
	}
}

// TestWaitKeepsTheWindowWithoutTheBalancer: only an app-side counter, no
// view: the default settle window (5 s) stays, and drain says what it
// assumed and what would remove the guess.
func TestWaitKeepsTheWindowWithoutTheBalancer(t *testing.T) {
	sc := &script{inFlight: step(2, 3, 0)}
	got := runVirtual(t, sc, true, func(*Plan) {})
	// Far above the threshold until 2s, polls have backed off to 1s: the
	// drop is seen up to a second late, then the whole window.
	if got.drained < 7 || got.drained > 8 {
		t.Fatalf("drained at %.2fs, want 5s of settle after 2s (seen within 1s)", got.drained)
	}
	if !strings.Contains(got.rule, "cannot see the load balancer") || !strings.Contains(got.rule, "--pool") {
		t.Fatalf("rule %q", got.rule)
	}
}

// TestWaitArrivalsKeepTheWindow: the balancer says it stopped, but its
// arrivals counter still moves (sticky sessions on a DRAIN server) until
// 3 s: not authoritative until it stays still.
func TestWaitArrivalsKeepTheWindow(t *testing.T) {
	sc := &script{inFlight: step(0, 0, 0), total: func(s float64) float64 { return 10 + float64(int(min(s, 3)*10)) }, member: memberAt(0, maint, maint), lbSide: true}
	got := runVirtual(t, sc, true, func(*Plan) {})
	if got.drained < 3 || got.drained > 3.5 {
		t.Fatalf("drained at %.2fs, want just after the arrivals stop at 3s", got.drained)
	}
}

// TestWaitProbedEndsWhenTheBalancerSays: a keep-alive page: the balancer
// sends until its checks mark the server down at 4.6 s (failing from
// 2.6 s); the app reads 0 all along, --lb-grace 10s: drained soon after
// 4.6 s, neither before (a premature stop) nor at 10 s.
func TestWaitProbedEndsWhenTheBalancerSays(t *testing.T) {
	sc := &script{
		inFlight: step(0, 0, 0), total: step(4.6, 100, 100), lbSide: true,
		member: func(s float64) rotation.Member {
			switch {
			case s < 2.6:
				return upMember
			case s < 4.6:
				return failing
			}
			return down
		},
	}
	got := runVirtual(t, sc, true, func(p *Plan) { p.LBGrace = 10 * time.Second; p.Probed = true })
	if got.drained < 4.6 || got.drained > 4.6+3*FastInterval.Seconds() {
		t.Fatalf("drained at %.2fs, want just after the balancer marked it down at 4.6s (polls %v)", got.drained, got.polls)
	}
	if !slicesContainsPrefix(got.blocking, "the load balancer still sends it new requests") {
		t.Fatalf("blockers %v", got.blocking)
	}
}

// TestWaitExplicitTimingStays: --settle and --interval given keep their
// meaning with the balancer authoritative: polls every second exactly, and
// the whole settle window after the last request.
func TestWaitExplicitTimingStays(t *testing.T) {
	sc := &script{inFlight: step(2, 3, 0), total: step(0, 40, 40), member: memberAt(0, maint, maint), lbSide: true}
	got := runVirtual(t, sc, true, func(p *Plan) { p.IntervalAuto, p.SettleAuto = false, false; p.Settle = 3 * time.Second })
	for i, at := range got.polls {
		if at != float64(i) {
			t.Fatalf("poll %d at %.3fs, want every 1s exactly: %v", i, at, got.polls)
		}
	}
	if got.drained != 5 {
		t.Fatalf("drained at %.2fs, want 2s + the 3s settle given", got.drained)
	}
}

// TestWaitBacksOffWhenFar: busy far above the threshold with no view,
// polls back off to the interval (1s), not 100 ms for the whole wait.
func TestWaitBacksOffWhenFar(t *testing.T) {
	sc := &script{inFlight: step(20, 50, 0)}
	got := runVirtual(t, sc, true, func(*Plan) {})
	var early int
	for _, at := range got.polls {
		if at < 20 {
			early++
		}
	}
	if early > 24 { // 0.1 0.2 0.4 0.8 then 1s: about 20 polls in 20s
		t.Fatalf("%d polls in 20s while far: %v", early, got.polls)
	}
}

func slicesContainsPrefix(l []string, p string) bool {
	for _, s := range l {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// TestDecide: which windows apply, and why, is a pure function of what the
// polls saw.
func TestDecide(t *testing.T) {
	stopped := sight{Views: 1, Stopped: true, What: "admin disabled, health up"}
	sending := sight{Views: 1, What: "admin enabled, health up"}
	goingDown := sight{Views: 1, Failing: true, What: "admin enabled, health up"}
	unread := sight{Unread: "haproxy:x: connection refused"}
	s5, g6 := 5*time.Second, 6*time.Second
	cases := []struct {
		name          string
		in            timingInput
		grace, settle time.Duration
		waitLB, rule  string
	}{
		{"authoritative: no window", timingInput{Grace: g6, Settle: s5, SettleAuto: true, GateOnLB: true, Now: stopped, PrevSeen: stopped, Arrivals: true, Still: true, HaveLBSide: true}, 0, 0, "", "no settle window"},
		{"stopped but first poll: window until seen still", timingInput{Grace: g6, Settle: s5, SettleAuto: true, Now: stopped, Arrivals: true, Still: true, HaveLBSide: true}, 0, s5, "", "settle 0 once"},
		{"arrivals moved: window", timingInput{Settle: s5, SettleAuto: true, Now: stopped, PrevSeen: stopped, Arrivals: true, HaveLBSide: true}, 0, s5, "", "settle 0 once"},
		{"no arrivals counter: window, says so", timingInput{Settle: s5, SettleAuto: true, Now: stopped, PrevSeen: stopped, HaveLBSide: true}, 0, s5, "", "no arrivals counter"},
		{"no LB-side source: window, says so", timingInput{Settle: s5, SettleAuto: true, Now: stopped, PrevSeen: stopped}, 0, s5, "", "no source counts at the balancer"},
		{"no view: window, says which flag", timingInput{Grace: g6, Settle: s5, SettleAuto: true}, g6, s5, "", "--pool"},
		{"view unreadable: window", timingInput{Grace: g6, Settle: s5, SettleAuto: true, Now: unread}, g6, s5, "", "cannot be read"},
		{"still sending blocks a run", timingInput{Grace: g6, Settle: s5, SettleAuto: true, GateOnLB: true, Now: sending, Arrivals: true, HaveLBSide: true}, g6, s5, "still sends it new requests", "until the load balancer reports"},
		{"failing: not yet marked down", timingInput{Settle: s5, SettleAuto: true, GateOnLB: true, Now: goingDown, HaveLBSide: true, Arrivals: true}, 0, s5, "has not yet marked it down", ""},
		{"still sending does not block drain wait", timingInput{Settle: s5, SettleAuto: true, Now: sending}, 0, s5, "", ""},
		{"another balancer not seen: grace and window stay", timingInput{Grace: g6, Settle: s5, SettleAuto: true, GateOnLB: true, Now: stopped, PrevSeen: stopped, Arrivals: true, Still: true, HaveLBSide: true, Unseen: "haproxy:http://lb2/stats;csv#web/a"}, g6, s5, "", "does not read"},
		{"given settle stays", timingInput{Settle: s5, Now: stopped, PrevSeen: stopped, Arrivals: true, Still: true, HaveLBSide: true}, 0, s5, "", "--settle 5s as given"},
		{"given settle 0 stays 0", timingInput{Now: sending}, 0, 0, "", "as given"},
	}
	for _, c := range cases {
		got := decide(c.in)
		if got.Grace != c.grace || got.Settle != c.settle || !strings.Contains(got.WaitLB, c.waitLB) || (c.waitLB == "") != (got.WaitLB == "") || !strings.Contains(got.Rule, c.rule) {
			t.Errorf("%s: got %+v", c.name, got)
		}
	}
}

func TestNextPoll(t *testing.T) {
	cases := []struct {
		explicit       bool
		interval, last time.Duration
		near           bool
		want           time.Duration
	}{
		{true, time.Second, 100 * time.Millisecond, true, time.Second},
		{true, 250 * time.Millisecond, 0, false, 250 * time.Millisecond},
		{false, time.Second, 800 * time.Millisecond, true, FastInterval},
		{false, time.Second, 100 * time.Millisecond, false, 200 * time.Millisecond},
		{false, time.Second, 800 * time.Millisecond, false, time.Second},
		{false, 50 * time.Millisecond, 100 * time.Millisecond, false, FastInterval},
	}
	for _, c := range cases {
		if got := nextPoll(c.explicit, c.interval, c.last, c.near); got != c.want {
			t.Errorf("nextPoll(%v, %s, %s, %v) = %s, want %s", c.explicit, c.interval, c.last, c.near, got, c.want)
		}
	}
}

func TestNear(t *testing.T) {
	low := []Reading{reading("a", 2, 0)}
	high := []Reading{reading("a", 30, 0)}
	unknown := []Reading{{Source: "a", Error: "refused"}}
	s := time.Second
	cases := []struct {
		name     string
		readings []Reading
		sight    sight
		grace    time.Duration
		settle   time.Duration
		quiet    bool
		want     bool
	}{
		{"counters low", low, sight{}, 0, 0, false, true},
		{"counters high", high, sight{}, 0, 0, false, false},
		{"unknown is far", unknown, sight{}, 0, 0, false, false},
		{"balancer stopped", high, sight{Views: 1, Stopped: true}, 0, 0, false, true},
		{"balancer failing its checks", high, sight{Views: 1, Failing: true}, 0, 0, false, true},
		{"settle far", low, sight{}, 0, 4 * s, true, false},
		{"settle ending", low, sight{}, 0, s, true, true},
		{"grace far", low, sight{}, 5 * s, 0, true, false},
	}
	for _, c := range cases {
		if got := near(c.readings, c.sight, c.grace, c.settle, c.quiet); got != c.want {
			t.Errorf("%s: near = %v", c.name, got)
		}
	}
}

func TestStoppedBy(t *testing.T) {
	for _, c := range []struct {
		m    rotation.Member
		want bool
	}{
		{upMember, false},
		{failing, false},
		{maint, true},
		{down, true},
		{rotation.Member{Admin: rotation.AdminDrain, Health: rotation.HealthUp}, true},
		{rotation.Member{Admin: rotation.AdminEnabled, Health: rotation.HealthUp, InRotation: false, Why: "weight 0"}, true},
		{rotation.Member{Admin: rotation.AdminEnabled, Health: rotation.HealthUnknown, InRotation: true}, false},
	} {
		if got := stoppedBy(c.m); got != c.want {
			t.Errorf("stoppedBy(%+v) = %v", c.m, got)
		}
	}
}

func TestLBArrivals(t *testing.T) {
	lb := map[string]bool{"hap": true}
	r := func(total float64) []Reading {
		return []Reading{withTotal(reading("hap", 0, 0), total), reading("app", 0, 0)}
	}
	if v, s := lbArrivals(r(10), map[string]float64{"hap": 10}, lb); !v || !s {
		t.Errorf("still: %v %v", v, s)
	}
	if v, s := lbArrivals(r(11), map[string]float64{"hap": 10}, lb); !v || s {
		t.Errorf("moved: %v %v", v, s)
	}
	if v, _ := lbArrivals(r(10), map[string]float64{}, lb); v {
		t.Error("first poll: no baseline, not visible")
	}
	if v, _ := lbArrivals(r(10), map[string]float64{"hap": 10}, map[string]bool{}); v {
		t.Error("no LB-side source: not visible")
	}
}

// TestWaitReadsTheViewOnlyWhenItMatters: the balancer's view costs one more
// read per poll, so a drain wait with --settle given and no grace never
// reads it, and while a source is busy it is read at most every LookEvery.
func TestWaitReadsTheViewOnlyWhenItMatters(t *testing.T) {
	sc := &script{inFlight: step(3, 0, 0), total: step(0, 5, 5), member: memberAt(0, maint, maint), lbSide: true}
	runVirtual(t, sc, false, func(p *Plan) { p.SettleAuto = false; p.Settle = 3 * time.Second })
	if len(sc.looks) != 0 {
		t.Fatalf("drain wait with --settle given read the view %d times", len(sc.looks))
	}
	sc = &script{inFlight: step(10, 30, 0), total: step(0, 5, 5), member: memberAt(0, maint, maint), lbSide: true}
	got := runVirtual(t, sc, true, func(*Plan) {})
	busyLooks := 0
	for _, at := range sc.looks {
		if at < 10 {
			busyLooks++
		}
	}
	if busyLooks > 11 || got.drained < 10 || got.drained > 10.3 {
		t.Fatalf("%d reads of the view in 10 busy seconds (want about one a second), drained at %.2fs (polls %v)", busyLooks, got.drained, got.polls)
	}
}
