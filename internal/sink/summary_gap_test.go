package sink

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/drain"
)

// TestChartShowsUnknownAfterThinning: a long wait whose middle third could
// not be read, far past the points the summary keeps (thinned to half
// again and again, the unknown polls counting least): the chart still
// shades the middle and draws no value there, and the value before it (5)
// is never drawn after it.
func TestChartShowsUnknownAfterThinning(t *testing.T) {
	var s summary
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	s.add(drain.Event{Time: t0, Event: drain.EvOut, Target: "web1:80", Rotation: "OUT"})
	const n = 3000
	for i := range n {
		rd := drain.Reading{Source: "api", Threshold: 0}
		switch {
		case i < n/3:
			rd.Value = ptr(5.0)
		case i < 2*n/3:
			rd.Error = "HTTP 503"
		default:
			rd.Value, rd.OK = ptr(0.0), true
		}
		el := drain.Seconds(float64(i) / 10)
		s.add(drain.Event{Time: t0.Add(time.Duration(i) * 100 * time.Millisecond), Event: drain.EvPoll, Sources: []drain.Reading{rd}, Elapsed: el})
	}
	s.add(drain.Event{Time: t0.Add(n * 100 * time.Millisecond), Event: drain.EvResult, Result: drain.ResultDrained, Rotation: "OUT", ExitCode: ptr(0)})
	md := s.markdown(true)
	get := func(name string) []string {
		m := regexp.MustCompile(`(?m)^    %% ` + name + `\n    (?:bar|line) \[([^\]]*)\]$`).FindStringSubmatch(md)
		if m == nil {
			t.Fatalf("no %s series:\n%s", name, md)
		}
		return strings.Split(m[1], ", ")
	}
	unknown, value := get("unknown"), get("value")
	first, last := -1, -1
	for i := range unknown {
		if unknown[i] != "0" {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first <= 0 || last >= len(unknown)-1 {
		t.Fatalf("the unknown stretch is not shaded in the middle: %v", unknown)
	}
	for i := first + 1; i < last; i++ {
		if value[i] != "0" || unknown[i] == "0" {
			t.Errorf("column %d inside the unknown stretch: value %s, shade %s", i, value[i], unknown[i])
		}
	}
	for i := range value {
		if i < first && value[i] != "5" || i > last && value[i] != "0" {
			t.Errorf("column %d: value %s (before the gap 5, after it 0): %v", i, value[i], value)
		}
	}
}
