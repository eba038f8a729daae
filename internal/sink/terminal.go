package sink

import (
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/iostreams"
)

// TerminalOptions are the windows the live view shows progress against.
type TerminalOptions struct {
	LBGrace, Settle, Timeout time.Duration
}

// Terminal draws a live view on a terminal while drain waits, redrawn in
// place on every poll: one row per source (name, value, threshold, state,
// how long it has been quiet), the lb-grace/settle/timeout progress, and
// what still blocks. It fits the terminal's width and falls back to one
// line when the terminal is very small. Every other event is a line above
// the view; when the wait ends the last frame stays on screen, followed by
// the outcome and the final line.
type Terminal struct {
	h   human
	ios *iostreams.IOStreams
	opt TerminalOptions

	mu     sync.Mutex
	frame  []string // the lines of the view on screen (plain text, for the row count)
	drawn  string   // the same, as written (with colour)
	quiet  map[string]drain.Seconds
	frames int
}

// Small terminals get one line: fewer rows or columns than these.
const (
	minViewWidth  = 40
	minViewHeight = 6
)

// NewTerminal returns the live-view sink of command (run, out, in, wait).
func NewTerminal(ios *iostreams.IOStreams, command string, opt TerminalOptions) *Terminal {
	return &Terminal{
		ios: ios, opt: opt, quiet: map[string]drain.Seconds{},
		h: human{command: command, out: ios.Out, c: ios.Colors(), outC: ios.OutColors()},
	}
}

// Event implements Sink.
func (t *Terminal) Event(e drain.Event) {
	e = SanitizeEvent(e)
	t.mu.Lock()
	defer t.mu.Unlock()
	switch e.Event {
	case drain.EvPoll:
		if len(e.Requests) > 0 { // a slow wait: say what it is waiting for
			t.clear()
			t.println(InFlightText(e))
		}
		t.draw(e)
	case drain.EvDrained, drain.EvTimeout:
		t.commit()
		t.printAll(t.h.lines(e))
	case drain.EvResult:
		t.commit()
		t.printAll(t.h.resultLines(e))
		t.h.final(e)
	default:
		t.above(t.h.lines(e))
	}
}

// Note implements Noter.
func (t *Terminal) Note(msg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.above([]string{Sanitize(msg)})
}

// Close implements Sink: a view still on screen stays there.
func (t *Terminal) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.commit()
	return nil
}

// Frames is how many frames were drawn (for tests).
func (t *Terminal) Frames() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.frames
}

// above prints lines above the live view, which is drawn again below them.
func (t *Terminal) above(ls []string) {
	live := t.frame != nil
	t.clear()
	t.printAll(ls)
	if live {
		t.write(t.drawn)
	}
}

func (t *Terminal) printAll(ls []string) {
	for _, l := range ls {
		t.println(l)
	}
}

func (t *Terminal) println(l string) { _, _ = fmt.Fprintln(t.ios.ErrOut, l) }

// commit leaves the view on screen as ordinary lines.
func (t *Terminal) commit() {
	if t.frame != nil {
		_, _ = fmt.Fprintln(t.ios.ErrOut)
		t.frame = nil
	}
}

// clear erases the view: back to its first row, then erase to the end of
// the screen. The rows are counted at the current width, so a terminal made
// narrower since (its lines wrapped) is still cleared.
func (t *Terminal) clear() {
	if t.frame == nil {
		return
	}
	w, _ := t.ios.ErrSize()
	rows := 0
	for _, l := range t.frame {
		n := utf8.RuneCountInString(l)
		rows += max(1, (n+w-1)/w)
	}
	s := "\r"
	if rows > 1 {
		s += fmt.Sprintf("\033[%dA", rows-1)
	}
	_, _ = fmt.Fprint(t.ios.ErrOut, s+"\033[J")
	t.frame = nil
}

// write puts a frame on screen, the cursor left at the end of its last line.
func (t *Terminal) write(s string) {
	_, _ = fmt.Fprint(t.ios.ErrOut, s)
	t.frame = strings.Split(stripANSI(s), "\n")
}

func (t *Terminal) draw(e drain.Event) {
	for _, rd := range e.Sources {
		name := Label(rd)
		if !rd.OK {
			delete(t.quiet, name)
		} else if _, ok := t.quiet[name]; !ok {
			t.quiet[name] = e.Elapsed
		}
	}
	w, h := t.ios.ErrSize()
	var rows [][]seg
	if w < minViewWidth || h < minViewHeight {
		rows = [][]seg{t.oneLine(e)}
	} else {
		rows = t.view(e, h)
	}
	lines := make([]string, len(rows))
	for i, r := range rows {
		lines[i] = render(r, w-1) // the last column left free: no wrap
	}
	t.clear()
	t.write(strings.Join(lines, "\n"))
	t.frames++
}

// oneLine is the view on a very small terminal: "… api=3 (>0) | waiting on
// api | 12s, 48s left".
func (t *Terminal) oneLine(e drain.Event) []seg {
	tail := " | " + FmtSecs(e.Elapsed)
	if e.Remaining != nil {
		tail += ", " + FmtSecs(*e.Remaining) + " left"
	}
	body := pollText(Readings(e.Sources, true), e.Sources, Blocking(e, true))
	return []seg{{"… ", t.h.c.Muted}, {body, nil}, {tail, t.h.c.Muted}}
}

// view is the full view:
//
//	drain run: waiting 12.3s, 47.7s left of 1m0s
//	  SOURCE      VALUE  LIMIT  STATE    QUIET
//	  api             3   <= 0  busy         -
//	  worker          0   <= 0  quiet     3.2s
//	  lb-grace 6s/6s done · settle 0s/5s · timeout 12.3s/1m0s
//	  waiting on: api
func (t *Terminal) view(e drain.Event, height int) [][]seg {
	c := t.h.c
	head := fmt.Sprintf("drain %s: waiting %s", t.h.command, FmtSecs(e.Elapsed))
	if e.Remaining != nil {
		head += fmt.Sprintf(", %s left", FmtSecs(*e.Remaining))
	}
	out := [][]seg{{{head, nil}}}
	if len(e.Sources) > 0 {
		nw := 6
		for _, rd := range e.Sources {
			nw = max(nw, utf8.RuneCountInString(Label(rd)))
		}
		nw = min(nw, 24)
		out = append(out, []seg{{fmt.Sprintf("  %-*s %8s %6s  %-7s %6s", nw, "SOURCE", "VALUE", "LIMIT", "STATE", "QUIET"), c.Muted}})
		// Room for the rows: the head, the column heads, the progress,
		// the rule, the blockers, and one line free for the cursor.
		room := max(1, height-6)
		for i, rd := range e.Sources {
			if i == room-1 && len(e.Sources) > room {
				out = append(out, []seg{{fmt.Sprintf("  … %d more", len(e.Sources)-i), c.Muted}})
				break
			}
			out = append(out, t.row(rd, e.Elapsed, nw))
		}
	}
	if p := t.progress(e); p != "" {
		out = append(out, []seg{{"  " + p, c.Muted}})
	}
	if e.Rule != "" { // --settle not given: which rule chose the window
		out = append(out, []seg{{"  " + e.Rule, c.Muted}})
	}
	if b := Blocking(e, true); len(b) > 0 {
		out = append(out, []seg{{"  waiting on: ", nil}, {joinComma(b), c.Warn}})
	} else {
		out = append(out, []seg{{"  nothing blocks", c.Good}})
	}
	return out
}

func (t *Terminal) row(rd drain.Reading, elapsed drain.Seconds, nw int) []seg {
	c := t.h.c
	name := Label(rd)
	if utf8.RuneCountInString(name) > nw {
		name = string([]rune(name)[:nw-1]) + "…"
	}
	val, state, colour := "?", "unknown", c.Bad
	if rd.Value != nil {
		val = FmtNum(*rd.Value)
		state, colour = "busy", c.Warn
		if rd.OK {
			state, colour = "quiet", c.Good
		}
	}
	quiet := "-"
	if since, ok := t.quiet[Label(rd)]; ok && rd.OK {
		quiet = FmtSecs(elapsed - since)
	}
	r := []seg{
		{fmt.Sprintf("  %-*s %8s %6s  ", nw, name, val, "<= "+FmtNum(rd.Threshold)), nil},
		{fmt.Sprintf("%-7s", state), colour},
		{fmt.Sprintf(" %6s", quiet), nil},
	}
	why := rd.Error
	if rd.Note != "" {
		why = rd.Note
	}
	if why != "" {
		r = append(r, seg{"  " + strings.ReplaceAll(why, "\n", " "), c.Muted})
	}
	return r
}

// progress is "lb-grace 6s/6s · settle 1.2s/5s · timeout 12.3s/1m0s".
func (t *Terminal) progress(e drain.Event) string {
	var parts []string
	el := time.Duration(float64(e.Elapsed) * float64(time.Second))
	if g := t.opt.LBGrace; g > 0 {
		parts = append(parts, fmt.Sprintf("lb-grace %s/%s", dur(min(el, g)), dur(g)))
	}
	s := t.opt.Settle
	if e.Settle != nil { // the window that applied at this poll (--settle not given: it follows the balancer)
		s = time.Duration(float64(*e.Settle) * float64(time.Second))
	}
	if s > 0 {
		q := time.Duration(0)
		if e.QuietFor != nil {
			q = min(time.Duration(float64(*e.QuietFor)*float64(time.Second)), s)
		}
		parts = append(parts, fmt.Sprintf("settle %s/%s", dur(q), dur(s)))
	}
	if to := t.opt.Timeout; to > 0 {
		parts = append(parts, fmt.Sprintf("timeout %s/%s", dur(min(el, to)), dur(to)))
	}
	return strings.Join(parts, " · ")
}

func dur(d time.Duration) string { return FmtSecs(drain.Seconds(d.Seconds())) }

// seg is a piece of a line and its colour (nil: none).
type seg struct {
	s string
	c func(string) string
}

// render joins segs, cut to w columns (an ellipsis marks the cut), colour
// added after the cut so that escapes never count as columns.
func render(segs []seg, w int) string {
	var b strings.Builder
	left := w
	for _, s := range segs {
		if left <= 0 {
			break
		}
		txt := s.s
		if n := utf8.RuneCountInString(txt); n > left {
			txt = string([]rune(txt)[:max(left-1, 0)]) + "…"
		}
		left -= utf8.RuneCountInString(txt)
		if s.c != nil {
			txt = s.c(txt)
		}
		b.WriteString(txt)
	}
	return b.String()
}

// stripANSI drops the colour escapes drain itself writes (ESC [ ... m).
func stripANSI(s string) string {
	if !strings.Contains(s, "\033[") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) {
				j++
			}
			i = j
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func joinComma(s []string) string { return strings.Join(s, ", ") }
