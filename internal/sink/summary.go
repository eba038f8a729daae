package sink

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/report"
	"github.com/drain-cli/drain/internal/untrusted"
)

// summary gathers the events of one run for the Markdown summary a CI
// system shows beside the log (GitHub's step summary, Azure's build
// summary): how it ended, where the server stands, how long it was out and
// took to drain, what blocked longest, what was still in flight, and a
// picture of the sources over time.
//
// It holds constant memory however long the wait: the events other than
// polls (a handful per run; warnings up to maxWarnings) and, in their
// place, the first and the latest poll of a run without their readings;
// what the polls add to the summary is folded in as they come: per source
// its points (thinned to half once there are more than maxKept, keeping the
// first and last known values and the largest), its unknown stretches and
// errors; the quiet stretches, the lb-grace end, and how long each thing
// blocked. The report is built from the kept events, then given these.
type summary struct {
	evs      []drain.Event // kept events, in order
	warnings int
	tgt      string
	n        int // events seen

	// Of every poll (all runs): how long each thing blocked.
	blockFor   map[string]float64
	blockOrder []string
	lastPoll   *drain.Event // the previous poll: its blockers held until this one

	cur polls // the polls of the current run (since the last result)
}

// Bounds of what a summary keeps.
const (
	maxWarnings = 100 // warning events kept (the rest counted in the events)
	maxKept     = 512 // points per source before thinning to half
	maxSpans    = 64  // unknown or quiet stretches (later ones extend the last)
	maxErrors   = 16  // distinct errors per source
)

// polls is what one run's polls add to the report.
type polls struct {
	events   int // events of the run, polls included
	n        int
	slot     int // index in evs of the run's latest poll; -1: none
	sources  map[string]*series
	order    []*series
	quiet    []report.Span
	inQuiet  bool
	graceEnd float64
	ended    bool // a result was seen: the next event starts a new run
}

func newPolls() polls { return polls{slot: -1, graceEnd: -1} }

// series is one source's points, thinned.
type series struct {
	s                     report.Series
	firstKnown, lastKnown int  // indexes in s.Points of the first and last known values; -1: none
	pending               bool // the last point is unknown: its stretch runs to the next point
}

// graceLeft is the lb-grace countdown a poll blocks on (as the report reads it).
var graceLeft = regexp.MustCompile(`^lb-grace \(([^ )]+) left\)$`)

func (s *summary) add(e drain.Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if s.tgt == "" {
		s.tgt = e.Target
	}
	if s.n == 0 || s.cur.ended {
		s.cur = newPolls()
	}
	s.n++
	s.cur.events++
	switch e.Event {
	case drain.EvPoll:
		s.poll(e)
		return
	case drain.EvWarning:
		if s.warnings++; s.warnings > maxWarnings {
			return
		}
	case drain.EvResult:
		s.cur.ended = true
	}
	s.evs = append(s.evs, e)
}

// poll folds one poll in.
func (s *summary) poll(e drain.Event) {
	if s.blockFor == nil {
		s.blockFor = map[string]float64{}
	}
	if p := s.lastPoll; p != nil {
		dt := max(float64(e.Elapsed-p.Elapsed), 0)
		for _, b := range p.Blocking {
			s.blockFor[blockKey(b)] += dt
		}
	}
	for _, b := range e.Blocking {
		if k := blockKey(b); !slices.Contains(s.blockOrder, k) {
			s.blockOrder = append(s.blockOrder, k)
		}
	}
	last := drain.Event{Event: e.Event, Time: e.Time, Elapsed: e.Elapsed, Blocking: slices.Clone(e.Blocking)}
	s.lastPoll = &last

	c := &s.cur
	c.n++
	// The run's first poll keeps its place; later ones share one slot,
	// moved to the end when other events came in between.
	slot := drain.Event{Event: e.Event, Time: e.Time, Elapsed: e.Elapsed, Target: e.Target}
	switch {
	case c.n > 1 && c.slot >= 0 && c.slot == len(s.evs)-1:
		s.evs[c.slot] = slot
	case c.n > 1:
		s.evs = append(s.evs, slot)
		c.slot = len(s.evs) - 1
	default:
		s.evs = append(s.evs, slot) // the first poll's slot is never overwritten
	}
	t := float64(e.Elapsed)
	if c.sources == nil {
		c.sources = map[string]*series{}
	}
	for _, rd := range e.Sources {
		sr := c.sources[rd.Source]
		if sr == nil {
			sr = &series{s: report.Series{Name: rd.Source}, firstKnown: -1, lastKnown: -1}
			if rd.Name != "" {
				sr.s.Name = rd.Name
			}
			c.sources[rd.Source] = sr
			c.order = append(c.order, sr)
		}
		sr.s.Threshold = rd.Threshold
		sr.add(t, rd)
	}
	for _, b := range e.Blocking {
		if m := graceLeft.FindStringSubmatch(b); m != nil {
			if d, err := time.ParseDuration(m[1]); err == nil {
				c.graceEnd = t + d.Seconds()
			}
		}
	}
	// Quiet stretches: quiet_s grows from the poll where every source
	// became quiet; a busy or unknown poll ends the stretch.
	switch {
	case e.QuietFor == nil:
		if c.inQuiet {
			c.quiet[len(c.quiet)-1].To = t
		}
		c.inQuiet = false
	case !c.inQuiet:
		c.inQuiet = true
		if len(c.quiet) < maxSpans {
			c.quiet = append(c.quiet, report.Span{From: t - float64(*e.QuietFor), To: t})
		}
		c.quiet[len(c.quiet)-1].To = t
	default:
		c.quiet[len(c.quiet)-1].To = t
	}
}

// add folds one reading in.
func (sr *series) add(t float64, rd drain.Reading) {
	u := sr.s.Unknown
	if sr.pending { // an unknown stretch runs from the unknown point to the next point
		u[len(u)-1].To = max(u[len(u)-1].To, t)
		sr.pending = false
	}
	var v *float64
	if rd.Value != nil {
		x := *rd.Value
		v = &x
	} else {
		if rd.Error != "" && len(sr.s.Errors) < maxErrors && !slices.Contains(sr.s.Errors, rd.Error) {
			sr.s.Errors = append(sr.s.Errors, rd.Error)
		}
		switch {
		case len(u) > 0 && u[len(u)-1].To >= t, len(u) == maxSpans:
			u[len(u)-1].To = max(u[len(u)-1].To, t)
		default:
			sr.s.Unknown = append(sr.s.Unknown, report.Span{From: t, To: t})
		}
		sr.pending = true
	}
	sr.s.Points = append(sr.s.Points, report.Point{T: t, V: v})
	if v != nil {
		sr.lastKnown = len(sr.s.Points) - 1
		if sr.firstKnown < 0 {
			sr.firstKnown = sr.lastKnown
		}
	}
	if len(sr.s.Points) > maxKept {
		sr.thin()
	}
}

// thin halves the points: the first and the last stay, and of each pair
// between them the larger value (an unknown counts least), or both when
// one is the first or last known value. The largest value is never
// dropped, so first, last and max stay exact.
func (sr *series) thin() {
	pts := sr.s.Points
	out := make([]report.Point, 0, len(pts)/2+4)
	fk, lk := -1, -1
	keep := func(i int) {
		if i == sr.firstKnown {
			fk = len(out)
		}
		if i == sr.lastKnown {
			lk = len(out)
		}
		out = append(out, pts[i])
	}
	keep(0)
	i := 1
	for ; i+1 < len(pts)-1; i += 2 {
		j := i + 1
		pinI := i == sr.firstKnown || i == sr.lastKnown
		pinJ := j == sr.firstKnown || j == sr.lastKnown
		switch {
		case pinI || pinJ:
			keep(i)
			keep(j)
		case pts[j].V != nil && (pts[i].V == nil || *pts[j].V > *pts[i].V):
			keep(j)
		default:
			keep(i)
		}
	}
	for ; i < len(pts); i++ {
		keep(i)
	}
	sr.s.Points, sr.firstKnown, sr.lastKnown = out, fk, lk
}

// retained counts what the summary holds: kept events, points and
// stretches (for the test that it stays bounded).
func (s *summary) retained() int {
	n := len(s.evs) + len(s.blockOrder) + len(s.cur.quiet)
	for _, sr := range s.cur.order {
		n += len(sr.s.Points) + len(sr.s.Unknown) + len(sr.s.Errors)
	}
	return n
}

// target is the server (or load-balancer member) the run changed, or "" for
// drain wait.
func (s *summary) target() string { return s.tgt }

// build makes the report of the current run from the kept events and what
// the polls added.
func (s *summary) build() *report.Run {
	run := report.Build(s.evs, report.Options{})
	c := s.cur
	run.Events, run.Polls = c.events, c.n
	hasOut := false
	waitEnd := run.End
	for _, m := range run.Marks {
		switch m.Kind {
		case "out":
			hasOut = true
		case "drained", "timeout":
			waitEnd = m.T
		}
	}
	run.Sources = nil
	for _, sr := range c.order {
		x := sr.s
		x.Points = slices.Clone(x.Points)
		x.Unknown = slices.Clone(x.Unknown)
		if sr.pending && len(x.Unknown) > 0 {
			x.Unknown[len(x.Unknown)-1].To = max(x.Unknown[len(x.Unknown)-1].To, waitEnd)
		}
		run.Sources = append(run.Sources, &x)
	}
	run.Quiet = slices.Clone(c.quiet)
	if c.inQuiet && run.Drained != nil && len(run.Quiet) > 0 {
		run.Quiet[len(run.Quiet)-1].To = max(run.Quiet[len(run.Quiet)-1].To, *run.Drained)
	}
	if c.graceEnd >= 0 && hasOut {
		run.Grace, run.GraceBy = &report.Span{From: 0, To: c.graceEnd}, "events"
		run.End = max(run.End, c.graceEnd)
	}
	return run
}

// facts are the headline numbers of a run, in words.
type facts struct {
	Result    string // drained, timeout, ...
	Rotation  string // IN, OUT, UNKNOWN, or "" (drain wait)
	OutFor    string // time out of rotation
	ToDrain   string // time until the drain condition held
	Blocked   []blocked
	InFlight  []drain.Request
	InFlightN int
	Error     string

	Reason     string // --reason
	Action     string // the action's command line; "" when none ran
	ActionExit *int   // its exit code, when it finished
	ActionErr  string // why it failed, when it did
}

type blocked struct {
	What string
	For  float64 // seconds
}

// blockKey is what blocked, without the countdown ("lb-grace (3s left)"
// and "lb-grace (2s left)" are one thing).
func blockKey(b string) string {
	if i := strings.LastIndex(b, " ("); i > 0 && strings.HasSuffix(b, " left)") {
		return b[:i]
	}
	return b
}

func (s *summary) facts() facts {
	var f facts
	var outAt, inAt time.Time
	var res drain.Event
	for _, e := range s.evs {
		switch e.Event {
		case drain.EvOut:
			if e.Rotation == "OUT" && outAt.IsZero() {
				outAt = e.Time
			}
			if e.Reason != "" {
				f.Reason = e.Reason
			}
		case drain.EvAction:
			if e.Action != "" {
				f.Action = e.Action
			}
			if e.ActionExit != nil {
				f.ActionExit = e.ActionExit
			}
			if e.Error != "" {
				f.ActionErr = e.Error
			}
		case drain.EvIn:
			if e.Rotation == "IN" {
				inAt = e.Time
			}
		case drain.EvDrained:
			f.ToDrain = secs(float64(e.Elapsed))
		case drain.EvTimeout:
			f.ToDrain = "not drained: timed out after " + secs(float64(e.Elapsed))
			f.InFlight, f.InFlightN = e.Requests, max(e.RequestCount, len(e.Requests))
		case drain.EvResult:
			res = e
		}
	}
	f.Result, f.Rotation, f.Error = res.Result, res.Rotation, res.Error
	if f.ToDrain == "" {
		f.ToDrain = "-"
	}
	end := res.Time
	if end.IsZero() && len(s.evs) > 0 {
		end = s.evs[len(s.evs)-1].Time
	}
	switch {
	case outAt.IsZero():
		f.OutFor = "-"
	case !inAt.IsZero() && inAt.After(outAt) && f.Rotation != "OUT":
		f.OutFor = secs(inAt.Sub(outAt).Seconds()) + " (then back IN)"
	default:
		f.OutFor = secs(end.Sub(outAt).Seconds()) + " so far (still " + strings.ToLower(orUnknown(f.Rotation)) + ")"
	}

	// Each poll's blockers held until the next poll.
	for _, k := range s.blockOrder {
		f.Blocked = append(f.Blocked, blocked{What: k, For: s.blockFor[k]})
	}
	sort.SliceStable(f.Blocked, func(i, j int) bool { return f.Blocked[i].For > f.Blocked[j].For })
	return f
}

// actionCell says what the action was and how it ended.
func actionCell(f facts) string {
	if f.Action == "" {
		return "none ran"
	}
	c := mdCode(f.Action)
	switch {
	case f.Result == drain.ResultDryRun:
		return c + " (dry run: not run)"
	case f.ActionErr != "":
		return c + " failed: " + mdText(f.ActionErr)
	case f.ActionExit != nil:
		return fmt.Sprintf("%s (exit %d)", c, *f.ActionExit)
	}
	return c + " (started, not finished)"
}

func orUnknown(s string) string {
	if s == "" {
		return "UNKNOWN"
	}
	return s
}

// markdown renders the summary. picture adds a Mermaid chart per source,
// which GitHub renders in step summaries; Azure's summary pages do not
// render Mermaid, so there the tables stand alone.
func (s *summary) markdown(picture bool) string {
	if len(s.evs) == 0 {
		return ""
	}
	run := s.build()
	f := s.facts()
	var b strings.Builder
	target := s.target()
	head := "drain"
	if target != "" {
		head += " " + target
	}
	fmt.Fprintf(&b, "### %s: %s\n\n", mdText(head), mdText(run.Title()))
	b.WriteString("| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| result | **%s** |\n", mdText(orDash(f.Result)))
	if target != "" {
		fmt.Fprintf(&b, "| server | %s |\n", mdCode(target))
	}
	switch {
	case f.Reason != "":
		fmt.Fprintf(&b, "| reason | %s |\n", mdText(f.Reason))
	case target != "":
		b.WriteString("| reason | none given (--reason) |\n")
	}
	fmt.Fprintf(&b, "| action | %s |\n", actionCell(f))
	switch f.Rotation {
	case "":
		b.WriteString("| rotation | not changed (drain wait) |\n")
	default:
		fmt.Fprintf(&b, "| rotation | server is **%s** |\n", mdText(f.Rotation))
	}
	fmt.Fprintf(&b, "| out of rotation | %s |\n", mdText(f.OutFor))
	fmt.Fprintf(&b, "| time to drain | %s |\n", mdText(f.ToDrain))
	if len(f.Blocked) > 0 {
		fmt.Fprintf(&b, "| blocked longest | %s (%s) |\n", mdCode(f.Blocked[0].What), secs(f.Blocked[0].For))
	}
	if f.Error != "" {
		fmt.Fprintf(&b, "| error | %s |\n", mdText(f.Error))
	}

	if f.InFlightN > 0 {
		fmt.Fprintf(&b, "\n#### Still in flight at the timeout: %d\n\n| request | running for | client | where |\n|---|---:|---|---|\n", f.InFlightN)
		for _, q := range f.InFlight {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mdCode(q.Verb+" "+q.URL), secs(float64(q.Elapsed)), mdText(q.Client), mdText(q.Where))
		}
		if n := f.InFlightN - len(f.InFlight); n > 0 {
			fmt.Fprintf(&b, "| (+%d more) | | | |\n", n)
		}
	}

	if len(f.Blocked) > 0 {
		b.WriteString("\n#### What blocked the drain\n\n| what | for |\n|---|---:|\n")
		for _, x := range f.Blocked {
			fmt.Fprintf(&b, "| %s | %s |\n", mdCode(x.What), secs(x.For))
		}
	}

	if picture {
		for i, sr := range run.Sources {
			if i == maxCharts {
				fmt.Fprintf(&b, "\n(%d more sources: see the table below)\n", len(run.Sources)-maxCharts)
				break
			}
			if c := chart(sr); c != "" {
				b.WriteString("\n" + c)
			}
		}
	}

	// The timeline and the per-source table (first, last, max) are the
	// report's own Markdown form (its title and subject are in the table
	// above), its headings one level down.
	var md bytes.Buffer
	if err := report.MarkdownBody(&md, run); err == nil {
		b.WriteString("\n")
		for l := range strings.SplitSeq(md.String(), "\n") {
			if strings.HasPrefix(l, "## ") {
				l = "#### " + l[3:]
			}
			b.WriteString(l + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n") + "\n\n"
}

const (
	maxCharts = 4  // one chart per source, up to this many
	maxPoints = 40 // samples per chart: more only squeezes the labels
)

// chart draws one source over time as a Mermaid xychart: its value and its
// threshold, sampled at even steps (a value holds until the next poll).
//
// Where the source was unknown no value is drawn: Mermaid's xychart has no
// gap in a line (mermaid-js/mermaid#5293: every point needs a number), so a
// source with an unknown stretch is drawn as bars, and each column that
// was unknown at any moment since the previous one gets a light full-height
// bar behind, the shading of drain report's SVG; a column unknown at its
// own moment has no value bar (0 high) in front of it. Without an unknown
// stretch the value is a line, as before.
func chart(sr *report.Series) string {
	known := false
	for _, p := range sr.Points {
		known = known || p.V != nil
	}
	if !known {
		return ""
	}
	last := sr.Points[len(sr.Points)-1].T
	n := min(max(len(sr.Points), 2), maxPoints)
	labels := make([]string, n)
	vals := make([]*float64, n)
	shade := make([]bool, n)
	gaps := false
	top := sr.Threshold
	prev := math.Inf(-1)
	for i := range n {
		t := last * float64(i) / float64(n-1)
		vals[i] = valueAt(sr, t)
		for _, u := range sr.Unknown {
			if u.From <= t && u.To > prev { // unknown at some moment in (prev, t]
				shade[i] = true
			}
		}
		gaps = gaps || shade[i]
		if vals[i] != nil {
			top = max(top, *vals[i])
		}
		labels[i] = strconv.Quote(strconv.FormatFloat(t, 'f', 1, 64))
		prev = t
	}
	top = math.Ceil(top*1.1 + 1)
	series := func(f func(i int) float64) string {
		s := make([]string, n)
		for i := range n {
			s[i] = num(f(i))
		}
		return strings.Join(s, ", ")
	}
	value := func(i int) float64 {
		if vals[i] == nil {
			return 0 // no bar: the shading behind says unknown
		}
		return *vals[i]
	}
	var b strings.Builder
	// The value in red, the threshold in grey (the default palette draws the
	// first line too pale to see on white), an unknown stretch light grey.
	palette, title := "#d62728, #7f7f7f", ": value, threshold "+num(sr.Threshold)
	if gaps {
		palette, title = "#d1d5db, #d62728, #7f7f7f", ": value (bars), threshold "+num(sr.Threshold)+" (line), unknown (grey columns)"
	}
	b.WriteString("```mermaid\n%%{init: {\"themeVariables\": {\"xyChart\": {\"plotColorPalette\": \"" + palette + "\"}}}}%%\nxychart-beta\n")
	fmt.Fprintf(&b, "    title %s\n", strconv.Quote(mermaidText(clip(sr.Name, 48)+title)))
	fmt.Fprintf(&b, "    x-axis \"seconds since out\" [%s]\n", strings.Join(labels, ", "))
	fmt.Fprintf(&b, "    y-axis \"value\" 0 --> %s\n", num(top))
	if gaps {
		fmt.Fprintf(&b, "    %%%% unknown\n    bar [%s]\n", series(func(i int) float64 {
			if shade[i] {
				return top
			}
			return 0
		}))
		fmt.Fprintf(&b, "    %%%% value\n    bar [%s]\n", series(value))
	} else {
		fmt.Fprintf(&b, "    %%%% value\n    line [%s]\n", series(value))
	}
	fmt.Fprintf(&b, "    %%%% threshold\n    line [%s]\n", series(func(int) float64 { return sr.Threshold }))
	b.WriteString("```\n")
	return b.String()
}

// valueAt is the source's value at t: the last poll's at or before t (the
// first poll's before it), nil when that poll could not read it or t is
// in a stretch the source was unknown (a thinned series may have dropped
// the unknown poll itself).
func valueAt(sr *report.Series, t float64) *float64 {
	for _, u := range sr.Unknown {
		if u.From <= t+1e-9 && t < u.To {
			return nil
		}
	}
	v := sr.Points[0].V
	for _, p := range sr.Points {
		if p.T > t+1e-9 {
			break
		}
		v = p.V
	}
	return v
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// mermaidText keeps a title inside its quotes: no quotes, no line breaks.
func mermaidText(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '"' || r == '`':
			return '\''
		case r < 0x20 || r == 0x7f:
			return ' '
		}
		return r
	}, s)
	return s
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func secs(s float64) string {
	d := time.Duration(s * float64(time.Second))
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// mdText is outside text in a table cell: one line, no pipes, no HTML, no
// Markdown of its own, no CI command.
func mdText(s string) string { return untrusted.MDCell(s) }

// mdCode is outside text as inline code in a table cell.
func mdCode(s string) string { return untrusted.MDCode(s) }

// appendFile appends text to a file, creating it: several steps (and several
// drains in one step) share GitHub's summary file.
func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
