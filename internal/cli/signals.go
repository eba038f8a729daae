package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
)

// signalError is the cause of a run's cancellation: which signal ended it.
type signalError struct{ sig os.Signal }

func (e *signalError) Error() string { return signalName(e.sig) }

// notifySignals returns a context cancelled (with a *signalError cause) by the
// first of the signals that end a run (see stopSignals). Later ones only say
// that drain is still finishing: they must not abort the restore that the
// first one started. Until stop is called none of them kills the process,
// and a closed stdout (SIGPIPE) never does: writes to it fail quietly.
// Calling done (when the command has said how it ended) keeps a late signal
// from printing after that last line.
func notifySignals(parent context.Context, errOut io.Writer) (ctx context.Context, done, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	var finished atomic.Bool
	ch := make(chan os.Signal, 8)
	signal.Notify(ch, stopSignals...)
	ignoreSignals()
	quit := make(chan struct{})
	go func() {
		n := 0
		for {
			select {
			case <-quit:
				return
			case sig := <-ch:
				n++
				if n == 1 {
					cancel(&signalError{sig})
					continue
				}
				if finished.Load() {
					continue
				}
				fmt.Fprintf(errOut, "drain: %s again: still finishing (putting the server back if this run took it out); wait a few seconds\n", signalName(sig))
			}
		}
	}()
	return ctx, func() { finished.Store(true) }, func() {
		signal.Stop(ch)
		close(quit)
		cancel(nil)
	}
}
