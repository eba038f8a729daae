package cli

import (
	"encoding/json"
	"errors"
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
	// The view is redrawn in place (back to its first row, erase below) on
	// every poll after the first; the drained line commits the last frame.
	if c := strings.Count(s, "\033[J"); c != 3 {
		t.Errorf("live view redrawn %d times, want one per poll after the first (3): %q", c, s)
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

// Text from outside (a status page's error, an exec source's or action's
// stderr, a file name) must not drive the terminal: control characters are
// shown escaped in human output; NDJSON stays one valid JSON object a line.
func TestControlCharactersAreEscaped(t *testing.T) {
	evil := "boom\x1b[2J\x1b]0;pwned\x07\r\u009b31m\x9b"
	events := []drain.Event{
		{Event: drain.EvPoll, Sources: []drain.Reading{{Source: "exec:x", Error: "exit 1: " + evil}}, Blocking: []string{"exec:x"}},
		{Event: drain.EvAction, Action: "x", Error: "action failed: " + evil, Message: "line1\r\nline2 " + evil},
		{Event: drain.EvWarning, Message: evil},
		{Event: drain.EvOut, Target: "/www/" + evil, Rotation: "OUT", Message: "taken out"},
	}
	ios, out, errOut := iostreams.Test()
	r := newRenderer(ios, false, "run")
	for _, e := range events {
		r.event(e)
	}
	r.finish(drain.Outcome{Result: drain.ResultError, Code: drain.ExitError, Err: errors.New(evil), Hint: evil, Rotation: rotation.In}, true)
	for name, s := range map[string]string{"stderr": errOut.String(), "stdout": out.String()} {
		if i := strings.IndexFunc(s, isControl); i >= 0 {
			t.Errorf("%s holds a raw control character at %d: %q", name, i, s)
		}
	}
	if !strings.Contains(errOut.String(), `boom\x1b[2J\x1b]0;pwned\a\r\u009b31m\x9b`) {
		t.Errorf("escaped text not shown as expected:\n%s", errOut)
	}
	if !strings.Contains(errOut.String(), "line1\n  line2") {
		t.Errorf("a Windows line end in the action's output should stay a line break:\n%s", errOut)
	}

	ios, out, _ = iostreams.Test()
	r = newRenderer(ios, true, "run")
	for _, e := range events {
		r.event(e)
	}
	r.finish(drain.Outcome{Result: drain.ResultError, Code: drain.ExitError, Err: errors.New(evil), Rotation: rotation.In}, true)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(events)+1 {
		t.Fatalf("want %d NDJSON lines, got %d:\n%s", len(events)+1, len(lines), out)
	}
	for _, l := range lines {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Errorf("not JSON: %v: %q", err, l)
		}
		if strings.ContainsFunc(l, isControl) {
			t.Errorf("raw control character in NDJSON: %q", l)
		}
	}
}
