package cli

import (
	"strings"
	"testing"

	"github.com/drain-cli/drain/internal/auditlog"
	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/iostreams"
	"github.com/drain-cli/drain/internal/rotation"
)

func TestSlowPollShowsRequestsInFlight(t *testing.T) {
	ios, _, errOut := iostreams.Test()
	r := newRenderer(ios, false, "run")
	busy := []drain.Reading{{Source: "iis:Shop", Value: f(7)}}
	reqs := []drain.Request{{Verb: "POST", URL: "/upload.aspx", Client: "10.0.0.5", Elapsed: 42.2}, {Verb: "GET", URL: "/export", Elapsed: 9}}
	r.event(drain.Event{Event: drain.EvPoll, Sources: busy, Blocking: []string{"iis:Shop"}, Elapsed: 16, Requests: reqs, RequestCount: 7})
	r.event(drain.Event{Event: drain.EvTimeout, Sources: busy, Blocking: []string{"iis:Shop"}, Elapsed: 60, Requests: reqs[:1], RequestCount: 1})
	got := errOut.String()
	for _, want := range []string{
		"waiting on 7 requests: POST /upload.aspx 42s from 10.0.0.5, GET /export 9s (+5 more)\n",
		"TIMEOUT after 1m0s: still waiting on iis:Shop (iis:Shop=7 (>0))\n",
		"  waiting on 1 request: POST /upload.aspx 42s from 10.0.0.5\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}

type fakeAudit struct{ lines []string }

func (a *fakeAudit) Write(level auditlog.Level, id uint32, msg string) {
	a.lines = append(a.lines, strings.Join([]string{[]string{"I", "W", "E"}[level], string(rune('0' + id%10)), msg}, " "))
}
func (a *fakeAudit) Close() {}

func TestAuditTrailKeepsChangesAndOutcomes(t *testing.T) {
	ios, _, _ := iostreams.Test()
	r := newRenderer(ios, true, "run")
	a := &fakeAudit{}
	r.audit = a
	r.event(drain.Event{Event: drain.EvOut, Target: `C:\inetpub\wwwroot\keepalive.htm`, Rotation: "OUT", Message: "taken out of rotation"})
	r.event(drain.Event{Event: drain.EvPoll, Blocking: []string{"x"}})
	r.event(drain.Event{Event: drain.EvTimeout, Elapsed: 300, Blocking: []string{"iis:Shop"}, Message: "not drained within 5m0s"})
	r.event(drain.Event{Event: drain.EvIn, Target: `C:\inetpub\wwwroot\keepalive.htm`, Rotation: "IN", Message: "put back into rotation"})
	r.event(drain.Event{Event: drain.EvAction, Action: "stop-apppool Shop", Error: "action failed: boom"})
	r.finish(drain.Outcome{Result: drain.ResultTimeout, Code: drain.ExitTimeout, Rotation: rotation.In}, true)
	if len(a.lines) != 5 {
		t.Fatalf("%d audit lines, want 5 (no poll):\n%s", len(a.lines), strings.Join(a.lines, "\n"))
	}
	for i, want := range []string{
		`I 0 drain run (by `, `W 4 drain run`, `I 1 drain run`, `E 3 drain run`, `E 0 drain run`,
	} {
		if !strings.HasPrefix(a.lines[i], want) {
			t.Errorf("line %d = %q, want prefix %q", i, a.lines[i], want)
		}
	}
	for i, want := range []string{
		`OUT of rotation C:\inetpub\wwwroot\keepalive.htm: taken out of rotation`,
		"TIMEOUT after 5m0s: not drained within 5m0s; waiting on iis:Shop",
		"action FAILED: stop-apppool Shop: action failed: boom",
		"result timeout (exit 3); rotation IN",
	} {
		idx := []int{0, 1, 3, 4}[i]
		if !strings.HasSuffix(a.lines[idx], want) {
			t.Errorf("line %d = %q, want suffix %q", idx, a.lines[idx], want)
		}
	}
}
