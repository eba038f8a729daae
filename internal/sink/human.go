package sink

import (
	"fmt"
	"io"
	"strings"

	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/iostreams"
	"github.com/drain-cli/drain/internal/rotation"
)

// human is what the terminal and the plain-lines sinks share: the words for
// every event but the polls, and the end (the error, the hint, the final
// line on stdout). Each of them decides how a line is written.
type human struct {
	command string
	out     io.Writer // the final line
	c       iostreams.Palette
	outC    iostreams.Palette
}

// lines says an event (not a poll, not the result) in lines for a person.
func (h *human) lines(e drain.Event) []string {
	c := h.c
	switch e.Event {
	case drain.EvOut, drain.EvIn:
		return []string{fmt.Sprintf("%s %s: %s", h.rotWord(e.Rotation), e.Target, e.Message)}
	case drain.EvVerify, drain.EvTurn:
		return []string{e.Message}
	case drain.EvDrained:
		return []string{c.Good("drained") + fmt.Sprintf(" after %s: %s", FmtSecs(e.Elapsed), e.Message)}
	case drain.EvTimeout:
		l := []string{c.Bad("TIMEOUT") + fmt.Sprintf(" after %s: still waiting on %s (%s)", FmtSecs(e.Elapsed), strings.Join(e.Blocking, ", "), Readings(e.Sources, false))}
		if len(e.Requests) > 0 {
			l = append(l, "  "+InFlightText(e))
		}
		return l
	case drain.EvAction:
		switch {
		case e.Error != "":
			l := []string{c.Bad("action failed") + ": " + e.Error}
			if e.Message != "" {
				l = append(l, "  last output: "+strings.ReplaceAll(e.Message, "\n", "\n  "))
			}
			return l
		case e.ActionExit != nil:
			return []string{fmt.Sprintf("action finished in %s (exit %d)", FmtSecs(e.Elapsed), *e.ActionExit)}
		}
		return []string{fmt.Sprintf("action %s: %s", e.Message, e.Action)}
	case drain.EvWarning:
		return []string{c.Warn("warning: ") + e.Message}
	}
	return []string{e.Event + ": " + e.Message}
}

// resultLines are the stderr lines of the result event: the error, the
// hint, the FORCED warning.
func (h *human) resultLines(e drain.Event) []string {
	var l []string
	if e.Error != "" {
		l = append(l, h.c.Bad("drain: ")+e.Error)
	}
	if e.Hint != "" {
		l = append(l, "hint: "+e.Hint)
	}
	if e.Result == drain.ResultForced {
		l = append(l, h.c.Bad("FORCED: the action ran before the server was drained (--on-timeout force)"))
	}
	return l
}

// final writes the last line on stdout, green when all went well.
func (h *human) final(e drain.Event) {
	colour := h.outC.Good
	if e.ExitCode != nil && *e.ExitCode != drain.ExitOK {
		colour = h.outC.Bad
	}
	_, _ = fmt.Fprintln(h.out, colour(FinalLine(h.command, e)))
}

func (h *human) rotWord(st string) string {
	switch st {
	case string(rotation.In):
		return h.c.In("IN ")
	case string(rotation.Out):
		return h.c.Out("OUT")
	}
	return st
}
