//go:build linux

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/testbed"
)

// The chaos roll's checks are exact or the roll proves nothing: these feed
// them recorded histories (no servers) where the answer is known, so that a
// roll with 0 violations means the checks ran and found none.

type fixedReads struct {
	last            time.Time
	changed, readAt time.Time // every drain's change and read back
	knowsReadBack   bool
}

func (f fixedReads) readBack(int, string, time.Time) (time.Time, time.Time, bool) {
	return f.changed, f.readAt, f.knowsReadBack
}

func (f fixedReads) rotate(string) string                           { return "" }
func (f fixedReads) state() (map[string]testbed.ServerState, error) { return nil, nil }
func (f fixedReads) url(string) string                              { return "" }
func (f fixedReads) lastRead(int, time.Time) time.Time              { return f.last }

// history builds a pool of 8 whose servers in out are administratively out
// from..to, sampled every 15 ms over t0..t0+span.
func history(t0 time.Time, span time.Duration, outs map[string][2]time.Duration) *chaos {
	c := &chaos{t: nil, name: "check", faults: map[string]int{}}
	for i := range chaosServers {
		c.names = append(c.names, fmt.Sprintf("s%d", i+1))
	}
	for d := time.Duration(0); d <= span; d += 15 * time.Millisecond {
		st := map[string]testbed.ServerState{}
		for _, n := range c.names {
			s := testbed.ServerState{Name: n, OpState: 2, Weight: 1}
			if w, ok := outs[n]; ok && d >= w[0] && d < w[1] {
				s.Admin = 0x08
			}
			st[n] = s
		}
		c.samples = append(c.samples, sample{at: t0.Add(d), st: st})
	}
	return c
}

// A dip that no drain undoes: s4 goes out at 2 s (4 of 8 left, budget 5)
// and stays out; the dip ends only when s1 comes back after its action (its
// routine drain in) at 3 s. The drain that took s4 out is at fault when it
// read the pool back during the dip and kept s4 out, or never read it back;
// not when its read back came after the dip ended, nor when s1 came back
// with no action since it went out (a drain undoing).
func TestChaosCheckBudgetNotUndone(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	outs := map[string][2]time.Duration{"s1": {0, 3 * time.Second}, "s2": {0, 10 * time.Second}, "s3": {0, 10 * time.Second}, "s4": {2 * time.Second, 10 * time.Second}}
	for _, tc := range []struct {
		name   string
		acted  bool          // s1 comes back after an action
		readAt time.Duration // s4's drain reads the pool back (0: never)
		want   int
		says   string
	}{
		{"read back during the dip", true, 2100 * time.Millisecond, 1, "during the dip"},
		{"never read back", true, 0, 1, "never read the pool back"},
		{"read back after the dip", true, 3500 * time.Millisecond, 0, ""},
		{"undone by a drain", false, 0, 0, ""},
	} {
		c := history(t0, 12*time.Second, outs)
		c.t = t
		f := fixedReads{changed: t0.Add(1990 * time.Millisecond), knowsReadBack: true}
		if tc.readAt > 0 {
			f.readAt = t0.Add(tc.readAt)
		}
		c.lb = f
		c.invs = []*invocation{{pid: 4, verb: "run", server: "s4", start: t0.Add(time.Second), end: t0.Add(9 * time.Second)}}
		if tc.acted {
			c.acts = []actionRec{{server: "s1", start: t0.Add(2500 * time.Millisecond), back: t0.Add(2600 * time.Millisecond)}}
		}
		vs := c.checkBudget(nil)
		if len(vs) != tc.want {
			t.Errorf("%s: %d violations, want %d: %+v", tc.name, len(vs), tc.want, vs)
			continue
		}
		if tc.want == 1 && (vs[0].servers[0] != "s4" || !strings.Contains(vs[0].what, tc.says)) {
			t.Errorf("%s: the violation: %v %s", tc.name, vs[0].servers, vs[0].what)
		}
	}
}

func TestChaosCheckBudget(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	// s1..s3 out (the budget's 3 of 8) from 0 to 10 s; s4 goes out at 2 s.
	base := map[string][2]time.Duration{"s1": {0, 10 * time.Second}, "s2": {0, 10 * time.Second}, "s3": {0, 10 * time.Second}}
	with := func(s4 [2]time.Duration) map[string][2]time.Duration {
		m := map[string][2]time.Duration{"s4": s4}
		for k, v := range base {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name    string
		s4      [2]time.Duration
		action  bool // an action on s4 at 2.5 s
		stopped bool // a drain SIGSTOPped 1..6 s
		want    int
	}{
		{"no dip", [2]time.Duration{11 * time.Second, 12 * time.Second}, false, false, 0},
		{"dip with the maker's action", [2]time.Duration{2 * time.Second, 5 * time.Second}, true, false, 1},
		{"dip undone at once, no action", [2]time.Duration{2 * time.Second, 2100 * time.Millisecond}, false, false, 0},
		{"dip held 3.5 s, no action, no fault", [2]time.Duration{2 * time.Second, 5500 * time.Millisecond}, false, false, 1},
		{"dip held 3.5 s while a drain was stopped", [2]time.Duration{2 * time.Second, 5500 * time.Millisecond}, false, true, 0},
	}
	for _, tc := range cases {
		c := history(t0, 12*time.Second, with(tc.s4))
		c.t = t
		if tc.action {
			c.acts = []actionRec{{server: "s4", start: t0.Add(2500 * time.Millisecond), back: t0.Add(2600 * time.Millisecond)}}
		}
		if tc.stopped { // the drain that took s4 out, stopped by the test
			w := window{Kind: "drain SIGSTOP past the lease", Start: t0.Add(time.Second), End: t0.Add(6 * time.Second)}
			c.windows = []window{w}
			c.invs = []*invocation{{pid: 9, verb: "run", server: "s4", start: t0, end: t0.Add(7 * time.Second), stopped: []window{w}}}
		}
		vs := c.checkBudget(nil)
		if len(vs) != tc.want {
			t.Errorf("%s: %d violations, want %d: %+v", tc.name, len(vs), tc.want, vs)
			continue
		}
		if tc.want == 1 && (len(vs[0].servers) != 1 || vs[0].servers[0] != "s4" || !strings.Contains(vs[0].what, "4 in rotation from")) {
			t.Errorf("%s: the violation names %v: %s", tc.name, vs[0].servers, vs[0].what)
		}
	}
}

// A server whose backend an action restarts is down by its checks, not
// administratively: it counts as out because of a drain while the action
// runs (and up to actionGrace after), so a dip it makes is seen.
func TestChaosCheckBudgetCountsActions(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	c := history(t0, 5*time.Second, map[string][2]time.Duration{"s1": {0, 5 * time.Second}, "s2": {0, 5 * time.Second}, "s3": {0, 5 * time.Second}})
	c.t = t
	for i := range c.samples {
		if d := c.samples[i].at.Sub(t0); d >= 2*time.Second && d < 2500*time.Millisecond {
			s := c.samples[i].st["s4"]
			s.OpState = 0
			c.samples[i].st["s4"] = s
		}
	}
	c.acts = []actionRec{{server: "s4", start: t0.Add(1990 * time.Millisecond), back: t0.Add(2400 * time.Millisecond)}}
	if vs := c.checkBudget(nil); len(vs) != 1 {
		t.Fatalf("%d violations, want 1 (an action ran on s4 with 3 others out): %+v", len(vs), vs)
	}
	c.acts = nil // down by its checks with no action: not a drain's doing
	if vs := c.checkBudget(nil); len(vs) != 0 {
		t.Fatalf("%d violations, want 0: %+v", len(vs), vs)
	}
}

func TestChaosCheckActions(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	in := testbed.ServerState{Name: "s1", OpState: 2, Weight: 1}
	out := testbed.ServerState{Name: "s1", OpState: 2, Weight: 1, Admin: 0x08}
	restart := window{Kind: "balancer restart without state", Start: t0.Add(-300 * time.Millisecond), End: t0.Add(-100 * time.Millisecond)}
	cases := []struct {
		name     string
		st       testbed.ServerState
		lastRead time.Duration // before the action
		restart  bool
		want     int
		stopped  bool // the drain stopped by the test from 11.8 s to 0.5 s before its action
	}{
		{"out of rotation", out, 50 * time.Millisecond, false, 0, false},
		{"in rotation", in, 50 * time.Millisecond, false, 1, false},
		{"in after a restart that followed the drain's last read", in, 500 * time.Millisecond, true, 0, false},
		{"in after a restart the drain had read since", in, 50 * time.Millisecond, true, 1, false},
		{"in, the last read long before the restart", in, 3 * time.Second, true, 1, false},
		{"in, the last read long before, the drain stopped in between", in, 12 * time.Second, true, 0, true},
		{"in, the last read long before, the drain not stopped", in, 12 * time.Second, true, 1, false},
	}
	for _, tc := range cases {
		c := history(t0.Add(-time.Second), 2*time.Second, nil)
		c.t = t
		c.lb = fixedReads{last: t0.Add(-tc.lastRead)}
		c.actions = []*actionRec{{server: "s1", ppid: 42, start: t0, back: t0.Add(100 * time.Millisecond), st: tc.st}}
		c.invs = []*invocation{{pid: 42, verb: "run", server: "s1", killed: true}}
		if tc.stopped { // it ran 0.7 s of the 12 s since its last read
			c.invs[0].stopped = []window{{Start: t0.Add(-11800 * time.Millisecond), End: t0.Add(-500 * time.Millisecond)}}
		}
		if tc.restart {
			c.windows = []window{restart}
		}
		vs := c.violations(map[string]testbed.ServerState{})
		n := 0
		for _, v := range vs {
			if v.invariant == "action while in rotation" {
				n++
			}
		}
		if n != tc.want {
			t.Errorf("%s: %d violations, want %d: %+v", tc.name, n, tc.want, vs)
		}
	}
}

func TestChaosCheckRequestsAndFinalState(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	c := history(t0, 10*time.Second, nil)
	c.t = t
	c.dir = t.TempDir()
	c.lb = fixedReads{}
	c.windows = []window{{Kind: "balancer reload keeping state", Start: t0.Add(time.Second), End: t0.Add(1500 * time.Millisecond)}}
	c.reqs = []request{
		{start: t0.Add(200 * time.Millisecond), end: t0.Add(300 * time.Millisecond), status: 200, bytes: len(testbed.FastBody), server: "s1"},
		{start: t0.Add(3000 * time.Millisecond), end: t0.Add(3100 * time.Millisecond), status: 200, bytes: len(testbed.FastBody), server: "s1"},
		{start: t0.Add(1200 * time.Millisecond), end: t0.Add(1300 * time.Millisecond), status: 503, server: "s2"},         // during the reload: excused
		{start: t0.Add(8 * time.Second), end: t0.Add(9 * time.Second), slow: true, bytes: 1000, server: "s3", err: "EOF"}, // cut: a violation
	}
	end := map[string]testbed.ServerState{}
	for _, n := range c.names {
		end[n] = testbed.ServerState{Name: n, OpState: 2, Weight: 1}
	}
	end["s5"] = testbed.ServerState{Name: "s5", OpState: 2, Weight: 1, Admin: 0x08} // out with no record, no final line
	got := map[string]int{}
	for _, v := range c.violations(end) {
		got[v.invariant]++
		if v.invariant == "request failed" && v.servers[0] != "s3" {
			t.Errorf("the failed request blamed is %v: %s", v.servers, v.what)
		}
	}
	if got["request failed"] != 1 || got["final state"] != 1 || len(got) != 2 {
		t.Errorf("violations by kind %v, want one failed request (s3) and one final state (s5)", got)
	}
}

// A final line that says OUT with the server in rotation is excused only by
// a restart without state after the drain's last read, or (when it never
// read the balancer) during the command, never by an older one.
func TestChaosCheckFinalLineOut(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		restart time.Duration // after t0
		want    int
	}{
		{"restart before the command", -5 * time.Second, 1},
		{"restart during the command", 500 * time.Millisecond, 0},
	} {
		c := history(t0.Add(-10*time.Second), 12*time.Second, nil)
		c.t = t
		c.dir = t.TempDir()
		c.lb = fixedReads{} // the drain never got an answer from the balancer
		c.windows = []window{{Kind: "balancer restart without state", Start: t0.Add(tc.restart), End: t0.Add(tc.restart + 200*time.Millisecond)}}
		c.invs = []*invocation{{
			pid: 7, verb: "run", server: "s1", start: t0, end: t0.Add(time.Second), stdout: "drained; server is OUT of rotation\n",
			after: "s1(op 2, admin 0x0, weight 1)", afterAt: t0.Add(time.Second),
		}}
		n := 0
		for _, v := range c.violations(map[string]testbed.ServerState{}) {
			if v.invariant == "final line" {
				n++
			}
		}
		if n != tc.want {
			t.Errorf("%s: %d final-line violations, want %d", tc.name, n, tc.want)
		}
	}
}
