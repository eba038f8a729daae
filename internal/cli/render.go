package cli

import (
	"sync"
	"time"

	"github.com/fatih/color"

	"github.com/drain-cli/drain/internal/auditlog"
	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/iostreams"
	"github.com/drain-cli/drain/internal/redact"
	"github.com/drain-cli/drain/internal/rotation"
	"github.com/drain-cli/drain/internal/sink"
	"github.com/drain-cli/drain/internal/state"
	"github.com/drain-cli/drain/internal/usage"
)

// Colours of the status command's text (the drain commands take theirs
// from iostreams' palette).
var (
	colorRed    = []color.Attribute{color.FgRed, color.Bold}
	colorYellow = []color.Attribute{color.FgYellow, color.Bold}
	colorGreen  = []color.Attribute{color.FgGreen, color.Bold}
)

// renderer is the one place events pass before the sinks: it redacts them
// (credentials in URLs never reach any output), then hands each to every
// sink: NDJSON on stdout, or the live terminal view, or plain timestamped
// lines; and the audit trail (the Windows Event Log) when there is one.
// The sinks are picked on the first event, so that the command can still
// set the view's windows, the audit log and the clock until then.
type renderer struct {
	ios     *iostreams.IOStreams
	json    bool
	command string
	now     func() time.Time
	view    sink.TerminalOptions // the windows the live view shows progress against
	quiet   bool                 // --quiet: only the errors and the final line
	// heartbeat: the longest a wait in plain lines stays silent (0: the default)
	heartbeat time.Duration
	audit     auditlog.Log // the Windows Event Log, or nil
	extra     []sink.Sink  // further sinks (a CI system's), given events with control characters escaped

	once  sync.Once
	mu    sync.Mutex // the drain and the signal handling may emit at once
	sinks sink.Multi
}

func newRenderer(ios *iostreams.IOStreams, asJSON bool, command string) *renderer {
	return &renderer{ios: ios, json: asJSON, command: command, now: time.Now}
}

// out returns the sinks, picked on first use.
func (r *renderer) out() sink.Multi {
	r.once.Do(func() {
		if r.audit != nil {
			r.sinks = append(r.sinks, sink.NewAudit(r.audit, r.command, state.Who()))
		}
		switch {
		case r.json:
			r.sinks = append(r.sinks, sink.NewNDJSON(r.ios.Out, r.ios.ErrOut))
		case r.ios.CanRedraw() && !r.quiet:
			r.sinks = append(r.sinks, sink.NewTerminal(r.ios, r.command, r.view))
		default:
			// --quiet: plain lines that keep only the errors and the final
			// line, on a terminal too (no live view).
			r.sinks = append(r.sinks, sink.NewLinesWith(r.ios, r.command, sink.LinesOptions{Now: func() time.Time { return r.now() }, Quiet: r.quiet, Heartbeat: r.heartbeat}))
		}
	})
	return r.sinks
}

// event sends one event, redacted, to every sink.
func (r *renderer) event(e drain.Event) {
	s := r.out()
	e = redactEvent(e)
	r.mu.Lock()
	defer r.mu.Unlock()
	s.Event(e)
	if len(r.extra) > 0 {
		sink.Multi(r.extra).Event(sink.SanitizeEvent(e))
	}
}

// line shows a line of text to a person (not an event).
func (r *renderer) line(s string) {
	out := r.out()
	r.mu.Lock()
	defer r.mu.Unlock()
	out.Note(redact.String(s))
}

// finish sends the result event, the last one, and closes the sinks: the
// human sinks say how it ended and, in the last line on stdout, where the
// server stands. The further sinks (CI) end first, so that a summary that
// could not be written is a warning before that line; the run's outcome
// stands. rotates is false for drain wait, which never changes rotation.
func (r *renderer) finish(oc drain.Outcome, rotates bool) {
	e := r.resultEvent(oc, rotates)
	e.Hint = oc.Hint
	if e.Hint == "" {
		e.Hint = usage.HintOf(oc.Err) // what the error itself says to do (a denied file, a usage error)
	}
	e = redactEvent(e)
	s := r.out()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.extra) > 0 {
		extra := sink.Multi(r.extra)
		extra.Event(sink.SanitizeEvent(e))
		if err := extra.Close(); err != nil {
			s.Event(redactEvent(drain.Event{Time: r.now(), Event: drain.EvWarning, Message: err.Error()}))
		}
	}
	s.Event(e)
	_ = s.Close()
}

// unchangedBy tells whether the command changed nothing: a usage error
// (exit 2 always means that), a held lock, drain wait.
func unchangedBy(oc drain.Outcome, rotates bool) bool {
	return !rotates || oc.Unchanged || oc.Code == drain.ExitUsage
}

func (r *renderer) resultEvent(oc drain.Outcome, rotates bool) drain.Event {
	e := drain.Event{Time: r.now(), Event: drain.EvResult, Result: oc.Result, ExitCode: intPtr(oc.Code), Rotation: string(oc.Rotation)}
	if rotates && e.Rotation == "" {
		e.Rotation = string(rotation.Unknown)
	}
	if unchangedBy(oc, rotates) {
		e.Changed = boolPtr(false)
	}
	if oc.Err != nil {
		e.Error = oc.Err.Error()
	}
	return e
}

func fmtNum(v float64) string { return sink.FmtNum(v) }

func intPtr(i int) *int { return &i }

func boolPtr(b bool) *bool { return &b }

// sanitize makes outside text safe to print on a terminal (see
// sink.Sanitize).
func sanitize(s string) string { return sink.Sanitize(s) }

func isControl(c rune) bool { return sink.IsControl(c) }
