//go:build !windows

package cli

import (
	"os"
	"os/signal"
	"syscall"
)

// stopSignals end a run like Ctrl-C: SIGINT (Ctrl-C, GitHub Actions' first
// cancel step), SIGTERM (systemd, docker stop, CI runners), SIGHUP (a dropped
// SSH session or closed terminal; by default it would kill drain with the
// server out), SIGQUIT (Ctrl-\; Go's default is a stack dump and exit 2,
// which would read as "usage error, nothing changed").
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// pauseSignals stop drain, deferred while it holds a pool lock (onPause):
// SIGTSTP, a terminal's Ctrl-Z.
var pauseSignals = []os.Signal{syscall.SIGTSTP}

// stopSelf stops drain as a terminal's Ctrl-Z would have (the shell's job
// control sees it stopped; fg or SIGCONT resumes it).
func stopSelf() { _ = syscall.Kill(os.Getpid(), syscall.SIGSTOP) }

// pipeSignals is never read: being notified is what matters. Notify rather
// than signal.Ignore because an ignored signal stays ignored in the action's
// processes, a notified one is reset to its default there.
var pipeSignals = make(chan os.Signal, 1)

// ignoreSignals keeps SIGPIPE from killing drain: a write to a closed stdout
// (drain run --output json | head -1) then fails with EPIPE and the run goes
// on. Go raises SIGPIPE only for writes to fds 1 and 2 unless notified.
func ignoreSignals() { signal.Notify(pipeSignals, syscall.SIGPIPE) }

func signalName(sig os.Signal) string {
	switch sig {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	}
	return sig.String()
}
