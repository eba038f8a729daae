package sink

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/drain"
)

func TestGitHubEscaping(t *testing.T) {
	for _, c := range []struct{ in, data, prop string }{
		{"plain", "plain", "plain"},
		{"100% busy", "100%25 busy", "100%25 busy"},
		{"a\r\nb", "a%0D%0Ab", "a%0D%0Ab"},
		{"drain host:80, web1", "drain host:80, web1", "drain host%3A80%2C web1"},
		// % first: an escape in the input is not taken for one of ours
		{"%0A", "%250A", "%250A"},
		{"::error::x", "::error::x", "%3A%3Aerror%3A%3Ax"},
	} {
		if got := GitHubData(c.in); got != c.data {
			t.Errorf("GitHubData(%q) = %q, want %q", c.in, got, c.data)
		}
		if got := GitHubProperty(c.in); got != c.prop {
			t.Errorf("GitHubProperty(%q) = %q, want %q", c.in, got, c.prop)
		}
	}
}

func TestAzureEscaping(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain", "plain"},
		{"100% busy", "100%AZP25 busy"},
		{"a\r\nb", "a%0D%0Ab"},
		{"%AZP25", "%AZP25AZP25"},
		{"x;]y", "x;]y"}, // data: only %, CR and LF
	} {
		if got := AzureData(c.in); got != c.want {
			t.Errorf("AzureData(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// run feeds a timed-out drain's events, with a multi-line message that
// must stay one command line.
func timedOut(t0 time.Time) []drain.Event {
	busy := []drain.Reading{{Source: "api", Value: ptr(3.0), Threshold: 0}}
	return []drain.Event{
		{Time: t0, Event: drain.EvOut, Target: "web1:80", Rotation: "OUT"},
		{Time: t0.Add(time.Second), Event: drain.EvPoll, Sources: busy, Blocking: []string{"api"}, Elapsed: 1, Remaining: ptr(drain.Seconds(3))},
		{Time: t0.Add(2 * time.Second), Event: drain.EvWarning, Message: "line one\nline two 50%"},
		{Time: t0.Add(3 * time.Second), Event: drain.EvPoll, Sources: busy, Blocking: []string{"api"}, Elapsed: 3, Remaining: ptr(drain.Seconds(1))},
		{
			Time: t0.Add(4 * time.Second), Event: drain.EvTimeout, Sources: busy, Blocking: []string{"api"}, Elapsed: 4,
			Requests: []drain.Request{{Verb: "POST", URL: "/upload|x", Client: "10.0.0.5", Elapsed: 42}}, RequestCount: 3,
		},
		{Time: t0.Add(4 * time.Second), Event: drain.EvIn, Target: "web1:80", Rotation: "IN"},
		{Time: t0.Add(5 * time.Second), Event: drain.EvResult, Result: drain.ResultTimeout, ExitCode: ptr(3), Rotation: "IN", Error: "not drained within 4s"},
	}
}

func TestGitHubTimeout(t *testing.T) {
	var out bytes.Buffer
	path := filepath.Join(t.TempDir(), "summary.md")
	if err := os.WriteFile(path, []byte("# an earlier step\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g := NewGitHub(&out, path)
	for _, e := range timedOut(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)) {
		g.Event(e)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	want := "::warning title=drain web1%3A80%3A warning::line one%0Aline two 50%25\n" +
		"::error title=drain web1%3A80%3A timeout::not drained within 4s; server is IN rotation (exit 3)\n"
	if out.String() != want {
		t.Errorf("commands:\n%s\nwant:\n%s", out.String(), want)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := string(b)
	for _, w := range []string{
		"# an earlier step\n### drain web1:80: NOT drained: timed out (exit 3); server IN rotation\n", // appended, not overwritten
		"| out of rotation | 4s (then back IN) |",
		"| time to drain | not drained: timed out after 4s |",
		"| blocked longest | `api` (2s) |", // polls at 1 s and 3 s: blocked from the first to the last
		"#### Still in flight at the timeout: 3",
		"| `POST /upload\\|x` | 42s | 10.0.0.5 |  |",
		"| (+2 more) | | | |",
		"    line [3, 3]",
		"| `api` | 0 | 3 | 3 | 3 |",
	} {
		if !strings.Contains(sum, w) {
			t.Errorf("summary lacks %q:\n%s", w, sum)
		}
	}
}

// A run cut short after the action started still closes the group.
func TestGitHubGroupClosed(t *testing.T) {
	var out bytes.Buffer
	g := NewGitHub(&out, "")
	g.Event(drain.Event{Event: drain.EvAction, Action: "systemctl stop app", Message: "started"})
	g.Event(drain.Event{Event: drain.EvAction, Action: "systemctl stop app", Message: "dry run: would run"})
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if want := "::group::action: systemctl stop app\n::endgroup::\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

func TestGitHubSummaryUnwritable(t *testing.T) {
	g := NewGitHub(&bytes.Buffer{}, t.TempDir()) // a directory
	g.Event(drain.Event{Event: drain.EvResult, Result: drain.ResultDrained, ExitCode: ptr(0)})
	if err := g.Close(); err == nil || !strings.Contains(err.Error(), "cannot write the GitHub step summary") {
		t.Errorf("Close() = %v, want the summary error", err)
	}
}

func TestAzureProgress(t *testing.T) {
	var out bytes.Buffer
	a := NewAzure(&out, t.TempDir(), 2*time.Second)
	// with a timeout: elapsed / (elapsed + remaining); the same percentage once
	a.Event(drain.Event{Event: drain.EvPoll, Elapsed: 1, Remaining: ptr(drain.Seconds(3)), Blocking: []string{"lb-grace (2s left)"}})
	a.Event(drain.Event{Event: drain.EvPoll, Elapsed: 1, Remaining: ptr(drain.Seconds(3)), Blocking: []string{"lb-grace (1.9s left)"}})
	// without: how far the settle window has run, at most 100
	a.Event(drain.Event{Event: drain.EvPoll, Elapsed: 5, QuietFor: ptr(drain.Seconds(0.5)), Blocking: []string{"settle (1.5s left)"}})
	a.Event(drain.Event{Event: drain.EvPoll, Elapsed: 9, QuietFor: ptr(drain.Seconds(7))})
	want := "##vso[task.setprogress value=25;]drain: waiting on lb-grace\n" +
		"##vso[task.setprogress value=25;]drain: waiting on settle\n" +
		"##vso[task.setprogress value=100;]drain: waiting\n"
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestAzureResult(t *testing.T) {
	for _, c := range []struct {
		result   string
		issue    string
		complete bool
	}{
		{drain.ResultDrained, "", false},
		{drain.ResultForced, "type=warning", true},
		{drain.ResultTimeout, "type=error", false},
		{drain.ResultActionFail, "type=error", false},
		{drain.ResultInterrupted, "type=error", false},
	} {
		var out bytes.Buffer
		dir := t.TempDir()
		a := NewAzure(&out, dir, 0)
		a.Event(drain.Event{Event: drain.EvOut, Target: "web1", Rotation: "OUT"})
		a.Event(drain.Event{Event: drain.EvResult, Result: c.result, ExitCode: ptr(0), Rotation: "OUT"})
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		s := out.String()
		if got := strings.Contains(s, "##vso[task.logissue "+c.issue+"]"); got != (c.issue != "") {
			t.Errorf("%s: logissue %q in %q: %v", c.result, c.issue, s, got)
		}
		if got := strings.Contains(s, "##vso[task.complete result=SucceededWithIssues;]"); got != c.complete {
			t.Errorf("%s: task.complete in %q: %v, want %v", c.result, s, got, c.complete)
		}
		if strings.Contains(s, "result=Succeeded;") || strings.Contains(s, "result=Failed") {
			t.Errorf("%s: marks the result itself: %q", c.result, s)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "drain-summary-*.md"))
		if len(files) != 1 || !strings.Contains(s, "##vso[task.uploadsummary]"+files[0]+"\n") {
			t.Errorf("%s: summary files %v, commands %q", c.result, files, s)
		}
	}
}

// Without $GITHUB_STEP_SUMMARY: annotations only, and no error (writing
// to "" would be one).
func TestGitHubNoSummaryPath(t *testing.T) {
	var out bytes.Buffer
	g := NewGitHub(&out, "")
	for _, e := range timedOut(time.Now()) {
		g.Event(e)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "::error title=drain web1%3A80%3A timeout::") {
		t.Errorf("no error annotation: %q", out.String())
	}
}
