package sink

// This file uses only the sinks' public API, so that scripts/bench can run
// the benchmark on an older tree too (go run ./scripts/bench -only scale).

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/drain"
)

func ptrOf[T any](v T) *T { return &v }

// simRun is the events of a drain run with k sources polled n times every
// 100 ms: out, lb-grace counting down for 3 s, values that rise and fall,
// a source unknown for a few polls now and then, quiet stretches, then
// drained (or, with n over 1000, a timeout) and the result.
func simRun(t0 time.Time, k, n int, target string) []drain.Event {
	evs := []drain.Event{{Time: t0, Event: drain.EvOut, Target: target, Rotation: "OUT"}}
	quietFrom := -1
	for i := 1; i <= n; i++ {
		el := drain.Seconds(float64(i) / 10)
		e := drain.Event{Time: t0.Add(time.Duration(i) * 100 * time.Millisecond), Event: drain.EvPoll, Elapsed: el, Target: target}
		busy := false
		for j := range k {
			rd := drain.Reading{Source: fmt.Sprintf("prom:http://10.0.0.%d/metrics#inflight", j), Name: fmt.Sprintf("s%d", j), Threshold: float64(j % 3)}
			switch {
			case (i/7+j)%11 == 3 && (i/40)%3 != 0: // unknown for a while
				rd.Error = fmt.Sprintf("connection refused (%d)", (i/200)%3)
			default:
				v := float64((i*7+j*13)%23) - 8
				if i > n*3/4 || (i/40)%3 == 0 {
					v = 0
				}
				v = max(v, 0)
				rd.Value = &v
				rd.OK = v <= rd.Threshold
			}
			if !rd.OK {
				busy = true
				e.Blocking = append(e.Blocking, rd.Name)
			}
			e.Sources = append(e.Sources, rd)
		}
		if i <= 30 {
			e.Blocking = append(e.Blocking, fmt.Sprintf("lb-grace (%s left)", time.Duration(30-i)*100*time.Millisecond))
		}
		if busy || i <= 30 {
			quietFrom = -1
		} else {
			if quietFrom < 0 {
				quietFrom = i
			}
			e.QuietFor = ptrOf(drain.Seconds(float64(i-quietFrom) / 10))
		}
		evs = append(evs, e)
		if i == n/2 {
			evs = append(evs, drain.Event{Time: e.Time, Event: drain.EvWarning, Message: "slow read"})
		}
	}
	end := t0.Add(time.Duration(n+1) * 100 * time.Millisecond)
	el := drain.Seconds(float64(n+1) / 10)
	if n > 1000 {
		evs = append(evs, drain.Event{Time: end, Event: drain.EvTimeout, Elapsed: el},
			drain.Event{Time: end, Event: drain.EvResult, Result: drain.ResultTimeout, Rotation: "OUT", ExitCode: ptrOf(3)})
	} else {
		evs = append(evs, drain.Event{Time: end, Event: drain.EvDrained, Elapsed: el},
			drain.Event{Time: end, Event: drain.EvAction, Message: "started", Action: "true"},
			drain.Event{Time: end.Add(time.Second), Event: drain.EvIn, Rotation: "IN"},
			drain.Event{Time: end.Add(time.Second), Event: drain.EvResult, Result: drain.ResultDrained, Rotation: "IN", ExitCode: ptrOf(0)})
	}
	return evs
}

// fresh copies an event's readings, as a real run allocates each poll's
// anew: what a sink keeps is then its own, not the benchmark's input.
func fresh(e drain.Event) drain.Event {
	rs := make([]drain.Reading, len(e.Sources))
	for i, r := range e.Sources {
		if r.Value != nil {
			r.Value = ptrOf(*r.Value)
		}
		r.Source = string(append([]byte(nil), r.Source...))
		r.Name = string(append([]byte(nil), r.Name...))
		r.Error = string(append([]byte(nil), r.Error...))
		rs[i] = r
	}
	e.Sources = rs
	e.Blocking = append([]string(nil), e.Blocking...)
	return e
}

// BenchmarkSummaryTenMinutes feeds the GitHub and the Azure outputs the
// events of a 10-minute wait of 50 sources polled every 100 ms (6000
// polls) and reports the live heap at the end, and after 1 minute, after a
// GC: flat when the summary keeps constant memory. Each event's readings
// are allocated as it is fed, as in a real run.
func BenchmarkSummaryTenMinutes(b *testing.B) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	evs := simRun(t0, 50, 6000, "web1:80")
	dir := b.TempDir()
	heap := func() float64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return float64(m.HeapAlloc) / (1 << 20)
	}
	var at1, at10, base float64
	for range b.N {
		base = heap()
		g := NewGitHub(io.Discard, dir+"/gh.md")
		a := NewAzure(io.Discard, dir, time.Second)
		for i, e := range evs {
			e = fresh(e)
			g.Event(e)
			a.Event(e)
			if i == 600 {
				at1 = heap() - base
			}
		}
		at10 = heap() - base
		runtime.KeepAlive(g)
		runtime.KeepAlive(a)
		_ = os.Remove(dir + "/gh.md")
	}
	b.ReportMetric(at1, "MiB-at-1min")
	b.ReportMetric(at10, "MiB-at-10min")
}
