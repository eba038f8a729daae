// Package report turns the events of a drain run (the NDJSON of --output
// json) into a timeline picture: each source's value over time against its
// threshold, the stretches it was unknown, the lb-grace and settle windows,
// and marks for out, verify, drained, the action, in and timeout. It writes
// SVG, self-contained HTML or Markdown, with no dependency beyond the
// standard library.
package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/drain-cli/drain/internal/drain"
)

// InputError is an events file that cannot be drawn: empty, not NDJSON, or
// without any drain event. Line is 0 when the problem is the whole file.
type InputError struct {
	File string
	Line int
	Msg  string
	Err  error // the cause, when a reader's error says what is wrong (Msg "")
}

func (e *InputError) Error() string {
	msg := e.Msg
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, msg)
	}
	return fmt.Sprintf("%s: %s", e.File, msg)
}

func (e *InputError) Unwrap() error { return e.Err }

// Span is a stretch of the timeline, in seconds from the run's start.
type Span struct{ From, To float64 }

// Point is one poll of one source; V is nil when the value was unknown.
type Point struct {
	T float64
	V *float64
}

// Series is one source over the run.
type Series struct {
	Name      string
	Threshold float64
	Points    []Point
	Unknown   []Span   // stretches without a value (from the unknown poll to the next one)
	Errors    []string // why it was unknown, each distinct message once
}

// Mark is one moment on the timeline.
type Mark struct {
	Kind  string // out, verify, drained, action, action-end, action-failed, in, timeout
	T     float64
	Label string
}

// Run is what a picture shows.
type Run struct {
	Start    time.Time // the moment the server went out (or the wait began): t = 0
	End      float64   // the last event, in seconds from Start
	Events   int       // drain events of this run
	Earlier  int       // runs before it in the same file, not drawn
	Polls    int
	Sources  []*Series
	Grace    *Span  // lb-grace, nil when the events cannot tell it and no --lb-grace was given
	GraceBy  string // "events" or "flag": how Grace was found
	Quiet    []Span // stretches where every source was quiet (the settle window runs in them)
	Marks    []Mark
	Warnings []string

	// What the run was about: the server it took out (the rotation
	// target; "" for drain wait), --reason, and the action with how it
	// ended (text from outside: escaped by each format).
	Target     string
	Reason     string
	Action     string
	ActionExit *int
	ActionErr  string

	Result   string // drained, timeout, ... ("" when the run did not finish)
	ExitCode *int
	Rotation string // IN | OUT | UNKNOWN after the run
	Error    string
	Drained  *float64 // when the drain condition held
}

// Options are what the events alone cannot say.
type Options struct {
	// LBGrace draws the lb-grace window from out when no poll shows it: it
	// is only in the events while it is the last thing blocking the drain.
	LBGrace time.Duration
}

var kinds = map[string]bool{
	drain.EvOut: true, drain.EvVerify: true, drain.EvPoll: true, drain.EvDrained: true,
	drain.EvTimeout: true, drain.EvAction: true, drain.EvIn: true, drain.EvWarning: true, drain.EvResult: true,
}

// Parse reads NDJSON events, leniently: unknown fields and unknown event
// kinds are ignored, blank lines skipped. Invalid JSON, an event without a
// time, an empty file or one without any drain event is an *InputError
// naming the file (and the line).
func Parse(r io.Reader, name string) ([]drain.Event, error) {
	r, err := decodeBOM(r)
	if err != nil {
		return nil, &InputError{File: name, Err: err}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	var evs []drain.Event
	n, blank := 0, 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			blank++
			continue
		}
		if line[0] != '{' {
			return nil, &InputError{File: name, Line: n, Msg: fmt.Sprintf("not a JSON object: %q", clip(string(line), 40))}
		}
		var e drain.Event
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, &InputError{File: name, Line: n, Msg: "invalid JSON: " + jsonErr(err)}
		}
		if !kinds[e.Event] {
			continue
		}
		if e.Time.IsZero() {
			return nil, &InputError{File: name, Line: n, Msg: fmt.Sprintf("%s event without a time", e.Event)}
		}
		evs = append(evs, e)
	}
	if err := sc.Err(); err != nil {
		return nil, &InputError{File: name, Line: n + 1, Err: err}
	}
	switch {
	case n == blank:
		return nil, &InputError{File: name, Msg: "empty: no events"}
	case len(evs) == 0:
		return nil, &InputError{File: name, Msg: fmt.Sprintf("no drain event in %d %s (is it the output of --output json?)", n, plural(n, "line"))}
	}
	return evs, nil
}

func jsonErr(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %s is not a %s", te.Field, te.Type)
	}
	return err.Error()
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

var graceLeft = regexp.MustCompile(`^lb-grace \(([^ )]+) left\)$`)

// Build makes the timeline of a run from its events. A file that holds
// several runs (tee -a across deploys) draws the last one: each run ends
// with its result event.
func Build(evs []drain.Event, opt Options) *Run {
	evs, earlier := lastRun(evs)
	run := &Run{Events: len(evs), Earlier: earlier}
	var hasOut bool
	run.Start, hasOut = startOf(evs)

	b := &builder{run: run, series: map[string]*Series{}, graceEnd: -1}
	for _, e := range evs {
		b.add(e)
	}
	run.Polls = len(b.polls)

	run.markUnknown()
	run.Quiet = quietSpans(b.polls, b.polled, run.Drained)
	run.placeGrace(b.graceEnd, hasOut, opt.LBGrace)
	return run
}

// lastRun returns the events of the last run in evs and how many runs came
// before it.
func lastRun(evs []drain.Event) ([]drain.Event, int) {
	earlier, from := 0, 0
	for i, e := range evs[:len(evs)-1] {
		if e.Event == drain.EvResult {
			earlier, from = earlier+1, i+1
		}
	}
	return evs[from:], earlier
}

// startOf finds t = 0, the moment the server went out, and whether there
// was an out event. Without one, t = 0 is when the wait began, found from
// the first poll's elapsed_s (or the first event when nothing polled).
func startOf(evs []drain.Event) (time.Time, bool) {
	for _, e := range evs {
		if e.Event == drain.EvOut {
			return e.Time, true
		}
	}
	for _, e := range evs {
		if e.Event == drain.EvPoll {
			return e.Time.Add(-time.Duration(float64(e.Elapsed) * float64(time.Second))), false
		}
	}
	return evs[0].Time, false
}

// at places an event on the timeline. Polls and the drained and timeout
// events carry their time since t = 0 (elapsed_s, taken before the sources
// were read), which places them better than their emit time.
func (r *Run) at(e drain.Event) float64 {
	switch e.Event {
	case drain.EvPoll, drain.EvDrained, drain.EvTimeout:
		return float64(e.Elapsed)
	}
	return e.Time.Sub(r.Start).Seconds()
}

// builder reads a run's events in order into its Run, keeping what the
// later steps need: the polls with their times and where the events said
// lb-grace ends (-1 when none did).
type builder struct {
	run      *Run
	series   map[string]*Series
	polls    []drain.Event
	polled   []float64
	graceEnd float64
}

// add takes one event into the run.
func (b *builder) add(e drain.Event) {
	run := b.run
	t := run.at(e)
	run.End = max(run.End, t)
	if run.Target == "" && (e.Event == drain.EvOut || e.Event == drain.EvIn) {
		run.Target = e.Target
	}
	switch e.Event {
	case drain.EvPoll:
		b.addPoll(e, t)
	case drain.EvOut:
		run.Marks = append(run.Marks, Mark{Kind: "out", T: t, Label: "out"})
		if e.Reason != "" {
			run.Reason = e.Reason
		}
	case drain.EvVerify:
		run.Marks = append(run.Marks, Mark{Kind: "verify", T: t, Label: "verify"})
	case drain.EvDrained:
		run.Drained = &t
		run.Marks = append(run.Marks, Mark{Kind: "drained", T: t, Label: "drained"})
	case drain.EvTimeout:
		run.Marks = append(run.Marks, Mark{Kind: "timeout", T: t, Label: "timeout"})
	case drain.EvAction:
		run.addAction(e, t)
	case drain.EvIn:
		run.Marks = append(run.Marks, Mark{Kind: "in", T: t, Label: "in"})
	case drain.EvWarning:
		run.Warnings = append(run.Warnings, e.Message)
	case drain.EvResult:
		run.Result, run.ExitCode, run.Rotation, run.Error = e.Result, e.ExitCode, e.Rotation, e.Error
	}
}

// addPoll adds a poll's readings to their sources' series, and notes where
// lb-grace ends when the poll says it is still blocking.
func (b *builder) addPoll(e drain.Event, t float64) {
	b.polls = append(b.polls, e)
	b.polled = append(b.polled, t)
	for _, rd := range e.Sources {
		s := b.series[rd.Source]
		if s == nil {
			s = &Series{Name: rd.Source} // events from before names
			if rd.Name != "" {
				s.Name = rd.Name // the short name people know it by
			}
			b.series[rd.Source] = s
			b.run.Sources = append(b.run.Sources, s)
		}
		s.Threshold = rd.Threshold
		s.Points = append(s.Points, Point{T: t, V: rd.Value})
		if rd.Value == nil && rd.Error != "" && !contains(s.Errors, rd.Error) {
			s.Errors = append(s.Errors, rd.Error)
		}
	}
	for _, blk := range e.Blocking {
		if m := graceLeft.FindStringSubmatch(blk); m != nil {
			if d, err := time.ParseDuration(m[1]); err == nil {
				b.graceEnd = t + d.Seconds()
			}
		}
	}
}

// addAction records the action and how it ended, and marks it: started,
// ended or failed.
func (r *Run) addAction(e drain.Event, t float64) {
	if e.Action != "" {
		r.Action = e.Action
	}
	if e.ActionExit != nil {
		r.ActionExit = e.ActionExit
	}
	if e.Error != "" {
		r.ActionErr = e.Error
	}
	switch {
	case e.Error != "":
		r.Marks = append(r.Marks, Mark{Kind: "action-failed", T: t, Label: "action failed"})
	case e.ActionExit != nil:
		r.Marks = append(r.Marks, Mark{Kind: "action-end", T: t, Label: "action end"})
	default:
		r.Marks = append(r.Marks, Mark{Kind: "action", T: t, Label: "action"})
	}
}

// markUnknown fills each source's Unknown stretches. A value holds until
// the next poll; the last one until the wait ended.
func (r *Run) markUnknown() {
	waitEnd := r.End
	for _, m := range r.Marks {
		if m.Kind == "drained" || m.Kind == "timeout" {
			waitEnd = m.T
		}
	}
	for _, s := range r.Sources {
		for i, p := range s.Points {
			if p.V != nil {
				continue
			}
			to := waitEnd
			if i+1 < len(s.Points) {
				to = s.Points[i+1].T
			}
			if n := len(s.Unknown); n > 0 && s.Unknown[n-1].To >= p.T {
				s.Unknown[n-1].To = max(s.Unknown[n-1].To, to)
				continue
			}
			s.Unknown = append(s.Unknown, Span{From: p.T, To: max(to, p.T)})
		}
	}
}

// quietSpans returns the quiet stretches: quiet_s grows from the poll where
// every source became quiet; a busy or unknown poll ends the stretch. The
// last one lasts until drained, when the run drained. polled holds each
// poll's place on the timeline.
func quietSpans(polls []drain.Event, polled []float64, drained *float64) []Span {
	var quiet []Span
	var cur *Span
	for i, p := range polls {
		if p.QuietFor == nil {
			if cur != nil { // quiet until this poll found a source busy
				cur.To = polled[i]
			}
			cur = nil
			continue
		}
		t := polled[i]
		if cur == nil {
			quiet = append(quiet, Span{From: t - float64(*p.QuietFor), To: t})
			cur = &quiet[len(quiet)-1]
		}
		cur.To = t
	}
	if cur != nil && drained != nil {
		cur.To = max(cur.To, *drained)
	}
	return quiet
}

// placeGrace sets the lb-grace window from out: where the events said it
// ends (graceEnd >= 0), else --lb-grace; neither without an out event.
// The timeline lasts at least until the window ends.
func (r *Run) placeGrace(graceEnd float64, hasOut bool, lbGrace time.Duration) {
	switch {
	case graceEnd >= 0 && hasOut:
		r.Grace, r.GraceBy = &Span{From: 0, To: graceEnd}, "events"
	case lbGrace > 0 && hasOut:
		r.Grace, r.GraceBy = &Span{From: 0, To: lbGrace.Seconds()}, "flag"
	}
	if r.Grace != nil {
		r.End = max(r.End, r.Grace.To)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Stats sums up one source for the tables.
type Stats struct {
	First, Last, Max *float64
	UnknownFor       float64
}

// Stats returns the first, last and largest known value, and how long the
// source was unknown.
func (s *Series) Stats() Stats {
	var st Stats
	for _, p := range s.Points {
		if p.V == nil {
			continue
		}
		v := *p.V
		if st.First == nil {
			st.First = &v
		}
		st.Last = &v
		if st.Max == nil || v > *st.Max {
			st.Max = &v
		}
	}
	for _, u := range s.Unknown {
		st.UnknownFor += u.To - u.From
	}
	return st
}

// Title says how the run ended, in one line.
func (r *Run) Title() string {
	var s string
	switch r.Result {
	case "":
		s = "no result: the run did not finish (killed?) or the events are cut short"
	case drain.ResultDrained:
		s = "drained"
		if r.Drained != nil {
			s += " after " + fmtSecs(*r.Drained)
		}
	case drain.ResultForced:
		s = "FORCED: the action ran before the server was drained"
	case drain.ResultTimeout:
		s = "NOT drained: timed out"
	case drain.ResultInterrupted:
		s = "interrupted"
	case drain.ResultActionFail:
		s = "drained, but the action FAILED"
	case drain.ResultDryRun:
		s = "dry run"
	case drain.ResultError:
		s = "failed"
	default:
		s = r.Result
	}
	if r.ExitCode != nil {
		s += fmt.Sprintf(" (exit %d)", *r.ExitCode)
	}
	switch r.Rotation {
	case "IN":
		s += "; server IN rotation"
	case "OUT":
		s += "; server OUT of rotation"
	case "UNKNOWN":
		s += "; rotation state UNKNOWN"
	}
	return s
}

// Subject says what the run was about, one item each: the server, the
// reason, the action and how it ended. Items without a value are left out
// (drain wait has no server; a run may have no reason or no action).
func (r *Run) Subject() []string {
	var s []string
	if r.Target != "" {
		s = append(s, "server: "+r.Target)
	}
	if r.Reason != "" {
		s = append(s, "reason: "+r.Reason)
	}
	if r.Action != "" {
		a := "action: " + r.Action
		switch {
		case r.Result == drain.ResultDryRun:
			a += " (dry run: not run)"
		case r.ActionErr != "":
			a += " (failed: " + r.ActionErr + ")"
		case r.ActionExit != nil:
			a += fmt.Sprintf(" (exit %d)", *r.ActionExit)
		default:
			a += " (started, not finished)"
		}
		s = append(s, a)
	}
	return s
}

// OK tells whether the run succeeded (for the title's colour).
func (r *Run) OK() bool { return r.ExitCode != nil && *r.ExitCode == 0 }

func fmtSecs(s float64) string {
	switch {
	case s < 10:
		return strconv.FormatFloat(s, 'f', 1, 64) + " s"
	case s < 600:
		return strconv.FormatFloat(s, 'f', 0, 64) + " s"
	}
	return (time.Duration(s) * time.Second).Round(time.Second).String()
}

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func fmtVal(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmtNum(*v)
}

// short cuts a source name for a label.
func short(s string, n int) string { return clip(strings.TrimSpace(s), n) }

func plural(n int, s string) string {
	if n == 1 {
		return s
	}
	return s + "s"
}

// decodeBOM lets a file saved by Windows PowerShell through (its > writes
// UTF-16 with a byte order mark; Out-File -Encoding utf8 a UTF-8 BOM).
func decodeBOM(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	head, _ := br.Peek(3)
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		_, _ = br.Discard(3)
		return br, nil
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		b, err := io.ReadAll(br)
		if err != nil {
			return nil, err
		}
		be := b[0] == 0xFE
		b = b[2:]
		u := make([]uint16, len(b)/2)
		for i := range u {
			if be {
				u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
			} else {
				u[i] = uint16(b[2*i+1])<<8 | uint16(b[2*i])
			}
		}
		return strings.NewReader(string(utf16.Decode(u))), nil
	}
	return br, nil
}
