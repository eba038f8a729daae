package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/iostreams"
	"github.com/drain-cli/drain/internal/rotation"
)

func f(v float64) *float64 { return &v }

func pollEvents() []drain.Event {
	busy := []drain.Reading{{Source: "nginx:http://h/s", Value: f(2), Threshold: 0}}
	idle := []drain.Reading{{Source: "nginx:http://h/s", Value: f(0), OK: true}}
	rem := drain.Seconds(50)
	return []drain.Event{
		{Event: drain.EvPoll, Sources: busy, Blocking: []string{"nginx:http://h/s"}, Elapsed: 1, Remaining: &rem},
		{Event: drain.EvPoll, Sources: busy, Blocking: []string{"nginx:http://h/s"}, Elapsed: 2, Remaining: &rem},
		{Event: drain.EvPoll, Sources: idle, Blocking: []string{"settle (2s left)"}, Elapsed: 3, Remaining: &rem},
		{Event: drain.EvPoll, Sources: idle, Blocking: []string{"settle (1s left)"}, Elapsed: 4, Remaining: &rem},
		{Event: drain.EvDrained, Elapsed: 5, Message: "every source quiet"},
	}
}

func TestPipelineOutputIsPlainAndOnlyOnChange(t *testing.T) {
	ios, out, errOut := iostreams.Test()
	r := newRenderer(ios, false, "run")
	r.now = func() time.Time { return time.Date(2026, 1, 2, 10, 11, 12, 0, time.UTC) }
	for _, e := range pollEvents() {
		r.event(e)
	}
	r.finish(drain.Outcome{Result: drain.ResultDrained, Rotation: rotation.Out}, true)
	lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 lines (busy, settling, drained), got %d:\n%s", len(lines), errOut)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "10:11:12 ") {
			t.Errorf("line not timestamped: %q", l)
		}
	}
	if strings.Contains(errOut.String()+out.String(), "\033") || strings.Contains(errOut.String(), "\r") {
		t.Errorf("escape codes in pipeline output: %q", errOut.String())
	}
	if out.String() != "drained; server is OUT of rotation\n" {
		t.Errorf("final line = %q", out.String())
	}
}

func TestTerminalDrawsALiveLine(t *testing.T) {
	ios, _, errOut := iostreams.Test()
	ios.SetTTY(true, true)
	r := newRenderer(ios, false, "run")
	for _, e := range pollEvents() {
		r.event(e)
	}
	s := errOut.String()
	if c := strings.Count(s, "\r\033[K"); c < 4 {
		t.Errorf("live line redrawn %d times, want one per poll (>=4): %q", c, s)
	}
	if !strings.Contains(s, "50s left") || !strings.Contains(s, "\033[") {
		t.Errorf("live line lacks remaining time or colour: %q", s)
	}
}

func TestColourOffWithoutTTY(t *testing.T) {
	ios, out, _ := iostreams.Test()
	r := newRenderer(ios, false, "run")
	r.finish(drain.Outcome{Result: drain.ResultTimeout, Code: drain.ExitTimeout, Rotation: rotation.In}, true)
	if out.String() != "NOT drained: timed out; server is IN rotation\n" {
		t.Errorf("final line = %q", out.String())
	}
}
