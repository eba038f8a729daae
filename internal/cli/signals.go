package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
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
	tstp := make(chan os.Signal, 2)
	if len(pauseSignals) > 0 {
		signal.Notify(tstp, pauseSignals...)
	}
	ignoreSignals()
	quit := make(chan struct{})
	go func() {
		n := 0
		for {
			select {
			case <-quit:
				return
			case <-tstp:
				onPause(errOut)
			case sig := <-ch:
				dropPause() // an interrupt overrides a deferred Ctrl-Z: the restore must not stop halfway
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
		signal.Stop(tstp)
		close(quit)
		cancel(nil)
	}
}

// Ctrl-Z (SIGTSTP) from a terminal stops drain as it stops any program,
// except while drain holds a pool lock for the disruption budget's check and
// change (from the moment the locks are held until they are let go, a
// second or so): a stop there could outlast the lock's lease, and another
// drain would decide on a pool this one is about to change. The stop then
// waits until the locks are let go; drain says so on stderr. (A SIGSTOP
// cannot be caught: the pool read back after the change covers that.)
var pauses struct {
	mu      sync.Mutex
	held    int  // holdPauses calls not yet released
	pending bool // a Ctrl-Z came while held
}

// holdPauses defers Ctrl-Z until release is called (budget.Guard.Hold).
func holdPauses() (release func()) {
	pauses.mu.Lock()
	pauses.held++
	pauses.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			pauses.mu.Lock()
			pauses.held--
			stop := pauses.held == 0 && pauses.pending
			if stop {
				pauses.pending = false
			}
			pauses.mu.Unlock()
			if stop {
				stopSelf()
			}
		})
	}
}

// dropPause forgets a deferred Ctrl-Z.
func dropPause() {
	pauses.mu.Lock()
	pauses.pending = false
	pauses.mu.Unlock()
}

// onPause handles a Ctrl-Z: stop now, or once the pool locks are let go.
func onPause(errOut io.Writer) {
	pauses.mu.Lock()
	if pauses.held > 0 {
		first := !pauses.pending
		pauses.pending = true
		pauses.mu.Unlock()
		if first {
			fmt.Fprintln(errOut, "drain: Ctrl-Z: the pool lock is held for the budget's check and change; stopping as soon as that is done")
		}
		return
	}
	pauses.mu.Unlock()
	stopSelf()
}
