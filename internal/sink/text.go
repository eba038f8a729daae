package sink

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/rotation"
	"github.com/drain-cli/drain/internal/untrusted"
)

// This file holds the text that the human sinks (terminal, plain lines)
// and the CI sinks share: numbers, durations, readings, the result words
// and the final line.

// Noter is a sink that can also show a line of text for a person that is
// no event (e.g. "report written to FILE"). Sinks for machines do not
// implement it.
type Noter interface {
	Note(msg string)
}

// Note sends msg to every sink in m that takes notes.
func (m Multi) Note(msg string) {
	for _, s := range m {
		if n, ok := s.(Noter); ok {
			n.Note(msg)
		}
	}
}

// FmtNum shows a value without needless digits.
func FmtNum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// FmtSecs shows a duration rounded for a person: 250ms, 12.3s, 2m0s.
func FmtSecs(s drain.Seconds) string {
	d := time.Duration(float64(s) * float64(time.Second))
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}

// Label is how a person sees a source: its name when it has one, else its
// spec.
func Label(rd drain.Reading) string {
	if rd.Name != "" {
		return rd.Name
	}
	return rd.Source
}

// Readings is "spec=3 (>0) spec2=unknown (why)": one word per source,
// labelled by spec (the plain lines) or by name.
func Readings(rs []drain.Reading, byName bool) string {
	parts := make([]string, len(rs))
	for i, rd := range rs {
		src := rd.Source
		if byName {
			src = Label(rd)
		}
		switch {
		case rd.Value == nil:
			parts[i] = fmt.Sprintf("%s=unknown (%s)", src, rd.Error)
		case rd.OK:
			parts[i] = fmt.Sprintf("%s=%s", src, FmtNum(*rd.Value))
		default:
			parts[i] = fmt.Sprintf("%s=%s (>%s)", src, FmtNum(*rd.Value), FmtNum(rd.Threshold))
		}
		if rd.Note != "" {
			parts[i] += " (" + rd.Note + ")"
		}
	}
	return strings.Join(parts, " ")
}

// Blocking is what still holds the drain back, with sources shown by name
// when byName (the event lists them by spec).
func Blocking(e drain.Event, byName bool) []string {
	out := make([]string, len(e.Blocking))
	for i, b := range e.Blocking {
		out[i] = b
		if !byName {
			continue
		}
		for _, rd := range e.Sources {
			if rd.Source == b && rd.Name != "" {
				out[i] = rd.Name
				break
			}
		}
	}
	return out
}

// BlockingKinds is what blocks without the countdowns ("settle (2s left)"
// is "settle"), to tell a change from a tick.
func BlockingKinds(b []string) string {
	out := make([]string, len(b))
	for i, s := range b {
		out[i], _, _ = strings.Cut(s, " ")
	}
	return strings.Join(out, ",")
}

// InFlightText is "waiting on 3 requests: POST /upload 42s from 10.0.0.5, ...".
func InFlightText(e drain.Event) string {
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

// ResultText is how a command ended, in words.
func ResultText(command, result string) string {
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
	case drain.ResultRefused:
		return "refused by the disruption budget"
	case drain.ResultOK:
		return "done"
	}
	return "failed"
}

// RotationText says where the server stands.
func RotationText(st rotation.Status) string {
	switch st {
	case rotation.In:
		return "server is IN rotation"
	case rotation.Out:
		return "server is OUT of rotation"
	}
	return "rotation state UNKNOWN: check with 'drain status'"
}

// FinalLine is the last line of every drain run/out/in/wait, made from its
// result event: how it ended and where the server stands. drain wait never
// changes rotation.
func FinalLine(command string, e drain.Event) string {
	rotates := command != "wait"
	unchanged := e.Changed != nil && !*e.Changed
	code := 0
	if e.ExitCode != nil {
		code = *e.ExitCode
	}
	msg := ResultText(command, e.Result)
	if rotates && unchanged && code != drain.ExitOK {
		msg += ": nothing was changed"
	}
	st := rotation.Status(e.Rotation)
	switch {
	case !rotates:
		return msg + "; rotation not changed by drain wait"
	case st == rotation.In || st == rotation.Out:
		return msg + "; " + RotationText(st)
	case unchanged:
		// Nothing changed, and where the server stands was not read: one
		// claim each, never "unchanged" next to "could not be read".
		return msg + "; rotation state not known: check with 'drain status'"
	}
	return msg + "; " + RotationText(st)
}

// Sanitize makes text from outside (status pages, exec stderr, file names,
// error messages, metric labels) safe to print on a terminal and in a CI
// log (untrusted.Text): control characters other than newline and tab are
// shown escaped (\x1b, \r) instead of moving the cursor, clearing the
// screen or changing colours; "##vso[" and "##[" are broken wherever they
// are and "::" at the start of a line is escaped, so that no runner takes
// the text for a command.
func Sanitize(s string) string { return untrusted.Text(s) }

// SanitizeLine is Sanitize for a field that is one line on every output
// (a reason, a name, a target): line breaks become spaces.
func SanitizeLine(s string) string { return untrusted.Line(s) }

// IsControl is a control character that can drive a terminal.
func IsControl(c rune) bool { return untrusted.IsControl(c) }

// SanitizeEvent sanitizes every field of e that can carry outside text, for
// sinks that show it to a person or write it into a CI log. Every field is
// one line (a record's reason in the message of an out event, a label
// value in a source's error) but the action's last output (the message of
// an action event), a warning, an error and a hint, which may hold several
// lines, each made safe.
func SanitizeEvent(e drain.Event) drain.Event {
	msg := SanitizeLine
	if e.Event == drain.EvAction || e.Event == drain.EvWarning {
		msg = Sanitize
	}
	e.Target, e.Message, e.Error, e.Action, e.Hint = SanitizeLine(e.Target), msg(e.Message), Sanitize(e.Error), SanitizeLine(e.Action), Sanitize(e.Hint)
	e.Rule, e.Reason = SanitizeLine(e.Rule), SanitizeLine(e.Reason)
	if e.Blocking != nil {
		b := make([]string, len(e.Blocking))
		for i, s := range e.Blocking {
			b[i] = SanitizeLine(s)
		}
		e.Blocking = b
	}
	if e.Sources != nil {
		rs := make([]drain.Reading, len(e.Sources))
		for i, rd := range e.Sources {
			rd.Source, rd.Name, rd.Error, rd.Note = SanitizeLine(rd.Source), SanitizeLine(rd.Name), SanitizeLine(rd.Error), SanitizeLine(rd.Note)
			rs[i] = rd
		}
		e.Sources = rs
	}
	if e.Requests != nil {
		qs := make([]drain.Request, len(e.Requests))
		for i, q := range e.Requests {
			q.Verb, q.URL, q.Client, q.Where = SanitizeLine(q.Verb), SanitizeLine(q.URL), SanitizeLine(q.Client), SanitizeLine(q.Where)
			qs[i] = q
		}
		e.Requests = qs
	}
	return e
}
