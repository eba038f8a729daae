package sink

import (
	"fmt"
	"sync"
	"time"

	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/iostreams"
)

// Lines writes plain timestamped lines for a log or a pipeline: a poll only
// when the values or what blocks changed (not on every tick), every other
// event as a line, and the final line on stdout.
type Lines struct {
	h    human
	ios  *iostreams.IOStreams
	now  func() time.Time
	mu   sync.Mutex
	last string // the last poll summary printed
}

// NewLines returns the plain-lines sink of command (run, out, in, wait);
// now stamps the lines (time.Now when nil).
func NewLines(ios *iostreams.IOStreams, command string, now func() time.Time) *Lines {
	if now == nil {
		now = time.Now
	}
	return &Lines{ios: ios, now: now, h: human{command: command, out: ios.Out, c: ios.Colors(), outC: ios.OutColors()}}
}

// Event implements Sink.
func (s *Lines) Event(e drain.Event) {
	e = SanitizeEvent(e)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch e.Event {
	case drain.EvPoll:
		s.poll(e)
	case drain.EvResult:
		for _, l := range s.h.resultLines(e) {
			s.line(l)
		}
		s.h.final(e)
	default:
		for _, l := range s.h.lines(e) {
			s.line(l)
		}
	}
}

// Note implements Noter.
func (s *Lines) Note(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.line(Sanitize(msg))
}

// Close implements Sink.
func (s *Lines) Close() error { return nil }

func (s *Lines) poll(e drain.Event) {
	if len(e.Requests) > 0 { // a slow wait: say what it is waiting for
		s.line(InFlightText(e))
	}
	vals := Readings(e.Sources, false)
	// Countdowns change every tick; compare without them.
	key := vals + "|" + BlockingKinds(e.Blocking)
	if key == s.last {
		return
	}
	s.last = key
	s.line(pollText(vals, e.Sources, e.Blocking))
}

// pollText is "values | waiting on X, Y".
func pollText(vals string, rs []drain.Reading, blocking []string) string {
	switch {
	case len(blocking) == 0:
		return vals
	case len(rs) == 0:
		return "waiting on " + joinComma(blocking)
	}
	return vals + " | waiting on " + joinComma(blocking)
}

func (s *Lines) line(l string) {
	_, _ = fmt.Fprintf(s.ios.ErrOut, "%s %s\n", s.now().Format("15:04:05"), l)
}
