package sink

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/auditlog"
	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/iostreams"
)

func f(v float64) *float64 { return &v }

func secsPtr(s float64) *drain.Seconds { v := drain.Seconds(s); return &v }

func result(code int, res, rot string) drain.Event {
	return drain.Event{Event: drain.EvResult, Result: res, ExitCode: &code, Rotation: rot}
}

// twoSources is a poll of two named Prometheus sources, one busy.
func twoSources(elapsed float64, api float64) drain.Event {
	rs := []drain.Reading{
		{Source: "prom:http://127.0.0.1:9100/metrics#http_requests_in_flight{handler=\"/api/v1/orders\"}", Name: "api", Value: f(api), OK: api == 0},
		{Source: "prom:http://127.0.0.1:9100/metrics#worker_jobs_running{queue=\"mail\"}", Name: "worker_jobs_running{queue=mail}", Value: f(0), OK: true},
	}
	e := drain.Event{Event: drain.EvPoll, Sources: rs, Elapsed: drain.Seconds(elapsed), Remaining: secsPtr(60 - elapsed)}
	if api > 0 {
		e.Blocking = []string{rs[0].Source}
	} else {
		e.Blocking = []string{"settle (2s left)"}
		e.QuietFor = secsPtr(1)
	}
	return e
}

// screen replays what a terminal shows for s: enough of a VT100 (newline,
// carriage return, cursor up, erase below) to check what stays on screen.
func screen(s string) []string {
	lines := []string{""}
	row, col := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\n':
			row++
			col = 0
			if row == len(lines) {
				lines = append(lines, "")
			}
		case c == '\r':
			col = 0
		case c == 0x1b && i+1 < len(s) && s[i+1] == '[':
			j := i + 2
			n := 0
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				n = n*10 + int(s[j]-'0')
				j++
			}
			switch s[j] {
			case 'A':
				row = max(row-max(n, 1), 0)
			case 'J':
				lines = append(lines[:row], lines[row][:min(col, len(lines[row]))])
			case 'K':
				lines[row] = lines[row][:min(col, len(lines[row]))]
			}
			i = j
		default:
			l := []rune(lines[row])
			for len(l) < col {
				l = append(l, ' ')
			}
			r := []rune(s[i:])[0]
			if col < len(l) {
				l[col] = r
			} else {
				l = append(l, r)
			}
			lines[row] = string(l)
			col++
			i += len(string(r)) - 1
		}
	}
	return lines
}

func TestTerminalViewRowsFitAndStay(t *testing.T) {
	ios, out, errOut := iostreams.Test()
	ios.SetTTY(true, false)
	ios.SetSize(func() (int, int) { return 80, 24 })
	term := NewTerminal(ios, "run", TerminalOptions{LBGrace: 6 * time.Second, Settle: 5 * time.Second, Timeout: time.Minute})
	term.Event(drain.Event{Event: drain.EvOut, Target: "/var/www/keepalive.htm", Rotation: "OUT", Message: "taken out of rotation"})
	for i, v := range []float64{4, 2, 0, 0} {
		term.Event(twoSources(float64(i+1), v))
	}
	term.Event(drain.Event{Event: drain.EvDrained, Elapsed: 5, Message: "every source quiet"})
	term.Event(result(0, drain.ResultDrained, "OUT"))
	if err := term.Close(); err != nil {
		t.Fatal(err)
	}
	got := screen(errOut.String())
	text := strings.Join(got, "\n")
	for _, l := range got {
		if n := len([]rune(l)); n > 80 {
			t.Errorf("line of %d columns: %q", n, l)
		}
	}
	// One frame left on screen: the last one, then the drained line.
	if strings.Count(text, "SOURCE") != 1 || strings.Count(text, "drain run: waiting") != 1 {
		t.Fatalf("want exactly the last frame on screen, got:\n%s", text)
	}
	for _, want := range []string{
		"OUT /var/www/keepalive.htm: taken out of rotation",
		"drain run: waiting 4s, 56s left",
		"api ", "worker_jobs_running{que…        0   <= 0  quiet       3s",
		"lb-grace 4s/6s · settle 1s/5s · timeout 4s/1m0s",
		"waiting on: settle (2s left)",
		"drained after 5s: every source quiet",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("screen lacks %q:\n%s", want, text)
		}
	}
	if i, j := strings.Index(text, "waiting on:"), strings.Index(text, "drained after"); i > j {
		t.Errorf("the last frame should come before the drained line:\n%s", text)
	}
	if out.String() != "drained; server is OUT of rotation\n" {
		t.Errorf("final line %q", out.String())
	}
	if term.Frames() != 4 {
		t.Errorf("%d frames, want 4", term.Frames())
	}
}

func TestTerminalBusyRowAndBlocker(t *testing.T) {
	ios, _, errOut := iostreams.Test()
	ios.SetTTY(true, false)
	term := NewTerminal(ios, "wait", TerminalOptions{})
	term.Event(twoSources(1, 3))
	got := screen(errOut.String())
	if len(got) != 5 {
		t.Fatalf("want head, column heads, 2 rows, blockers; got %d lines:\n%s", len(got), strings.Join(got, "\n"))
	}
	if !strings.Contains(got[2], "api") || !strings.Contains(got[2], "busy") || !strings.Contains(got[2], "<= 0") {
		t.Errorf("api row: %q", got[2])
	}
	if !strings.Contains(got[3], "quiet") || !strings.Contains(got[3], "0s") {
		t.Errorf("worker row: %q", got[3])
	}
	if got[4] != "  waiting on: api" {
		t.Errorf("blockers by name: %q", got[4])
	}
}

func TestTerminalOneLineOnASmallTerminal(t *testing.T) {
	for _, size := range [][2]int{{30, 24}, {80, 5}} {
		ios, _, errOut := iostreams.Test()
		ios.SetTTY(true, false)
		ios.SetSize(func() (int, int) { return size[0], size[1] })
		term := NewTerminal(ios, "run", TerminalOptions{})
		term.Event(twoSources(1, 3))
		term.Event(twoSources(2, 3))
		got := screen(errOut.String())
		if len(got) != 1 || !strings.HasPrefix(got[0], "… api=3 (>0)") || len([]rune(got[0])) > size[0]-1 {
			t.Errorf("%dx%d: want one line cut to fit, got %q", size[0], size[1], got)
		}
	}
}

// A terminal made narrower mid-run wraps the view's lines; the next redraw
// must still clear all of them.
func TestTerminalResizedSmallerMidRun(t *testing.T) {
	ios, _, errOut := iostreams.Test()
	ios.SetTTY(true, false)
	var mu sync.Mutex
	w, h := 80, 24
	ios.SetSize(func() (int, int) { mu.Lock(); defer mu.Unlock(); return w, h })
	term := NewTerminal(ios, "run", TerminalOptions{Timeout: time.Minute})
	term.Event(twoSources(1, 3))
	frame := term.frame
	mu.Lock()
	w, h = 30, 5
	mu.Unlock()
	errOut.Reset()
	term.Event(twoSources(2, 3))
	rows := 0
	for _, l := range frame {
		rows += max(1, (len([]rune(l))+29)/30)
	}
	if want := "\r\033[" + itoa(rows-1) + "A\033[J"; !strings.HasPrefix(errOut.String(), want) {
		t.Errorf("redraw after the resize starts %q, want %q (the old frame's %d rows at 30 columns)", errOut.String()[:min(12, errOut.Len())], want, rows)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestLinesArePlainAndOnChange(t *testing.T) {
	ios, out, errOut := iostreams.Test()
	l := NewLines(ios, "run", func() time.Time { return time.Date(2026, 1, 2, 10, 11, 12, 0, time.UTC) })
	l.Event(twoSources(1, 3))
	l.Event(twoSources(2, 3))
	l.Event(twoSources(3, 0))
	l.Note("report written to x.svg")
	l.Event(result(3, drain.ResultTimeout, "IN"))
	lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 lines (busy, quiet, note), got:\n%s", errOut)
	}
	for _, s := range lines {
		if !strings.HasPrefix(s, "10:11:12 ") {
			t.Errorf("not timestamped: %q", s)
		}
	}
	if !strings.Contains(lines[0], `prom:http://127.0.0.1:9100/metrics#http_requests_in_flight{handler="/api/v1/orders"}=3 (>0)`) {
		t.Errorf("plain lines show the specs: %q", lines[0])
	}
	if out.String() != "NOT drained: timed out; server is IN rotation\n" {
		t.Errorf("final line %q", out.String())
	}
}

func TestNDJSONKeepsStdoutPure(t *testing.T) {
	ios, out, errOut := iostreams.Test()
	n := NewNDJSON(ios.Out, ios.ErrOut)
	n.Event(twoSources(1, 3))
	n.Event(drain.Event{Event: drain.EvAction, Action: "x", Error: "exit 1"})
	n.Note("report written to x.svg")
	e := result(1, drain.ResultError, "IN")
	e.Error, e.Hint = "boom \u009b", "try again"
	n.Event(e)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 events, got:\n%s", out)
	}
	for _, l := range lines {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil || strings.ContainsFunc(l, IsControl) {
			t.Errorf("not clean JSON: %q (%v)", l, err)
		}
		if _, ok := v["Hint"]; ok || strings.Contains(l, "try again") {
			t.Errorf("the hint is for people, not an event field: %q", l)
		}
	}
	if !strings.Contains(lines[0], `"ok":false,"name":"api"`) {
		t.Errorf("reading lacks its name: %s", lines[0])
	}
	if got := errOut.String(); got != "action failed: exit 1\nreport written to x.svg\ndrain: boom \\u009b\nhint: try again\n" {
		t.Errorf("stderr %q", got)
	}
}

type entry struct {
	level auditlog.Level
	id    uint32
	msg   string
}

type memLog struct {
	entries []entry
	closed  int
}

func (m *memLog) Write(level auditlog.Level, id uint32, msg string) {
	m.entries = append(m.entries, entry{level, id, msg})
}
func (m *memLog) Close() { m.closed++ }

func TestAuditWritesChangesAndOutcomes(t *testing.T) {
	m := &memLog{}
	a := NewAudit(m, "run", `DOM\ops`)
	a.Event(drain.Event{Event: drain.EvOut, Target: "/www/k.htm", Message: "taken out of rotation"})
	a.Event(twoSources(1, 3))
	a.Event(drain.Event{Event: drain.EvTimeout, Elapsed: 60, Message: "not drained", Blocking: []string{"exec:x"}})
	a.Event(drain.Event{Event: drain.EvAction, Action: "systemctl stop app", Error: "exit 1"})
	a.Event(result(4, drain.ResultActionFail, "OUT"))
	_ = a.Close()
	want := []entry{
		{auditlog.Info, 100, `drain run (by DOM\ops): OUT of rotation /www/k.htm: taken out of rotation`},
		{auditlog.Warning, 104, `drain run (by DOM\ops): TIMEOUT after 1m0s: not drained; waiting on exec:x`},
		{auditlog.Error, 103, `drain run (by DOM\ops): action FAILED: systemctl stop app: exit 1`},
		{auditlog.Error, 110, `drain run (by DOM\ops): result action-failed (exit 4); rotation OUT`},
	}
	if len(m.entries) != len(want) {
		t.Fatalf("entries %+v", m.entries)
	}
	for i := range want {
		if m.entries[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, m.entries[i], want[i])
		}
	}
	if m.closed != 1 {
		t.Errorf("closed %d times", m.closed)
	}
}
