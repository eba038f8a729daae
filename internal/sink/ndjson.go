package sink

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/drain-cli/drain/internal/drain"
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

// write writes one NDJSON event. encoding/json escapes C0 controls but
// leaves C1 ones (U+0080-U+009F) raw; they are escaped too, so that NDJSON
// shown on a terminal cannot drive it either.
func (s *NDJSON) write(e drain.Event) {
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	str := string(b)
	if strings.ContainsFunc(str, isC1) {
		var sb strings.Builder
		for _, c := range str {
			if isC1(c) {
				fmt.Fprintf(&sb, `\u%04x`, c)
				continue
			}
			sb.WriteRune(c)
		}
		str = sb.String()
	}
	_, _ = io.WriteString(s.out, str+"\n")
}
