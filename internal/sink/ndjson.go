package sink

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/untrusted"
)

// NDJSON writes every event as one JSON object a line on out (stdout, which
// then carries nothing else), for programs. What a person must still see
// (an action's failure, the error and hint of the result) goes to errOut as
// plain lines.
type NDJSON struct {
	out, errOut io.Writer
	mu          sync.Mutex
}

// NewNDJSON returns the NDJSON sink.
func NewNDJSON(out, errOut io.Writer) *NDJSON { return &NDJSON{out: out, errOut: errOut} }

// Event implements Sink.
func (s *NDJSON) Event(e drain.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.write(e)
	switch {
	case e.Event == drain.EvAction && e.Error != "":
		s.note("action failed: " + Sanitize(e.Error))
	case e.Event == drain.EvResult:
		if e.Error != "" {
			s.note("drain: " + Sanitize(e.Error))
		}
		if e.Hint != "" {
			s.note("hint: " + Sanitize(e.Hint))
		}
	}
}

// Note implements Noter: on stderr, never among the events.
func (s *NDJSON) Note(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.note(Sanitize(msg))
}

// Close implements Sink.
func (s *NDJSON) Close() error { return nil }

func (s *NDJSON) note(l string) { _, _ = fmt.Fprintln(s.errOut, l) }

// write writes one NDJSON event. The JSON is data, decoded unchanged, but
// its line is also read by a CI runner when stdout is a job's log:
// untrusted.JSON writes what a runner or a terminal would act on (C1
// controls, format characters, the '#' of "##vso[") as \u escapes.
func (s *NDJSON) write(e drain.Event) {
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	_, _ = s.out.Write(append(untrusted.JSON(b), '\n'))
}

// WriteJSON writes v as one line of JSON to w, safe for a log in the same
// way as the NDJSON events (status --output json, the error event).
func WriteJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(untrusted.JSON(b), '\n'))
	return err
}
