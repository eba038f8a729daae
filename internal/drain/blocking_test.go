package drain

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func reading(name string, v float64, threshold float64) Reading {
	return Reading{Source: name, Value: &v, Threshold: threshold, OK: v <= threshold}
}

func withTotal(r Reading, total float64) Reading {
	r.Total = &total
	return r
}

// TestBlocking: what still blocks the drain is a pure function of one poll
// and the clock, so every case is a line here and nothing sleeps.
func TestBlocking(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	quiet := []Reading{reading("nginx:http://h/s", 0, 0), reading("prom:http://h/m#x<=2", 2, 2)}
	unknown := Reading{Source: "exec:busy.sh", Error: "exit code 1"}
	cases := []struct {
		name       string
		readings   []Reading
		verifying  string
		now        time.Time
		quietSince time.Time
		grace      time.Duration
		settle     time.Duration
		totals     map[string]float64
		want       []string
		wantQuiet  time.Time
	}{
		{name: "all quiet, windows over", readings: quiet, now: at(10), quietSince: at(4), grace: 6 * time.Second, settle: 5 * time.Second, wantQuiet: at(4)},
		{name: "quiet for the first time starts settle", readings: quiet, now: at(10), settle: 5 * time.Second, want: []string{"settle (5s left)"}, wantQuiet: at(10)},
		{name: "settle left", readings: quiet, now: at(10), quietSince: at(8), settle: 5 * time.Second, want: []string{"settle (3s left)"}, wantQuiet: at(8)},
		{name: "grace left comes before settle", readings: quiet, now: at(2), quietSince: at(1), grace: 6 * time.Second, settle: 5 * time.Second, want: []string{"lb-grace (4s left)"}, wantQuiet: at(1)},
		{name: "grace rounds to a tenth", readings: quiet, now: at(5.96), grace: 6 * time.Second, want: []string{"lb-grace (0s left)"}, wantQuiet: at(5.96)},
		{name: "above threshold resets quiet", readings: []Reading{reading("iis:Shop", 3, 0), quiet[0]}, now: at(10), quietSince: at(4), settle: time.Second, want: []string{"iis:Shop"}},
		{name: "an unknown source blocks", readings: []Reading{quiet[0], unknown}, now: at(10), quietSince: at(4), want: []string{"exec:busy.sh"}},
		{name: "the verify URL blocks first", readings: []Reading{unknown}, verifying: "verify-url still answers 200", now: at(10), want: []string{"verify-url still answers 200", "exec:busy.sh"}},
		{name: "the verify URL alone blocks", readings: quiet, verifying: "verify-url unreachable (connection refused)", now: at(10), quietSince: at(3), want: []string{"verify-url unreachable (connection refused)"}},
		{name: "new arrivals between polls break the settle window", readings: []Reading{withTotal(quiet[0], 15), quiet[1]}, totals: map[string]float64{"nginx:http://h/s": 12}, now: at(10), quietSince: at(8), settle: 5 * time.Second, want: []string{"nginx:http://h/s: 3 new requests since the last poll"}},
		{name: "one new arrival", readings: []Reading{withTotal(quiet[0], 13)}, totals: map[string]float64{"nginx:http://h/s": 12}, now: at(10), want: []string{"nginx:http://h/s: 1 new request since the last poll"}},
		{name: "no new arrivals: quiet", readings: []Reading{withTotal(quiet[0], 12)}, totals: map[string]float64{"nginx:http://h/s": 12}, now: at(10), quietSince: at(4), settle: 5 * time.Second, wantQuiet: at(4)},
		{name: "arrivals up to the threshold are allowed", readings: []Reading{withTotal(quiet[1], 102)}, totals: map[string]float64{"prom:http://h/m#x<=2": 100}, now: at(10), quietSince: at(4), wantQuiet: at(4)},
		{name: "arrivals above the threshold block", readings: []Reading{withTotal(quiet[1], 103)}, totals: map[string]float64{"prom:http://h/m#x<=2": 100}, now: at(10), quietSince: at(4), want: []string{"prom:http://h/m#x<=2: 3 new requests since the last poll"}},
		{name: "the first total is the baseline", readings: []Reading{withTotal(quiet[0], 500)}, totals: map[string]float64{}, now: at(10), quietSince: at(4), wantQuiet: at(4)},
		{name: "a counter reset is a new baseline, not arrivals", readings: []Reading{withTotal(quiet[0], 2)}, totals: map[string]float64{"nginx:http://h/s": 900}, now: at(10), quietSince: at(4), wantQuiet: at(4)},
		{name: "a busy source with arrivals blocks once, by name", readings: []Reading{withTotal(reading("iis:Shop", 3, 0), 20)}, totals: map[string]float64{"iis:Shop": 10}, now: at(10), want: []string{"iis:Shop"}},
		{name: "no sources: only the windows", now: at(3), grace: 6 * time.Second, want: []string{"lb-grace (3s left)"}, wantQuiet: at(3)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var waiting []string
			if c.verifying != "" {
				waiting = []string{c.verifying}
			}
			got, q := blocking(c.readings, c.totals, waiting, c.now, t0, c.quietSince, c.grace, c.settle)
			if !slices.Equal(got, c.want) || !q.Equal(c.wantQuiet) {
				t.Errorf("blocking = %q, quiet since %v; want %q, %v", got, q, c.want, c.wantQuiet)
			}
		})
	}
}

// TestOnePlanManyRuns: a Plan holds settings only, so it can run again and
// at once (once per server of a pool); each run has its own state. Here each
// concurrent wait must warn once that its requests cannot be listed: with
// the warned-once flag on the Plan, only the first would.
func TestOnePlanManyRuns(t *testing.T) {
	src := &scripted{val: 1}
	p, page, _ := newPlan(t, src)
	slowWait(p, 0, 0)
	p.Timeout = 300 * time.Millisecond
	lists(p, func(context.Context) ([]Request, error) { return nil, errors.New("Request Monitor not installed") })

	const runs = 4
	recs := make([]*recorder, runs)
	var wg sync.WaitGroup
	for i := range runs {
		recs[i] = &recorder{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if oc := p.Wait(context.Background(), recs[i].emit); oc.Result != ResultTimeout {
				t.Errorf("wait %d: %+v", i, oc)
			}
		}()
	}
	wg.Wait()
	for i, rec := range recs {
		if n := countWarnings(rec, "cannot list the requests in flight"); n != 1 {
			t.Errorf("wait %d: %d list warnings, want 1 (its own)", i, n)
		}
	}

	// The same Plan runs twice in a row, out and back each time.
	src.set(0, nil)
	p.Timeout = 5 * time.Second
	for i := range 2 {
		rec := &recorder{}
		if oc := p.Run(context.Background(), rec.emit); oc.Result != ResultDrained || exists(page) {
			t.Fatalf("run %d: %+v", i, oc)
		}
		if _, ok := rec.find(EvOut); !ok {
			t.Errorf("run %d: no out event of its own", i)
		}
		if oc := p.In(context.Background(), false, rec.emit); oc.Err != nil || !exists(page) {
			t.Fatalf("in %d: %+v", i, oc)
		}
	}
}

func countWarnings(rec *recorder, sub string) int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	n := 0
	for _, e := range rec.events {
		if e.Event == EvWarning && strings.Contains(e.Message, sub) {
			n++
		}
	}
	return n
}
