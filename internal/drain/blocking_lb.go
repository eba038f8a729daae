package drain

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/drain-cli/drain/internal/rotation"
	"github.com/drain-cli/drain/internal/source"
)

// Fast by default: where drain can read the load balancer's own view of the
// server (a rotation method's pool view, --pool, an haproxy: source on the
// runtime API), it learns the moment the balancer stopped sending it new
// requests, and where a balancer-side source's arrivals counter (HAProxy's
// stot) stays still from then on, in-flight at zero is the end: no quiet
// window is needed. Where it cannot, the quiet window stays, and drain says
// what it assumed.

// FastInterval is the poll period near the end, when --interval is not
// given: the counters are low, the balancer has stopped sending, or a
// window ends within NearWindow.
const FastInterval = 100 * time.Millisecond

// NearWindow is how soon a grace or settle window must end to count as near.
const NearWindow = time.Second

// LookEvery is how often the balancer's view is read while some source is
// busy (it is read at every poll once they are all low).
const LookEvery = time.Second

// nearLoad: a source at most this much above its threshold counts as low.
const nearLoad = 2

// sight is what one poll saw of the load balancer's own view of the server.
type sight struct {
	Views   int    // balancer views that could be read (0: none, or none readable)
	Stopped bool   // every view read says the balancer sends the server no new requests
	Failing bool   // a view says its checks have begun to fail (the balancer is about to notice)
	What    string // how it stands, in the balancer's words, for messages
	Unread  string // a view that could not be read, and why
}

// stoppedBy says whether m, this server as a balancer sees it, is given no
// new requests: admin drain or disabled (MAINT), health down, or out for
// another reason the balancer gives (an HAProxy weight of 0).
func stoppedBy(m rotation.Member) bool {
	return m.Admin == rotation.AdminDrain || m.Admin == rotation.AdminDisabled ||
		m.Health == rotation.HealthDown || m.Why != "" || !m.InRotation
}

// viewMatters says whether the balancer's view can change what this wait
// does: it gates a run that took the server out, ends the grace, or chooses
// the default settle window. A drain wait with --settle given and no grace
// never reads it (its cost is one more read of the balancer per poll).
func (p *Plan) viewMatters(gateOnLB bool) bool {
	return len(p.balancerViews()) > 0 && (gateOnLB || p.SettleAuto || p.LBGrace > 0)
}

// lowLoad says whether every source was read and is at most nearLoad above
// its threshold: only then can the balancer's view end the wait at this
// poll, so only then is it read.
func lowLoad(readings []Reading) bool {
	for _, r := range readings {
		if r.Value == nil || *r.Value > r.Threshold+nearLoad {
			return false
		}
	}
	return true
}

// look reads every balancer view at once.
func (p *run) look(ctx context.Context) sight {
	views := p.balancerViews()
	if len(views) == 0 {
		return sight{}
	}
	type seen struct {
		found   bool
		m       rotation.Member
		err     error
		name    string
		missing string
	}
	got := make([]seen, len(views))
	var wg sync.WaitGroup
	for i, v := range views {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i].name = v.name
			pool, err := v.pool.Pool(ctx)
			if err != nil {
				got[i].err = err
				return
			}
			for _, m := range pool.Members {
				if m.Self {
					got[i].found, got[i].m = true, m
					return
				}
			}
			got[i].missing = pool.Name
		}()
	}
	wg.Wait()
	s := sight{Stopped: true}
	var what []string
	for _, g := range got {
		switch {
		case g.err != nil:
			s.Unread = fmt.Sprintf("%s: %v", g.name, g.err)
			continue
		case !g.found:
			s.Unread = fmt.Sprintf("%s: this server is not in pool %s", g.name, g.missing)
			continue
		}
		s.Views++
		s.Stopped = s.Stopped && stoppedBy(g.m)
		s.Failing = s.Failing || g.m.Failing
		w := fmt.Sprintf("admin %s, health %s", g.m.Admin, g.m.Health)
		if g.m.Why != "" {
			w += ", " + g.m.Why
		}
		what = append(what, w)
	}
	if s.Unread != "" || s.Views == 0 {
		// One view that cannot be read leaves the balancer unknown: the
		// windows stay as configured.
		s.Views, s.Stopped = 0, false
	}
	s.What = strings.Join(what, "; ")
	return s
}

// lbArrivals says whether the balancer-side sources' arrivals counters are
// visible in readings (a total now and at the poll before, by lastTotals)
// and, if so, whether none moved.
func lbArrivals(readings []Reading, lastTotals map[string]float64, lbSide map[string]bool) (visible, still bool) {
	still = true
	for _, r := range readings {
		if !lbSide[r.Source] {
			continue
		}
		n, ok := arrived(r, lastTotals)
		if !ok {
			return false, false
		}
		visible = true
		still = still && n == 0
	}
	return visible, visible && still
}

// timing is what windows apply at one poll, and why.
type timing struct {
	Grace, Settle time.Duration
	// WaitLB is why the balancer itself still blocks ("" when it does not).
	WaitLB string
	// Authoritative: the balancer stopped sending and its arrivals stayed
	// still since a poll that already saw it stopped.
	Authoritative bool
	Rule          string // which rule chose Settle, for the live view and the summary
}

// timingInput is what decide needs: the plan's settings and what the polls
// saw. A pure value, so that every rule is a line of a table test.
type timingInput struct {
	Grace, Settle time.Duration
	SettleAuto    bool // --settle not given: the default follows the situation
	GateOnLB      bool // this run took the server out: a balancer still sending blocks
	Now, PrevSeen sight
	// Arrivals: a balancer-side total was read now and at the poll before;
	// Still: none moved.
	Arrivals, Still bool
	HaveLBSide      bool   // some source counts at the balancer
	Unseen          string // a balancer-side source whose balancer's view is not read ("" for none)
}

// decide chooses the windows of one poll:
//   - the balancer's view read and saying it stopped sending ends the
//     grace (it has noticed: a probe-based rotation needs no fixed time);
//     read and saying it still sends blocks, in a run that took the server
//     out, whatever the grace;
//   - with --settle not given, the settle window is 0 when the balancer is
//     authoritative (stopped at this poll and the one before, and its
//     arrivals counter did not move between them), else Settle; a given
//     --settle always applies.
func decide(in timingInput) timing {
	t := timing{Grace: in.Grace, Settle: in.Settle}
	if in.Now.Views > 0 {
		switch {
		case in.Now.Stopped && in.Unseen == "":
			t.Grace = 0 // it has noticed, and it is the only balancer in view
		case in.Now.Stopped: // another balancer may not have: the grace stays
		case in.GateOnLB:
			w := "the load balancer still sends it new requests (" + in.Now.What + ")"
			if in.Now.Failing {
				w = "the load balancer has not yet marked it down (" + in.Now.What + ")"
			}
			t.WaitLB = w
		}
	}
	t.Authoritative = in.Now.Views > 0 && in.Now.Stopped && in.PrevSeen.Views > 0 && in.PrevSeen.Stopped && in.Still && in.Unseen == ""
	if !in.SettleAuto {
		t.Rule = fmt.Sprintf("--settle %s as given", in.Settle)
		return t
	}
	switch {
	case in.Unseen != "":
		t.Rule = fmt.Sprintf("settle %s (default): %s counts at a balancer whose own view drain does not read (another balancer may still be sending); an HAProxy runtime API socket instead of its stats page URL would remove the guess", in.Settle, in.Unseen)
	case t.Authoritative:
		t.Settle = 0
		t.Rule = "no settle window: the load balancer stopped sending (" + in.Now.What + ") and its arrivals counter did not move"
	case in.Now.Views > 0 && in.Now.Stopped && in.Arrivals:
		t.Rule = fmt.Sprintf("settle 0 once the balancer's arrivals counter is seen still for one poll (until then %s)", in.Settle)
	case in.Now.Views > 0 && !in.HaveLBSide:
		t.Rule = fmt.Sprintf("settle %s (default): the balancer's view is read but no source counts at the balancer, so a request on its way is not seen; add an LB-side source with an arrivals counter (haproxy:SOCKET#BACKEND/SERVER, apache-balancer:, f5:, arr:) to remove the guess", in.Settle)
	case in.Now.Views > 0 && !in.Arrivals:
		t.Rule = fmt.Sprintf("settle %s (default): the balancer-side sources have no arrivals counter (HAProxy's stot, Apache's Elected, F5's serverside.totConns + totRequests, ARR's totalRequests; AWS ELB has none per target); such a source without #total=off would remove the guess", in.Settle)
	case in.Now.Views > 0:
		t.Rule = fmt.Sprintf("settle %s (default) until the load balancer reports it stopped sending", in.Settle)
	case in.Now.Unread != "":
		t.Rule = fmt.Sprintf("settle %s (default): the balancer's view cannot be read (%s)", in.Settle, in.Now.Unread)
	default:
		t.Rule = fmt.Sprintf("settle %s (default): drain cannot see the load balancer, so it assumes a request may still be on its way for that long; --pool haproxy:SOCKET#BACKEND/SERVER, an haproxy: source on the runtime socket or --rotate haproxy:... would remove the guess", in.Settle)
	}
	return t
}

// nextPoll is how long to wait before the next poll: interval when given
// (explicit), else FastInterval when near the end and, while far from it,
// twice the last wait, up to interval.
func nextPoll(explicit bool, interval, last time.Duration, near bool) time.Duration {
	if explicit {
		return interval
	}
	if near {
		return FastInterval
	}
	return min(max(2*last, FastInterval), max(interval, FastInterval))
}

// near says whether the end may be close: the balancer stopped sending (or
// its checks began to fail), every source is read and at most a little
// above its threshold, or a window ends within NearWindow. Only a window
// further off with every source quiet is far.
func near(readings []Reading, s sight, graceLeft, settleLeft time.Duration, quiet bool) bool {
	if s.Views > 0 && (s.Stopped || s.Failing) {
		return true
	}
	if quiet {
		left := max(graceLeft, settleLeft)
		return left <= NearWindow
	}
	return lowLoad(readings)
}

// unseen names the first balancer-side source whose balancer's view is not
// read, "" for none.
func (p *Plan) unseen() string {
	for _, w := range p.Sources {
		if b, ok := w.Source.(source.BalancerSide); ok && b.BalancerSide() && !w.Seen {
			return w.Name
		}
	}
	return ""
}

// lbSide are the sources (by Watch.Name) that count at the balancer.
func (p *Plan) lbSide() map[string]bool {
	out := map[string]bool{}
	for _, w := range p.Sources {
		if b, ok := w.Source.(source.BalancerSide); ok && b.BalancerSide() {
			out[w.Name] = true
		}
	}
	return out
}
