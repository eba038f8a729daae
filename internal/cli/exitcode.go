package cli

import (
	"errors"

	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/usage"
)

// The one place exit codes are decided (README "Exit codes"):
//
//	0   done (drained, forced, ok, dry-run)
//	1   error, or a failed wait that could not put the server back
//	2   usage: bad input, nothing was changed
//	3   timeout: not drained (or not healthy) in time
//	4   the action failed
//	5   refused by the disruption budget, nothing was changed
//	6   drain status without rotation flags: a server is OUT of rotation (exitOut)
//	130 interrupted

// outcomeCode maps how drain run/out/in/wait ended to its exit code.
func outcomeCode(oc drain.Outcome) int {
	if oc.Usage {
		return drain.ExitUsage
	}
	switch oc.Result {
	case drain.ResultInterrupted:
		return drain.ExitInterrupted
	case drain.ResultActionFail:
		return drain.ExitAction
	case drain.ResultRefused:
		return drain.ExitRefused
	case drain.ResultError:
		return drain.ExitError
	case drain.ResultTimeout:
		if oc.RestoreFailed {
			return drain.ExitError
		}
		return drain.ExitTimeout
	}
	if oc.RestoreFailed {
		return drain.ExitError
	}
	return drain.ExitOK
}

// errorCode maps an error a command returned (rather than an outcome) to its
// exit code: one it chose itself, 2 for bad flags or config, else 1.
func errorCode(err error) int {
	if err == nil {
		return drain.ExitOK
	}
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, usage.Err):
		return drain.ExitUsage
	}
	return drain.ExitError
}
