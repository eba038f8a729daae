// Package sink delivers a command's events to where they are wanted: the
// terminal, plain log lines, NDJSON, the Windows Event Log, a CI system.
// Each sink is one file implementing Sink; the CLI picks the sinks from the
// flags and the environment and fans every event out to all of them.
package sink

import (
	"errors"

	"github.com/drain-cli/drain/internal/drain"
)

// Sink receives every event of one command, in the order they happened;
// the last is the result event (drain.EvResult: result, exit code, where
// the server stands). Close is called once, after it.
//
// Event must not block for long (the drain waits on it) and must never
// fail the command: a sink that cannot write drops the event and may report
// that from Close.
type Sink interface {
	Event(e drain.Event)
	Close() error
}

// Multi sends each event to every sink, in order.
type Multi []Sink

// Event implements Sink.
func (m Multi) Event(e drain.Event) {
	for _, s := range m {
		s.Event(e)
	}
}

// Close implements Sink: every sink is closed; the errors are joined.
func (m Multi) Close() error {
	var errs []error
	for _, s := range m {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}
