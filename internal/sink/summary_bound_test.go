package sink

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/report"
)

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
