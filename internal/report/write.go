package report

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/state"
	"github.com/drain-cli/drain/internal/untrusted"
)

// Formats, chosen by the output file's extension.
var formats = map[string]func(io.Writer, *Run) error{
	".svg": SVG, ".html": HTML, ".htm": HTML, ".md": Markdown,
}

// CheckPath tells whether a report can be written to path: a known
// extension and an existing directory. Checked before a run starts, so a
// typo is a usage error and not a lost picture at the end.
func CheckPath(path string) error {
	if _, ok := formats[strings.ToLower(filepath.Ext(path))]; !ok {
		return fmt.Errorf("report file %s: unknown format %q (use .svg, .html or .md)", path, filepath.Ext(path))
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("report file %s: directory %s does not exist", path, dir)
	}
	return nil
}

// Render writes the run in the format of path's extension.
func Render(w io.Writer, path string, r *Run) error {
	f, ok := formats[strings.ToLower(filepath.Ext(path))]
	if !ok {
		return fmt.Errorf("unknown format %q", filepath.Ext(path))
	}
	return f(w, r)
}

// WriteFile renders the run into path, atomically: a failure leaves no
// half-written picture (and an existing one as it was).
func WriteFile(path string, r *Run) error {
	if err := CheckPath(path); err != nil {
		return err
	}
	var b bytes.Buffer
	if err := Render(&b, path, r); err != nil {
		return err
	}
	return state.WriteFileAtomic(path, b.Bytes(), 0o644)
}

// WriteEvents draws the events a run collected (drain run --report).
func WriteEvents(path string, evs []drain.Event, opt Options) error {
	if len(evs) == 0 {
		return fmt.Errorf("no events to draw")
	}
	return WriteFile(path, Build(evs, opt))
}

// HTML writes a self-contained page: the picture inline and the summary
// tables; no script, no external resource.
func HTML(w io.Writer, r *Run) error {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	fmt.Fprintf(&b, "<title>drain: %s</title>\n", esc(r.Title()))
	b.WriteString(`<style>
body { font-family: Helvetica, Arial, sans-serif; margin: 24px; color: #111827; background: #fff; }
table { border-collapse: collapse; margin: 12px 0 20px; }
th, td { border: 1px solid #d1d5db; padding: 4px 10px; text-align: left; font-size: 14px; }
th { background: #f3f4f6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
h2 { font-size: 18px; margin-top: 24px; }
</style>
</head>
<body>
`)
	writeSVG(&b, r)
	if sub := r.Subject(); len(sub) > 0 {
		b.WriteString("<ul>\n")
		for _, s := range sub {
			fmt.Fprintf(&b, "<li>%s</li>\n", esc(s))
		}
		b.WriteString("</ul>\n")
	}
	if r.Error != "" || len(r.Warnings) > 0 || r.Earlier > 0 {
		b.WriteString("<ul>\n")
		if r.Earlier > 0 {
			fmt.Fprintf(&b, "<li>the file holds %d earlier %s, not shown: this is the last one</li>\n", r.Earlier, plural(r.Earlier, "run"))
		}
		if r.Error != "" {
			fmt.Fprintf(&b, "<li>error: %s</li>\n", esc(r.Error))
		}
		for _, w := range r.Warnings {
			fmt.Fprintf(&b, "<li>warning: %s</li>\n", esc(w))
		}
		b.WriteString("</ul>\n")
	}
	b.WriteString("<h2>Sources</h2>\n<table>\n<tr><th>source</th><th>threshold</th><th>first</th><th>last</th><th>max</th><th>unknown for</th><th>why unknown</th></tr>\n")
	for _, s := range r.Sources {
		st := s.Stats()
		fmt.Fprintf(&b, "<tr><td>%s</td><td class=\"num\">%s</td><td class=\"num\">%s</td><td class=\"num\">%s</td><td class=\"num\">%s</td><td class=\"num\">%s</td><td>%s</td></tr>\n",
			esc(s.Name), fmtNum(s.Threshold), fmtVal(st.First), fmtVal(st.Last), fmtVal(st.Max), fmtSecs(st.UnknownFor), esc(strings.Join(s.Errors, "; ")))
	}
	b.WriteString("</table>\n<h2>Timeline</h2>\n<table>\n<tr><th>at</th><th>what</th></tr>\n")
	for _, row := range timeline(r) {
		fmt.Fprintf(&b, "<tr><td class=\"num\">%s</td><td>%s</td></tr>\n", esc(row[0]), esc(row[1]))
	}
	b.WriteString("</table>\n</body>\n</html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Markdown writes a summary: the result, what the run was about (server,
// reason, action), the windows and marks as a timeline table, and one row
// per source.
func Markdown(w io.Writer, r *Run) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# drain: %s\n\n", mdEsc(r.Title()))
	for _, s := range r.Subject() {
		fmt.Fprintf(&b, "- %s\n", mdEsc(s))
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	return MarkdownBody(w, r)
}

// MarkdownBody is Markdown without the title and the subject (a CI
// summary that says them its own way): the times, the warnings, the
// timeline and the sources.
func MarkdownBody(w io.Writer, r *Run) error {
	var b strings.Builder
	fmt.Fprintf(&b, "- started (out): %s\n", r.Start.UTC().Format("2006-01-02 15:04:05.000 MST"))
	fmt.Fprintf(&b, "- events: %d, polls: %d, last event at %s\n", r.Events, r.Polls, fmtSecs(r.End))
	if r.Earlier > 0 {
		fmt.Fprintf(&b, "- the file holds %d earlier %s, not shown: this is the last one\n", r.Earlier, plural(r.Earlier, "run"))
	}
	if r.Error != "" {
		fmt.Fprintf(&b, "- error: %s\n", mdEsc(r.Error))
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "- warning: %s\n", mdEsc(w))
	}
	b.WriteString("\n## Timeline\n\n| at | what |\n|---:|---|\n")
	for _, row := range timeline(r) {
		fmt.Fprintf(&b, "| %s | %s |\n", row[0], untrusted.MDCell(row[1]))
	}
	b.WriteString("\n## Sources\n\n| source | threshold | first | last | max | unknown for | why unknown |\n|---|---:|---:|---:|---:|---:|---|\n")
	for _, s := range r.Sources {
		st := s.Stats()
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", untrusted.MDCode(s.Name), fmtNum(s.Threshold),
			fmtVal(st.First), fmtVal(st.Last), fmtVal(st.Max), fmtSecs(st.UnknownFor), untrusted.MDCell(strings.Join(s.Errors, "; ")))
	}
	if len(r.Sources) == 0 {
		b.WriteString("| (none) | | | | | | |\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdEsc is outside text in a line of Markdown (a title, a list item).
func mdEsc(s string) string { return untrusted.MDCell(s) }

// timeline lists the marks and windows in time order, for the tables.
func timeline(r *Run) [][2]string {
	type row struct {
		t    float64
		what string
	}
	var rows []row
	for _, m := range r.Marks {
		rows = append(rows, row{m.T, m.Label})
	}
	if g := r.Grace; g != nil {
		by := "from the events"
		if r.GraceBy == "flag" {
			by = "from --lb-grace"
		}
		rows = append(rows, row{g.To, "lb-grace over (" + by + ")"})
	}
	for _, q := range r.Quiet {
		rows = append(rows, row{q.From, fmt.Sprintf("every source quiet (for %s)", fmtSecs(q.To-q.From))})
	}
	for _, s := range r.Sources {
		for _, u := range s.Unknown {
			rows = append(rows, row{u.From, fmt.Sprintf("%s unknown (for %s)", s.Name, fmtSecs(u.To-u.From))})
		}
	}
	// Stable: equal times keep the order of the events.
	slices.SortStableFunc(rows, func(a, b row) int { return cmp.Compare(a.t, b.t) })
	out := make([][2]string, len(rows))
	for i, rw := range rows {
		out[i] = [2]string{fmt.Sprintf("%.2f s", rw.t), rw.what}
	}
	return out
}
