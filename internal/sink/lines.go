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
// event as a line, and the final line on stdout. While a wait is on, a
// heartbeat line says at least every LinesOptions.Heartbeat (30 s) what it
// waits on, the values and the time left: a wait on a constant value is not
// silent for minutes (CI systems kill jobs that print nothing).
type Lines struct {
	h    human
	ios  *iostreams.IOStreams
	now  func() time.Time
	mu   sync.Mutex
	last string // the last poll summary printed

	heartbeat time.Duration
	quiet     bool
	lastLine  time.Time   // when the last line was written (real time)
	lastPoll  drain.Event // the last poll, for the heartbeat
	polledAt  time.Time   // when it came (real time)
	beating   bool
	stop      chan struct{}
	done      chan struct{}
}

// DefaultHeartbeat is the longest a wait in plain mode stays silent.
const DefaultHeartbeat = 30 * time.Second

// LinesOptions are the plain-lines sink's settings.
type LinesOptions struct {
	// Now stamps the lines (time.Now when nil).
	Now func() time.Time
	// Heartbeat is the longest a wait stays without a line
	// (DefaultHeartbeat when 0).
	Heartbeat time.Duration
	// Quiet keeps only the result: its error and hint, and the final line;
	// no progress, no warnings, no heartbeat (--quiet).
	Quiet bool
}

// NewLines returns the plain-lines sink of command (run, out, in, wait);
// now stamps the lines (time.Now when nil).
func NewLines(ios *iostreams.IOStreams, command string, now func() time.Time) *Lines {
	return NewLinesWith(ios, command, LinesOptions{Now: now})
}

// NewLinesWith returns the plain-lines sink of command with opt.
func NewLinesWith(ios *iostreams.IOStreams, command string, opt LinesOptions) *Lines {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Heartbeat <= 0 {
		opt.Heartbeat = DefaultHeartbeat
	}
	return &Lines{
		ios: ios, now: opt.Now, heartbeat: opt.Heartbeat, quiet: opt.Quiet,
		h: human{command: command, out: ios.Out, c: ios.Colors(), outC: ios.OutColors()},
	}
}

// Event implements Sink.
func (s *Lines) Event(e drain.Event) {
	e = SanitizeEvent(e)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.quiet && e.Event != drain.EvResult {
		return // --quiet: the result says the error, the final line the rest
	}
	switch e.Event {
	case drain.EvPoll:
		s.poll(e)
		s.lastPoll, s.polledAt = e, time.Now()
		s.startBeat()
	case drain.EvResult:
		s.stopBeat()
		// The error and its hint are not stamped: every output says them
		// in one shape ("drain: ...", "hint: ..."), as the terminal view
		// and an error before the run (internal/cli exitCode) do, next to
		// the final line.
		for _, l := range s.h.resultLines(e) {
			_, _ = fmt.Fprintln(s.ios.ErrOut, l)
		}
		s.h.final(e)
	default:
		if e.Event == drain.EvDrained || e.Event == drain.EvTimeout || e.Event == drain.EvAction {
			s.stopBeat() // the wait is over
		}
		for _, l := range s.h.lines(e) {
			s.line(l)
		}
	}
}

// Note implements Noter.
func (s *Lines) Note(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.quiet {
		return
	}
	s.line(Sanitize(msg))
}

// Close implements Sink: the heartbeat stops.
func (s *Lines) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopBeat()
	return nil
}

// startBeat starts the heartbeat on the first poll of a wait (s.mu held).
func (s *Lines) startBeat() {
	if s.beating {
		return
	}
	s.beating, s.stop, s.done = true, make(chan struct{}), make(chan struct{})
	go s.beat(s.stop, s.done)
}

// stopBeat stops the heartbeat and waits until it has (s.mu held; the
// heartbeat takes it only without blocking on stop).
func (s *Lines) stopBeat() {
	if !s.beating {
		return
	}
	s.beating = false
	close(s.stop)
	done := s.done
	s.mu.Unlock()
	<-done
	s.mu.Lock()
}

// beat writes the heartbeat line whenever no line was written for
// s.heartbeat, until stop.
func (s *Lines) beat(stop, done chan struct{}) {
	defer close(done)
	t := time.NewTimer(s.heartbeat)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		s.mu.Lock()
		select {
		case <-stop:
			s.mu.Unlock()
			return
		default:
		}
		next := s.heartbeat - time.Since(s.lastLine)
		if next <= 0 {
			s.line(heartbeatText(s.lastPoll, time.Since(s.polledAt)))
			next = s.heartbeat
		}
		s.mu.Unlock()
		t.Reset(next)
	}
}

// heartbeatText is "still waiting on X: values; 4m12s left", from the last
// poll, age ago.
func heartbeatText(e drain.Event, age time.Duration) string {
	l := "still waiting"
	if len(e.Blocking) > 0 {
		l += " on " + joinComma(e.Blocking)
	}
	if vals := Readings(e.Sources, false); vals != "" {
		l += ": " + vals
	}
	if e.Remaining == nil {
		return l + "; no timeout"
	}
	left := time.Duration(float64(*e.Remaining)*float64(time.Second)) - age
	l += "; " + max(left, 0).Round(time.Second).String() + " left"
	return l
}

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
	s.lastLine = time.Now()
	_, _ = fmt.Fprintf(s.ios.ErrOut, "%s %s\n", s.now().Format("15:04:05"), l)
}
