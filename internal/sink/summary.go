package sink

import (
	"bytes"
	"fmt"
	"math"
	"os"
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
type summary struct {
	evs []drain.Event
}

func (s *summary) add(e drain.Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	s.evs = append(s.evs, e)
}

// target is the server (or load-balancer member) the run changed, or "" for
// drain wait.
func (s *summary) target() string {
	for _, e := range s.evs {
		if e.Target != "" {
			return e.Target
		}
	}
	return ""
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
	var polls []drain.Event
	for _, e := range s.evs {
		switch e.Event {
		case drain.EvOut:
			if e.Rotation == "OUT" && outAt.IsZero() {
				outAt = e.Time
			}
		case drain.EvIn:
			if e.Rotation == "IN" {
				inAt = e.Time
			}
		case drain.EvPoll:
			polls = append(polls, e)
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
	dur := map[string]float64{}
	var order []string
	for i, p := range polls {
		dt := 0.0
		if i+1 < len(polls) {
			dt = float64(polls[i+1].Elapsed - p.Elapsed)
		}
		for _, b := range p.Blocking {
			k := blockKey(b)
			if _, ok := dur[k]; !ok {
				order = append(order, k)
			}
			dur[k] += max(dt, 0)
		}
	}
	for _, k := range order {
		f.Blocked = append(f.Blocked, blocked{What: k, For: dur[k]})
	}
	sort.SliceStable(f.Blocked, func(i, j int) bool { return f.Blocked[i].For > f.Blocked[j].For })
	return f
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
	run := report.Build(s.evs, report.Options{})
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
	// report's own Markdown form, its headings one level down.
	var md bytes.Buffer
	if err := report.Markdown(&md, run); err == nil {
		lines := strings.Split(md.String(), "\n")
		for i, l := range lines {
			switch {
			case i == 0 && strings.HasPrefix(l, "# "):
				continue // the title is already above
			case strings.HasPrefix(l, "## "):
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
func chart(sr *report.Series) string {
	var known []report.Point
	for _, p := range sr.Points {
		if p.V != nil {
			known = append(known, p)
		}
	}
	if len(known) == 0 {
		return ""
	}
	last := sr.Points[len(sr.Points)-1].T
	n := min(max(len(sr.Points), 2), maxPoints)
	labels := make([]string, n)
	vals := make([]string, n)
	thr := make([]string, n)
	top := sr.Threshold
	for i := range n {
		t := last * float64(i) / float64(n-1)
		v := *known[0].V
		for _, p := range known {
			if p.T <= t+1e-9 {
				v = *p.V
			}
		}
		top = max(top, v)
		labels[i] = strconv.Quote(strconv.FormatFloat(t, 'f', 1, 64))
		vals[i] = num(v)
		thr[i] = num(sr.Threshold)
	}
	top = math.Ceil(top*1.1 + 1)
	var b strings.Builder
	// The value in red, the threshold in grey (the default palette draws the
	// first line too pale to see on white).
	b.WriteString("```mermaid\n%%{init: {\"themeVariables\": {\"xyChart\": {\"plotColorPalette\": \"#d62728, #7f7f7f\"}}}}%%\nxychart-beta\n")
	fmt.Fprintf(&b, "    title %s\n", strconv.Quote(mermaidText(clip(sr.Name, 48)+": value, threshold "+num(sr.Threshold))))
	fmt.Fprintf(&b, "    x-axis \"seconds since out\" [%s]\n", strings.Join(labels, ", "))
	fmt.Fprintf(&b, "    y-axis \"value\" 0 --> %s\n", num(top))
	fmt.Fprintf(&b, "    line [%s]\n", strings.Join(vals, ", "))
	fmt.Fprintf(&b, "    line [%s]\n", strings.Join(thr, ", "))
	b.WriteString("```\n")
	return b.String()
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
