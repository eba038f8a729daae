package report

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/drain-cli/drain/internal/drain"
)

// load parses a captured events file (see testdata/README.md).
func load(t *testing.T, name string, opt Options) *Run {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	evs, err := Parse(f, name)
	if err != nil {
		t.Fatal(err)
	}
	return Build(evs, opt)
}

// polls returns the poll events of a captured file, to check the model
// against the raw events rather than against numbers copied by hand.
func polls(t *testing.T, name string) []drain.Event {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	evs, err := Parse(f, name)
	if err != nil {
		t.Fatal(err)
	}
	var out []drain.Event
	for _, e := range evs {
		if e.Event == drain.EvPoll {
			out = append(out, e)
		}
	}
	return out
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func kindsOf(ms []Mark) string {
	k := make([]string, len(ms))
	for i, m := range ms {
		k[i] = m.Kind
	}
	return strings.Join(k, ",")
}

func TestParseRejectsWhatCannotBeDrawn(t *testing.T) {
	ok := `{"time":"2026-11-29T18:42:42.61Z","event":"out","rotation":"OUT"}`
	for _, tc := range []struct {
		name, in, want string
		line           int
	}{
		{"empty", "", "ev.ndjson: empty: no events", 0},
		{"only blank lines", "\n  \n\n", "ev.ndjson: empty: no events", 0},
		{"invalid JSON on line 3", ok + "\n" + ok + "\n{\"time\": \"2026-11-29T18:42:42Z\", \"event\": \"poll\"\n", "ev.ndjson:3: invalid JSON: unexpected end of JSON input", 3},
		{"a text log line", ok + "\n18:42:42 OUT keepalive.htm: taken out of rotation\n", `ev.ndjson:2: not a JSON object: "18:42:42 OUT keepalive.htm: taken out o…"`, 2},
		{"wrong type in a known field", `{"time":"2026-11-29T18:42:42Z","event":"poll","elapsed_s":"soon"}`, "ev.ndjson:1: invalid JSON: field elapsed_s is not a drain.Seconds", 1},
		{"bad time", `{"time":"yesterday","event":"out"}`, "ev.ndjson:1: invalid JSON: ", 1},
		{"no drain event", `{"level":"info","msg":"hello"}` + "\n" + `{"event":"deploy","time":"2026-11-29T18:42:42Z"}` + "\n", "ev.ndjson: no drain event in 2 lines", 0},
		{"a drain event without a time", `{"event":"poll","sources":[]}`, "ev.ndjson:1: poll event without a time", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.in), "ev.ndjson")
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("Parse = %v, want an *InputError", err)
			}
			if !strings.HasPrefix(err.Error(), tc.want) || ie.Line != tc.line {
				t.Errorf("error %q (line %d), want %q... (line %d)", err, ie.Line, tc.want, tc.line)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestParseIsLenient(t *testing.T) {
	in := `
{"time":"2026-11-29T18:42:42.000Z","event":"out","rotation":"OUT","from_the_future":{"a":[1,2]}}
{"time":"2026-11-29T18:42:42.500Z","event":"heartbeat"}

{"time":"2026-11-29T18:42:43.000Z","event":"poll","sources":[{"source":"s","value":null,"threshold":0,"ok":false,"error":"down","extra":1}],"elapsed_s":1}
`
	evs, err := Parse(strings.NewReader(in), "x")
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Event != "out" || evs[1].Event != "poll" {
		t.Fatalf("events %+v, want out and poll (unknown kinds skipped)", evs)
	}
	r := Build(evs, Options{})
	if r.Result != "" || !strings.Contains(r.Title(), "did not finish") {
		t.Errorf("a run without a result event is titled %q", r.Title())
	}
	if len(r.Sources) != 1 || len(r.Sources[0].Unknown) != 1 || r.Sources[0].Errors[0] != "down" {
		t.Errorf("sources %+v, want s unknown (down)", r.Sources)
	}
}

// The demo: two sources busy for most of the run, the grace over while
// they were busy (so not in the events), one settle window up to drained.
func TestDemoTimeline(t *testing.T) {
	r := load(t, "demo.ndjson", Options{})
	ps := polls(t, "demo.ndjson")
	if r.Result != drain.ResultDrained || r.ExitCode == nil || *r.ExitCode != 0 || r.Rotation != "OUT" {
		t.Errorf("result %q exit %v rotation %q, want drained 0 OUT", r.Result, r.ExitCode, r.Rotation)
	}
	if got := r.Title(); got != "drained after 8.7 s (exit 0); server OUT of rotation" {
		t.Errorf("title %q", got)
	}
	if got, want := kindsOf(r.Marks), "out,verify,drained,action,action-end"; got != want {
		t.Errorf("marks %s, want %s", got, want)
	}
	if r.Polls != len(ps) || len(r.Sources) != 2 {
		t.Fatalf("%d polls, %d sources; want %d, 2", r.Polls, len(r.Sources), len(ps))
	}
	for _, s := range r.Sources {
		st := s.Stats()
		if len(s.Unknown) != 0 || st.UnknownFor != 0 {
			t.Errorf("%s unknown %v, want never", s.Name, s.Unknown)
		}
		if *st.First != 2 || *st.Max != 3 || *st.Last != 0 {
			t.Errorf("%s first/max/last %v/%v/%v, want 2/3/0", s.Name, *st.First, *st.Max, *st.Last)
		}
	}
	if r.Grace != nil {
		t.Errorf("grace %+v drawn, but no poll shows it", r.Grace)
	}
	// One quiet stretch: it began 2 s (the settle) before drained.
	if len(r.Quiet) != 1 || r.Drained == nil {
		t.Fatalf("quiet %v drained %v, want one stretch and drained", r.Quiet, r.Drained)
	}
	q := r.Quiet[0]
	if !near(q.To, *r.Drained, 1e-9) || !near(q.To-q.From, 2, 0.01) {
		t.Errorf("settle %+v, want 2 s ending at drained (%v)", q, *r.Drained)
	}
	// The last poll before it found a source busy.
	last := ps[len(ps)-1]
	if !near(float64(last.Elapsed), *r.Drained, 1e-9) {
		t.Errorf("drained at %v, the last poll at %v", *r.Drained, last.Elapsed)
	}

	// --lb-grace draws the window the events cannot show.
	r = load(t, "demo.ndjson", Options{LBGrace: 2 * time.Second})
	if r.Grace == nil || r.Grace.From != 0 || r.Grace.To != 2 || r.GraceBy != "flag" {
		t.Errorf("grace %+v by %q, want 0..2 by flag", r.Grace, r.GraceBy)
	}
}

// A counter unknown at first, busy, quiet, busy again, quiet: the unknown
// stretch, two quiet stretches (the flap ends the first) and lb-grace read
// from the polls that it blocked.
func TestFlapTimeline(t *testing.T) {
	r := load(t, "flap.ndjson", Options{LBGrace: time.Hour}) // the events win over the flag
	ps := polls(t, "flap.ndjson")
	if len(r.Sources) != 2 {
		t.Fatalf("%d sources", len(r.Sources))
	}
	counter, echo := r.Sources[0], r.Sources[1]
	if counter.Name != "exec:/tmp/cap/counter.sh" || echo.Name != "exec:echo 0" {
		t.Fatalf("sources %q %q", counter.Name, echo.Name)
	}
	firstKnown := -1.0
	for _, p := range ps {
		if p.Sources[0].Value != nil {
			firstKnown = float64(p.Elapsed)
			break
		}
	}
	if len(counter.Unknown) != 1 || counter.Unknown[0].From != float64(ps[0].Elapsed) || counter.Unknown[0].To != firstKnown {
		t.Errorf("counter unknown %v, want [%v, %v] (the first poll to the first with a value)", counter.Unknown, ps[0].Elapsed, firstKnown)
	}
	if len(counter.Errors) != 1 || counter.Errors[0] != "exit code 1: metrics endpoint not up yet" {
		t.Errorf("errors %q", counter.Errors)
	}
	if len(echo.Unknown) != 0 {
		t.Errorf("echo unknown %v", echo.Unknown)
	}
	if len(r.Quiet) != 2 {
		t.Fatalf("quiet %v, want 2 stretches (a flap between)", r.Quiet)
	}
	// The first quiet stretch ends at the poll that saw the flap.
	var flapAt float64
	for i, p := range ps {
		if i > 0 && ps[i-1].QuietFor != nil && p.QuietFor == nil {
			flapAt = float64(p.Elapsed)
			if v := p.Sources[0].Value; v == nil || *v != 1 {
				t.Fatalf("flap poll reads %v", v)
			}
			break
		}
	}
	if r.Quiet[0].To != flapAt || r.Quiet[1].From < flapAt || r.Quiet[1].To != *r.Drained {
		t.Errorf("quiet %v, want the first to end at the flap (%v), the second from then to drained (%v)", r.Quiet, flapAt, *r.Drained)
	}
	// lb-grace was 5s: the polls say so, to within their 100ms rounding.
	if r.Grace == nil || r.GraceBy != "events" || !near(r.Grace.To, 5, 0.1) {
		t.Errorf("grace %+v by %q, want about 0..5 from the events", r.Grace, r.GraceBy)
	}
	if *r.Drained < r.Grace.To {
		t.Errorf("drained at %v before the grace ended (%v)", *r.Drained, r.Grace.To)
	}
	if got, want := kindsOf(r.Marks), "out,drained,action,action-end"; got != want {
		t.Errorf("marks %s, want %s", got, want)
	}
}

func TestTimeoutTimeline(t *testing.T) {
	r := load(t, "timeout.ndjson", Options{})
	if got, want := kindsOf(r.Marks), "out,timeout,in"; got != want {
		t.Errorf("marks %s, want %s", got, want)
	}
	if r.Drained != nil || len(r.Quiet) != 0 || r.Grace != nil {
		t.Errorf("drained %v quiet %v grace %v, want none", r.Drained, r.Quiet, r.Grace)
	}
	if got := r.Title(); got != "NOT drained: timed out (exit 3); server IN rotation" {
		t.Errorf("title %q", got)
	}
	if r.OK() {
		t.Error("a timed-out run is OK")
	}
	if !strings.Contains(r.Error, "not drained within 1.5s") {
		t.Errorf("error %q", r.Error)
	}
	// Marks are in time order: out, then timeout at 1.5 s, then in.
	for i := 1; i < len(r.Marks); i++ {
		if r.Marks[i].T < r.Marks[i-1].T {
			t.Errorf("mark %s at %v before %s at %v", r.Marks[i].Kind, r.Marks[i].T, r.Marks[i-1].Kind, r.Marks[i-1].T)
		}
	}
	if r.Marks[1].T != 1.5 {
		t.Errorf("timeout at %v, want 1.5", r.Marks[1].T)
	}
}

// drain wait has no out event: t = 0 is when the wait began.
func TestWaitWithoutOut(t *testing.T) {
	in := `{"time":"2026-11-29T10:00:00.300Z","event":"poll","sources":[{"source":"s","value":1,"threshold":0}],"elapsed_s":0.1}
{"time":"2026-11-29T10:00:00.600Z","event":"poll","sources":[{"source":"s","value":0,"threshold":0,"ok":true}],"elapsed_s":0.4,"quiet_s":0}
{"time":"2026-11-29T10:00:01.600Z","event":"drained","elapsed_s":1.4}
{"time":"2026-11-29T10:00:01.700Z","event":"result","result":"drained","exit_code":0}
`
	evs, err := Parse(strings.NewReader(in), "wait")
	if err != nil {
		t.Fatal(err)
	}
	r := Build(evs, Options{LBGrace: time.Second})
	if want := time.Date(2026, 11, 29, 10, 0, 0, 200e6, time.UTC); !r.Start.Equal(want) {
		t.Errorf("start %v, want %v (first poll minus its elapsed)", r.Start, want)
	}
	if r.Grace != nil {
		t.Errorf("grace %+v without an out", r.Grace)
	}
	if len(r.Quiet) != 1 || r.Quiet[0] != (Span{0.4, 1.4}) {
		t.Errorf("quiet %v", r.Quiet)
	}
	if !near(r.End, 1.5, 1e-9) {
		t.Errorf("end %v, want 1.5 (the result)", r.End)
	}
}

// Runs appended to one file (tee -a across deploys): the last is drawn.
func TestSeveralRunsInOneFileDrawTheLast(t *testing.T) {
	var all []byte
	for _, f := range []string{"demo.ndjson", "flap.ndjson", "timeout.ndjson"} {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	evs, err := Parse(strings.NewReader(string(all)), "all")
	if err != nil {
		t.Fatal(err)
	}
	got, want := Build(evs, Options{}), load(t, "timeout.ndjson", Options{})
	if got.Earlier != 2 || got.Events != want.Events || got.Title() != want.Title() || kindsOf(got.Marks) != kindsOf(want.Marks) || got.End != want.End {
		t.Errorf("drew %d events (%d earlier runs) %q %s, want the last run: %d events %q %s",
			got.Events, got.Earlier, got.Title(), kindsOf(got.Marks), want.Events, want.Title(), kindsOf(want.Marks))
	}
}

// Windows PowerShell's > writes UTF-16LE with a BOM, Out-File -Encoding
// utf8 a UTF-8 BOM: both are read as the same events.
func TestParseReadsWhatPowerShellWrites(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "timeout.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := Parse(bytes.NewReader(b), "utf8")
	if err != nil {
		t.Fatal(err)
	}
	u16 := utf16.Encode([]rune(strings.ReplaceAll(string(b), "\n", "\r\n")))
	le, be := []byte{0xFF, 0xFE}, []byte{0xFE, 0xFF}
	for _, c := range u16 {
		le = append(le, byte(c), byte(c>>8))
		be = append(be, byte(c>>8), byte(c))
	}
	for name, in := range map[string][]byte{
		"utf-8 bom": append([]byte{0xEF, 0xBB, 0xBF}, b...), "utf-16le": le, "utf-16be": be,
	} {
		got, err := Parse(bytes.NewReader(in), name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(got) != len(want) || Build(got, Options{}).Title() != Build(want, Options{}).Title() {
			t.Errorf("%s: %d events, want %d", name, len(got), len(want))
		}
	}
}

// A source is drawn by its short name when the events carry one (drain
// run --source api=...), by its spec in events from before names.
func TestSeriesNamedByTheSourceName(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	v := 1.0
	evs := []drain.Event{
		{Time: t0, Event: drain.EvPoll, Sources: []drain.Reading{
			{Source: "prom:http://h/metrics#a", Name: "api", Value: &v},
			{Source: "nginx:http://h/status", Value: &v},
		}},
	}
	run := Build(evs, Options{})
	if len(run.Sources) != 2 || run.Sources[0].Name != "api" || run.Sources[1].Name != "nginx:http://h/status" {
		t.Errorf("series names: %+v", run.Sources)
	}
}
