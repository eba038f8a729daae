package sink

import (
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/report"
)

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
			e.QuietFor = ptr(drain.Seconds(float64(i-quietFrom) / 10))
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
			drain.Event{Time: end, Event: drain.EvResult, Result: drain.ResultTimeout, Rotation: "OUT", ExitCode: ptr(3)})
	} else {
		evs = append(evs, drain.Event{Time: end, Event: drain.EvDrained, Elapsed: el},
			drain.Event{Time: end, Event: drain.EvAction, Message: "started", Action: "true"},
			drain.Event{Time: end.Add(time.Second), Event: drain.EvIn, Rotation: "IN"},
			drain.Event{Time: end.Add(time.Second), Event: drain.EvResult, Result: drain.ResultDrained, Rotation: "IN", ExitCode: ptr(0)})
	}
	return evs
}

// Below the thinning bound the summary is what the report makes of every
// event, for one run and for the second of two in one process; the
// blocked times are each poll's blockers held until the next poll.
func TestSummaryShortRunAsBefore(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	first := simRun(t0, 3, 300, "web1:80")
	second := simRun(t0.Add(time.Hour), 4, 450, "web1:80")
	var s summary
	var all []drain.Event
	for i, evs := range [][]drain.Event{first, second} {
		for _, e := range evs {
			s.add(e)
			all = append(all, e)
		}
		got, want := s.build(), report.Build(all, report.Options{})
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("run %d: the summary's report differs from the report of every event:\n got %s\nwant %s", i, dump(got), dump(want))
		}
		// The blocked times, as the summary computed them from every poll.
		dur, order := map[string]float64{}, []string{}
		var polls []drain.Event
		for _, e := range all {
			if e.Event == drain.EvPoll {
				polls = append(polls, e)
			}
		}
		for j, p := range polls {
			dt := 0.0
			if j+1 < len(polls) {
				dt = float64(polls[j+1].Elapsed - p.Elapsed)
			}
			for _, b := range p.Blocking {
				k := blockKey(b)
				if _, ok := dur[k]; !ok {
					order = append(order, k)
				}
				dur[k] += max(dt, 0)
			}
		}
		var want2 []blocked
		for _, k := range order {
			want2 = append(want2, blocked{k, dur[k]})
		}
		sort.SliceStable(want2, func(a, b int) bool { return want2[a].For > want2[b].For })
		if got := s.facts().Blocked; !reflect.DeepEqual(got, want2) {
			t.Fatalf("run %d: blocked %v, want %v", i, got, want2)
		}
	}
}

func dump(r *report.Run) string {
	var b strings.Builder
	fmt.Fprintf(&b, "events %d polls %d end %v grace %v quiet %v marks %v", r.Events, r.Polls, r.End, r.Grace, r.Quiet, r.Marks)
	for _, s := range r.Sources {
		fmt.Fprintf(&b, "\n  %s: %d points, unknown %v, errors %q, stats %+v", s.Name, len(s.Points), s.Unknown, s.Errors, s.Stats())
	}
	return b.String()
}

// 100k polls of 5 sources: what the summary holds stays bounded (points,
// stretches, kept events counted, not heap bytes), and the first, last and
// largest values, the poll count and the unknown time are still exact.
func TestSummaryBoundedOverALongWait(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	const k, n = 5, 100_000
	evs := simRun(t0, k, n, "web1:80")
	var s summary
	at10k := 0
	for i, e := range evs {
		s.add(e)
		if i == 10_000 {
			at10k = s.retained()
		}
	}
	bound := k*(maxKept+1+maxSpans+maxErrors) + maxSpans + 32
	if got := s.retained(); got > bound || at10k > bound {
		t.Fatalf("retained %d after 10k polls and %d after 100k, want at most %d", at10k, got, bound)
	}
	got, want := s.build(), report.Build(evs, report.Options{})
	if got.Polls != n || want.Polls != n || got.Events != want.Events || got.End != want.End || !reflect.DeepEqual(got.Grace, want.Grace) || !reflect.DeepEqual(got.Marks, want.Marks) {
		t.Fatalf("run differs:\n got %s\nwant %s", dump(got), dump(want))
	}
	for i, sr := range got.Sources {
		w := want.Sources[i]
		gs, ws := sr.Stats(), w.Stats()
		if sr.Name != w.Name || *gs.First != *ws.First || *gs.Last != *ws.Last || *gs.Max != *ws.Max || len(sr.Points) > maxKept {
			t.Errorf("%s: %d points, stats %v %v %v, want %s %v %v %v", sr.Name, len(sr.Points), *gs.First, *gs.Last, *gs.Max, w.Name, *ws.First, *ws.Last, *ws.Max)
		}
		if len(w.Unknown) <= maxSpans && gs.UnknownFor != ws.UnknownFor {
			t.Errorf("%s: unknown for %v, want %v", sr.Name, gs.UnknownFor, ws.UnknownFor)
		}
	}
	md := s.markdown(true)
	if !strings.Contains(md, "polls: 100000") || !strings.Contains(md, "xychart-beta") {
		t.Fatalf("summary:\n%s", md)
	}
}

// BenchmarkSummaryTenMinutes feeds the GitHub and the Azure outputs the
// events of a 10-minute wait of 50 sources polled every 100 ms (6000
// polls) and reports the live heap at the end, and after 1 minute, after a
// GC: flat when the summary keeps constant memory.
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
