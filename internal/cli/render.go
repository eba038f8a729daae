package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/fatih/color"

	"github.com/drain-cli/drain/internal/auditlog"
	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/iostreams"
	"github.com/drain-cli/drain/internal/redact"
	"github.com/drain-cli/drain/internal/rotation"
)

var (
	colorRed    = []color.Attribute{color.FgRed, color.Bold}
	colorYellow = []color.Attribute{color.FgYellow, color.Bold}
	colorGreen  = []color.Attribute{color.FgGreen, color.Bold}
)

// renderer shows events: NDJSON on stdout, a live status line on a
// terminal, or plain timestamped lines (only on change) in a pipeline.
type renderer struct {
	ios     *iostreams.IOStreams
	json    bool
	command string

	mu       sync.Mutex
	live     bool   // a live line is on screen
	lastPoll string // the last poll summary printed (pipeline mode)
	now      func() time.Time
	audit    auditlog.Log // the Windows Event Log, or nil

	red, yellow, green, dim func(string) string
}

func newRenderer(ios *iostreams.IOStreams, asJSON bool, command string) *renderer {
	return &renderer{
		ios: ios, json: asJSON, command: command, now: time.Now,
		red: ios.ErrColor(colorRed...), yellow: ios.ErrColor(colorYellow...),
		green: ios.ErrColor(colorGreen...), dim: ios.ErrColor(color.Faint),
	}
}

func (r *renderer) event(e drain.Event) {
	e = redactEvent(e)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.auditEvent(e)
	if r.json {
		r.writeJSON(e)
		if e.Event == drain.EvAction && e.Error != "" {
			r.line("action failed: " + sanitize(e.Error))
		}
		return
	}
	e = sanitizeEvent(e)
	switch e.Event {
	case drain.EvPoll:
		r.poll(e)
	case drain.EvOut, drain.EvIn:
		r.line(fmt.Sprintf("%s %s: %s", r.rotWord(e.Rotation), e.Target, e.Message))
	case drain.EvVerify:
		r.line(e.Message)
	case drain.EvDrained:
		r.line(r.green("drained") + fmt.Sprintf(" after %s: %s", fmtSecs(e.Elapsed), e.Message))
	case drain.EvTimeout:
		r.line(r.red("TIMEOUT") + fmt.Sprintf(" after %s: still waiting on %s (%s)", fmtSecs(e.Elapsed), strings.Join(e.Blocking, ", "), readings(e.Sources)))
		if len(e.Requests) > 0 {
			r.line("  " + inFlightText(e))
		}
	case drain.EvAction:
		switch {
		case e.Error != "":
			r.line(r.red("action failed") + ": " + e.Error)
			if e.Message != "" {
				r.line("  last output: " + strings.ReplaceAll(e.Message, "\n", "\n  "))
			}
		case e.ActionExit != nil:
			r.line(fmt.Sprintf("action finished in %s (exit %d)", fmtSecs(e.Elapsed), *e.ActionExit))
		default:
			r.line(fmt.Sprintf("action %s: %s", e.Message, e.Action))
		}
	case drain.EvWarning:
		r.line(r.yellow("warning: ") + e.Message)
	default:
		r.line(e.Event + ": " + e.Message)
	}
}

// writeJSON writes one NDJSON event. encoding/json escapes C0 controls but
// leaves C1 ones (U+0080-U+009F) raw; they are escaped too, so that NDJSON
// shown on a terminal cannot drive it either.
func (r *renderer) writeJSON(e drain.Event) {
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	s := string(b)
	if strings.ContainsFunc(s, isC1) {
		var sb strings.Builder
		for _, c := range s {
			if isC1(c) {
				fmt.Fprintf(&sb, `\u%04x`, c)
				continue
			}
			sb.WriteRune(c)
		}
		s = sb.String()
	}
	_, _ = io.WriteString(r.ios.Out, s+"\n")
}

func isC1(c rune) bool { return c >= 0x80 && c <= 0x9f }

// poll draws the live line on a terminal, or prints a plain line when the
// values or what blocks the drain changed (not on every tick).
func (r *renderer) poll(e drain.Event) {
	if len(e.Requests) > 0 { // a slow wait: say what it is waiting for
		r.line(inFlightText(e))
	}
	vals := readings(e.Sources)
	var s string
	switch {
	case len(e.Blocking) == 0:
		s = vals
	case len(e.Sources) == 0:
		s = "waiting on " + strings.Join(e.Blocking, ", ")
	default:
		s = vals + " | waiting on " + strings.Join(e.Blocking, ", ")
	}
	if r.ios.IsStderrTTY() {
		t := " | " + fmtSecs(e.Elapsed)
		if e.Remaining != nil {
			t += ", " + fmtSecs(*e.Remaining) + " left"
		}
		r.clearLive()
		// Cut to the terminal width: a wrapped line cannot be redrawn in place.
		if w := r.ios.ErrWidth() - 3 - len([]rune(t)); len([]rune(s)) > w && w > 10 {
			s = string([]rune(s)[:w-1]) + "…"
		}
		fmt.Fprint(r.ios.ErrOut, r.dim("… ")+s+r.dim(t))
		r.live = true
		return
	}
	// Countdowns change every tick; compare without them.
	key := vals + "|" + blockingKinds(e.Blocking)
	if key == r.lastPoll {
		return
	}
	r.lastPoll = key
	r.line(s)
}

// inFlightText is "waiting on 3 requests: POST /upload 42s from 10.0.0.5, ...".
func inFlightText(e drain.Event) string {
	parts := make([]string, len(e.Requests))
	for i, q := range e.Requests {
		parts[i] = q.String()
	}
	n := max(e.RequestCount, len(e.Requests))
	s := fmt.Sprintf("waiting on %d request", n)
	if n != 1 {
		s += "s"
	}
	s += ": " + strings.Join(parts, ", ")
	if n > len(parts) {
		s += fmt.Sprintf(" (+%d more)", n-len(parts))
	}
	return s
}

func blockingKinds(b []string) string {
	out := make([]string, len(b))
	for i, s := range b {
		out[i], _, _ = strings.Cut(s, " ")
	}
	return strings.Join(out, ",")
}

func readings(rs []drain.Reading) string {
	parts := make([]string, len(rs))
	for i, rd := range rs {
		switch {
		case rd.Value == nil:
			parts[i] = fmt.Sprintf("%s=unknown (%s)", rd.Source, rd.Error)
		case rd.OK:
			parts[i] = fmt.Sprintf("%s=%s", rd.Source, fmtNum(*rd.Value))
		default:
			parts[i] = fmt.Sprintf("%s=%s (>%s)", rd.Source, fmtNum(*rd.Value), fmtNum(rd.Threshold))
		}
		if rd.Note != "" {
			parts[i] += " (" + rd.Note + ")"
		}
	}
	return strings.Join(parts, " ")
}

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func fmtSecs(s drain.Seconds) string {
	d := time.Duration(float64(s) * float64(time.Second))
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}

func (r *renderer) clearLive() {
	if r.live {
		fmt.Fprint(r.ios.ErrOut, "\r\033[K")
		r.live = false
	}
}

// line prints one human line on stderr, timestamped in a pipeline.
func (r *renderer) line(s string) {
	r.clearLive()
	if r.ios.IsStderrTTY() || r.json {
		fmt.Fprintln(r.ios.ErrOut, s)
		return
	}
	fmt.Fprintf(r.ios.ErrOut, "%s %s\n", r.now().Format("15:04:05"), s)
}

func (r *renderer) rotWord(st string) string {
	switch st {
	case string(rotation.In):
		return r.green("IN ")
	case string(rotation.Out):
		return r.yellow("OUT")
	}
	return st
}

// finish writes the result: the last JSON event, or the error and the final
// line saying where the server stands. rotates is false for drain wait,
// which never changes rotation.
func (r *renderer) finish(oc drain.Outcome, rotates bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := redactEvent(r.resultEvent(oc, rotates))
	r.auditEvent(e)
	if r.json {
		r.writeJSON(e)
		if e.Error != "" {
			r.line("drain: " + sanitize(e.Error))
		}
		if oc.Hint != "" {
			r.line("hint: " + sanitize(redact.String(oc.Hint)))
		}
		return
	}
	r.clearLive()
	if e.Error != "" {
		r.line(r.red("drain: ") + sanitize(e.Error))
	}
	if oc.Hint != "" {
		r.line("hint: " + sanitize(redact.String(oc.Hint)))
	}
	if oc.Result == drain.ResultForced {
		r.line(r.red("FORCED: the action ran before the server was drained (--on-timeout force)"))
	}
	fmt.Fprintln(r.ios.Out, r.outColor(oc.Code)(finalLine(r.command, oc, rotates)))
}

func (r *renderer) outColor(code int) func(string) string {
	if code != drain.ExitOK {
		return r.ios.OutColor(colorRed...)
	}
	return r.ios.OutColor(colorGreen...)
}

// finalLine is the last line of every drain run/out/in/wait: how it ended
// and where the server stands.
func finalLine(command string, oc drain.Outcome, rotates bool) string {
	unchanged := unchangedBy(oc, rotates)
	msg := resultText(command, oc.Result)
	if rotates && unchanged && oc.Code != drain.ExitOK {
		msg += ": nothing was changed"
	}
	switch {
	case !rotates:
		return msg + "; rotation not changed by drain wait"
	case oc.Rotation == rotation.In || oc.Rotation == rotation.Out:
		return msg + "; " + rotationText(oc.Rotation)
	case unchanged:
		return msg + "; rotation unchanged (its state could not be read: check with 'drain status')"
	}
	return msg + "; " + rotationText(oc.Rotation)
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

// auditEvent writes the changes and outcomes to the audit trail, if any.
func (r *renderer) auditEvent(e drain.Event) {
	if r.audit == nil {
		return
	}
	if level, id, msg, ok := auditEntry(r.command, e); ok {
		r.audit.Write(level, id, msg)
	}
}

func resultText(command, result string) string {
	switch result {
	case drain.ResultDrained:
		return "drained"
	case drain.ResultForced:
		return "FORCED (not drained)"
	case drain.ResultTimeout:
		switch command {
		case "in":
			return "NOT healthy: timed out"
		case "out":
			return "NOT confirmed out: timed out"
		}
		return "NOT drained: timed out"
	case drain.ResultInterrupted:
		return "interrupted"
	case drain.ResultActionFail:
		return "drained, but the action FAILED"
	case drain.ResultDryRun:
		return "dry run: nothing changed"
	case drain.ResultOK:
		return "done"
	}
	return "failed"
}

func rotationText(st rotation.Status) string {
	switch st {
	case rotation.In:
		return "server is IN rotation"
	case rotation.Out:
		return "server is OUT of rotation"
	}
	return "rotation state UNKNOWN: check with 'drain status'"
}

func intPtr(i int) *int { return &i }

func boolPtr(b bool) *bool { return &b }

// sanitize makes text from outside (status pages, exec stderr, file names,
// error messages) safe to print on a terminal: control characters other
// than newline and tab are shown escaped (\x1b, \r) instead of moving the
// cursor, clearing the screen or changing colours.
func sanitize(s string) string {
	if !strings.ContainsFunc(s, isControl) && utf8.ValidString(s) {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n") // Windows line ends are not an attack
	var b strings.Builder
	for len(s) > 0 {
		c, n := utf8.DecodeRuneInString(s)
		switch {
		case c == utf8.RuneError && n == 1: // a stray byte, maybe a raw C1 control
			fmt.Fprintf(&b, `\x%02x`, s[0])
		case isControl(c):
			q := strconv.QuoteRune(c)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[:n])
		}
		s = s[n:]
	}
	return b.String()
}

func isControl(c rune) bool {
	return c != '\n' && c != '\t' && (c < 0x20 || c == 0x7f || isC1(c))
}

// sanitizeEvent sanitizes every field of e that can carry outside text.
func sanitizeEvent(e drain.Event) drain.Event {
	e.Target, e.Message, e.Error, e.Action = sanitize(e.Target), sanitize(e.Message), sanitize(e.Error), sanitize(e.Action)
	if e.Blocking != nil {
		b := make([]string, len(e.Blocking))
		for i, s := range e.Blocking {
			b[i] = sanitize(s)
		}
		e.Blocking = b
	}
	if e.Sources != nil {
		rs := make([]drain.Reading, len(e.Sources))
		for i, rd := range e.Sources {
			rd.Source, rd.Error, rd.Note = sanitize(rd.Source), sanitize(rd.Error), sanitize(rd.Note)
			rs[i] = rd
		}
		e.Sources = rs
	}
	if e.Requests != nil {
		qs := make([]drain.Request, len(e.Requests))
		for i, q := range e.Requests {
			q.Verb, q.URL, q.Client, q.Where = sanitize(q.Verb), sanitize(q.URL), sanitize(q.Client), sanitize(q.Where)
			qs[i] = q
		}
		e.Requests = qs
	}
	return e
}
