package sink

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/iostreams"
	"github.com/drain-cli/drain/internal/untrusted"
)

// hostileEvents is a run whose every outside field holds label (a metric
// label value, a balancer's reply, an action's output) or reason (a
// record's reason, shown by a later out).
func hostileEvents(label, reason string) []drain.Event {
	t0 := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	code := 3
	rd := []drain.Reading{
		{Source: "prom:http://h/m#x{path=\"" + label + "\"}", Name: label, Value: f(2), Threshold: 0, Note: label},
		{Source: "json:http://h/j#v", Name: "v", Error: "no series matches x; path has: " + label},
	}
	req := []drain.Request{{Verb: label, URL: "/" + label, Client: label, Where: label, Elapsed: 3}}
	return []drain.Event{
		{Time: t0, Event: drain.EvOut, Target: label, Rotation: "OUT", Message: "already out of rotation (by " + label + ": " + reason + ")"},
		{Time: t0.Add(time.Second), Event: drain.EvPoll, Sources: rd, Blocking: []string{rd[0].Source, label}, Elapsed: 1, Remaining: secsPtr(1)},
		{Time: t0.Add(2 * time.Second), Event: drain.EvPoll, Sources: rd, Blocking: []string{rd[0].Source}, Requests: req, RequestCount: 3, Elapsed: 2, Remaining: secsPtr(0.5)},
		{Time: t0.Add(2 * time.Second), Event: drain.EvWarning, Message: "a record says " + reason},
		{Time: t0.Add(3 * time.Second), Event: drain.EvAction, Message: "started", Action: label},
		{Time: t0.Add(3 * time.Second), Event: drain.EvAction, Error: "exit status 1: " + label, Message: label + "\n" + reason},
		{Time: t0.Add(3 * time.Second), Event: drain.EvTimeout, Sources: rd, Blocking: []string{label}, Requests: req, Elapsed: 3},
		{Time: t0.Add(4 * time.Second), Event: drain.EvResult, Result: drain.ResultTimeout, ExitCode: &code, Rotation: "IN", Error: "not drained: " + label + "\n" + reason, Hint: reason},
	}
}

// ownLine tells whether line is a CI command a CI sink writes, and returns
// its message, which must itself be clean.
func ownLine(line string) (string, bool) {
	switch {
	case strings.HasPrefix(line, "::group::"):
		return strings.TrimPrefix(line, "::group::"), true
	case line == "::endgroup::":
		return "", true
	case strings.HasPrefix(line, "::warning ") || strings.HasPrefix(line, "::error "):
		_, m, ok := strings.Cut(line[2:], "::")
		return m, ok
	case strings.HasPrefix(line, "##vso[task."):
		_, m, ok := strings.Cut(line, "]")
		return m, ok
	}
	return "", false
}

// FuzzOutsideTextIsNoCICommand: whatever a label value or a reason holds,
// no line that the plain-lines, terminal, NDJSON, GitHub or Azure sinks
// write, nor a line of the step summary, is a CI command that drain did not
// write; NDJSON still decodes to the text as it was.
func FuzzOutsideTextIsNoCICommand(f *testing.F) {
	f.Add("/##vso[task.setvariable variable=DEPLOY_TARGET]evil", "fix\n::warning::pwned")
	f.Add("##[error]x", "  ::error file=a::b\r\n##VSO[task.complete]")
	f.Add("#\u200b#vso[x]", "\u2028::set-output name=a::b\n\t::add-mask::x")
	f.Add("###vso[", "\x85::x::y")
	f.Add("a\\|b`c|d", "::1")
	f.Fuzz(func(t *testing.T, label, reason string) {
		dir := t.TempDir()
		ios, out, errOut := iostreams.Test()
		ndOut, ndErr := &bytes.Buffer{}, &bytes.Buffer{}
		var gh, az bytes.Buffer
		summary := filepath.Join(dir, "summary.md")
		plain := Multi{NewLines(ios, "run", nil), NewNDJSON(ndOut, ndErr)}
		ci := Multi{NewGitHub(&gh, summary), NewAzure(&az, dir, time.Second)}
		evs := hostileEvents(label, reason)
		for _, e := range evs {
			plain.Event(e)
			ci.Event(e)
		}
		_ = plain.Close()
		_ = ci.Close()
		ti, _, tErr := iostreams.Test()
		term := NewTerminal(ti, "run", TerminalOptions{Timeout: time.Minute})
		for _, e := range evs {
			term.Event(e)
		}
		_ = term.Close()

		check := func(what, text string, own bool) {
			for i, l := range strings.Split(text, "\n") {
				m := l
				if own {
					var ok bool
					if m, ok = ownLine(l); !ok {
						t.Fatalf("%s line %d is not a command of the sink: %q", what, i+1, l)
					}
				}
				if !untrusted.Safe(m) {
					t.Fatalf("%s line %d is a CI command from outside text: %q\nlabel %q reason %q", what, i+1, l, label, reason)
				}
			}
		}
		check("lines stdout", out.String(), false)
		check("lines stderr", errOut.String(), false)
		check("terminal", tErr.String(), false)
		check("ndjson", ndOut.String(), false)
		check("ndjson stderr", ndErr.String(), false)
		check("github", strings.TrimSuffix(gh.String(), "\n"), true)
		check("azure", strings.TrimSuffix(az.String(), "\n"), true)
		if b, err := os.ReadFile(summary); err == nil {
			check("summary", string(b), false)
		}
		lines := strings.Split(strings.TrimSuffix(ndOut.String(), "\n"), "\n")
		if len(lines) != len(evs) {
			t.Fatalf("%d NDJSON lines for %d events", len(lines), len(evs))
		}
		var first drain.Event
		if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || utf8.ValidString(label) && first.Target != label {
			t.Fatalf("NDJSON changed the data: target %q (%v), want %q", first.Target, err, label)
		}
	})
}
