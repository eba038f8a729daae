//go:build windows

package cli

import (
	"os"
	"syscall"
)

// stopSignals end a run. Go delivers Ctrl-C and Ctrl-Break as os.Interrupt,
// and CTRL_CLOSE_EVENT (the console window closed) as syscall.SIGTERM, but
// only when SIGTERM is notified; its console handler then blocks so that
// drain can finish, until Windows ends the process (about 5 s after a
// close). The restore is bounded well inside that (drain.Knobs.RestoreTimeout, 3 s by default).
// CTRL_LOGOFF_EVENT and CTRL_SHUTDOWN_EVENT reach services only
// (SetConsoleCtrlHandler, HandlerRoutine: "Interactive applications are
// terminated at logoff"): a drain in a user's console is ended at logoff or
// shutdown without notice, like a SIGKILL, and its record says how far it
// got; only a drain whose console belongs to a service may see them, as
// SIGTERM.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

// pauseSignals: Windows has no stop signal (no Ctrl-Z job control).
var pauseSignals []os.Signal

func stopSelf() {}

// ignoreSignals: Windows has no SIGPIPE; a write to a closed pipe just fails.
func ignoreSignals() {}

func signalName(sig os.Signal) string {
	switch sig {
	case os.Interrupt:
		return "Ctrl-C/Ctrl-Break"
	case syscall.SIGTERM:
		return "console close (or, for a service, logoff or shutdown)"
	}
	return sig.String()
}
