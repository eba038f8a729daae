package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/drain"
)

// svgElems parses the SVG as XML (failing on any syntax error) and counts
// its elements by "name" and "name.class".
func svgElems(t *testing.T, svg []byte) map[string]int {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(svg))
	n := map[string]int{}
	root := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = se.Name.Space + " " + se.Name.Local
			}
			n[se.Name.Local]++
			for _, a := range se.Attr {
				if a.Name.Local == "class" {
					for _, c := range strings.Fields(a.Value) {
						n[se.Name.Local+"."+c]++
					}
				}
			}
		}
	}
	if root != "http://www.w3.org/2000/svg svg" {
		t.Fatalf("root element %q, want an svg in the SVG namespace", root)
	}
	return n
}

func TestSVGShowsTheTimeline(t *testing.T) {
	for _, tc := range []struct {
		file                  string
		opt                   Options
		values, unknown, quit int
		grace                 bool
	}{
		{"demo.ndjson", Options{LBGrace: 2 * time.Second}, 2, 0, 1, true},
		{"demo.ndjson", Options{}, 2, 0, 1, false},
		{"flap.ndjson", Options{}, 2, 1, 2, true},
		{"timeout.ndjson", Options{}, 1, 0, 0, false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			r := load(t, tc.file, tc.opt)
			var b bytes.Buffer
			if err := SVG(&b, r); err != nil {
				t.Fatal(err)
			}
			n := svgElems(t, b.Bytes())
			want := map[string]int{
				"path.value": tc.values, "line.threshold": len(r.Sources), "rect.unknown": tc.unknown,
				"rect.settle": tc.quit, "line.mark": len(r.Marks),
			}
			if tc.grace {
				want["rect.grace"] = 1
			}
			for k, v := range want {
				if n[k] != v {
					t.Errorf("%d %s, want %d", n[k], k, v)
				}
			}
			if !tc.grace && n["rect.grace"] != 0 {
				t.Errorf("a grace window is drawn")
			}
			for _, m := range r.Marks {
				if !bytes.Contains(b.Bytes(), []byte(">"+m.Label+"</text>")) {
					t.Errorf("no label %q", m.Label)
				}
			}
			if !bytes.Contains(b.Bytes(), []byte(esc(r.Title()))) {
				t.Errorf("the title %q is not in the picture", r.Title())
			}
		})
	}
}

// The names of sources are the user's text: escaped, never markup.
func TestSVGEscapesNames(t *testing.T) {
	in := `{"time":"2026-11-29T10:00:00Z","event":"out"}
{"time":"2026-11-29T10:00:01Z","event":"poll","sources":[{"source":"prom:http://h/m#x{a=\"<b>&\"}","value":1,"threshold":0}],"elapsed_s":1}
{"time":"2026-11-29T10:00:02Z","event":"result","result":"error","exit_code":1,"rotation":"IN","error":"<script>"}
`
	evs, err := Parse(strings.NewReader(in), "x")
	if err != nil {
		t.Fatal(err)
	}
	r := Build(evs, Options{})
	for _, f := range []func(io.Writer, *Run) error{SVG, HTML} {
		var b bytes.Buffer
		if err := f(&b, r); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b.Bytes(), []byte("<b>")) || bytes.Contains(b.Bytes(), []byte("<script")) {
			t.Errorf("unescaped user text in:\n%s", b.String())
		}
	}
	var b bytes.Buffer
	_ = SVG(&b, r)
	svgElems(t, b.Bytes())
}

// The page must open anywhere, offline: no script, no link, no remote
// resource; the picture is inline.
func TestHTMLIsSelfContained(t *testing.T) {
	r := load(t, "flap.ndjson", Options{})
	var b bytes.Buffer
	if err := HTML(&b, r); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, bad := range []string{"<script", "<link", "<img", "<iframe", "src=", "href=", "@import", "url(http"} {
		if strings.Contains(s, bad) {
			t.Errorf("the page contains %q", bad)
		}
	}
	start, end := strings.Index(s, "<svg"), strings.Index(s, "</svg>")
	if start < 0 || end < start {
		t.Fatal("no inline svg")
	}
	svgElems(t, []byte(s[start:end+len("</svg>")]))
	for _, want := range []string{"<td>exec:/tmp/cap/counter.sh</td>", "metrics endpoint not up yet", "<td>drained</td>"} {
		if !strings.Contains(s, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

func TestHTMLShowsTheError(t *testing.T) {
	r := load(t, "timeout.ndjson", Options{})
	var b bytes.Buffer
	if err := HTML(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "<li>error: not drained within 1.5s: still waiting on verify-url unreachable") {
		t.Errorf("the page does not say why the run failed")
	}
}

func TestMarkdownSummary(t *testing.T) {
	r := load(t, "flap.ndjson", Options{})
	var b bytes.Buffer
	if err := Markdown(&b, r); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	unknown := fmtSecs(r.Sources[0].Stats().UnknownFor)
	for _, want := range []string{
		"# drain: drained after 5.3 s (exit 0); server OUT of rotation\n",
		"| `exec:/tmp/cap/counter.sh` | 0 | 2 | 0 | 2 | " + unknown + " | exit code 1: metrics endpoint not up yet |\n",
		"| `exec:echo 0` | 0 | 0 | 0 | 0 | 0.0 s |  |\n",
		"| 0.00 s | out |\n",
		"lb-grace over (from the events) |\n",
		"| drained |\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the summary lacks %q:\n%s", want, s)
		}
	}
}

func TestWriteFileIsAtomicAndChecksTheFormat(t *testing.T) {
	dir := t.TempDir()
	r := load(t, "timeout.ndjson", Options{})
	for _, bad := range []string{filepath.Join(dir, "x.png"), filepath.Join(dir, "x"), filepath.Join(dir, "nodir", "x.svg")} {
		if err := WriteFile(bad, r); err == nil {
			t.Errorf("WriteFile(%s) succeeded", bad)
		}
	}
	out := filepath.Join(dir, "t.SVG")
	if err := WriteFile(out, r); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d files left in the directory, want only the picture", len(entries))
	}
	b, _ := os.ReadFile(out)
	svgElems(t, b)
}

// TestReportNamesServerReasonAction (issue 19): every format says which
// server the run took out, why (--reason) and what the action was and how
// it ended; a reason from outside cannot become Markdown, HTML or a CI
// command.
func TestReportNamesServerReasonAction(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 16, 0, 0, 0, time.UTC)
	exit := 0
	evs := []drain.Event{
		{Time: t0, Event: drain.EvOut, Target: "web1:80", Rotation: "OUT", Reason: "deploy | <b>42</b>\n::error::x"},
		{Time: t0.Add(time.Second), Event: drain.EvDrained, Elapsed: 1},
		{Time: t0.Add(time.Second), Event: drain.EvAction, Action: "systemctl stop app", Message: "started"},
		{Time: t0.Add(2 * time.Second), Event: drain.EvAction, Action: "systemctl stop app", ActionExit: &exit},
		{Time: t0.Add(2 * time.Second), Event: drain.EvResult, Result: drain.ResultDrained, ExitCode: &exit, Rotation: "OUT"},
	}
	r := Build(evs, Options{})
	want := []string{"server: web1:80", "reason: deploy | <b>42</b>\n::error::x", "action: systemctl stop app (exit 0)"}
	if got := r.Subject(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("Subject() = %q, want %q", got, want)
	}
	var md, html, svg bytes.Buffer
	for _, w := range []struct {
		f   func(io.Writer, *Run) error
		buf *bytes.Buffer
	}{{Markdown, &md}, {HTML, &html}, {SVG, &svg}} {
		if err := w.f(w.buf, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, line := range []string{"- server: web1:80", `- reason: deploy \| &lt;b&gt;42&lt;/b&gt; ::error::x`, "- action: systemctl stop app (exit 0)"} {
		if !strings.Contains(md.String(), line+"\n") {
			t.Errorf("Markdown lacks %q:\n%s", line, md.String())
		}
	}
	for what, doc := range map[string]string{"HTML": html.String(), "SVG": svg.String()} {
		if !strings.Contains(doc, "server: web1:80") || !strings.Contains(doc, "action: systemctl stop app (exit 0)") || !strings.Contains(doc, "deploy | &lt;b&gt;42&lt;/b&gt;") {
			t.Errorf("%s does not name the server, the reason and the action:\n%s", what, doc)
		}
		if strings.Contains(doc, "<b>42") {
			t.Errorf("%s: the reason is markup", what)
		}
	}
	svgElems(t, svg.Bytes()) // still well-formed
	for _, l := range strings.Split(md.String()+html.String()+svg.String(), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "::") {
			t.Errorf("a CI command line: %q", l)
		}
	}
}
