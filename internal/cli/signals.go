package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
)

// signalError is the cause of a run's cancellation: which signal ended it.
type signalError struct{ sig os.Signal }

func (e *signalError) Error() string { return signalName(e.sig) }

// notifySignals returns a context cancelled (with a *signalError cause) by the
// first of the signals that end a run (see stopSignals). Later ones only say
// that drain is still finishing: they must not abort the restore that the
// first one started. Until stop is called none of them kills the process,
// and a closed stdout (SIGPIPE) never does: writes to it fail quietly.
func notifySignals(parent context.Context, errOut io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 8)
	signal.Notify(ch, stopSignals...)
	ignoreSignals()
	done := make(chan struct{})
	go func() {
		n := 0
		for {
			select {
			case <-done:
				return
			case sig := <-ch:
				n++
				if n == 1 {
					cancel(&signalError{sig})
					continue
				}
				fmt.Fprintf(errOut, "drain: %s again: still finishing (putting the server back if this run took it out); wait a few seconds\n", signalName(sig))
			}
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}
