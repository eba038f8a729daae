package cli

import (
	"errors"
	"fmt"
	"testing"

	"github.com/drain-cli/drain/internal/config"
	"github.com/drain-cli/drain/internal/drain"
)

// TestOutcomeCode: the documented exit codes (README "Exit codes") from how
// a command ended; the testscripts check them end to end.
func TestOutcomeCode(t *testing.T) {
	for _, c := range []struct {
		oc   drain.Outcome
		want int
	}{
		{drain.Outcome{Result: drain.ResultDrained}, 0},
		{drain.Outcome{Result: drain.ResultForced}, 0},
		{drain.Outcome{Result: drain.ResultOK}, 0},
		{drain.Outcome{Result: drain.ResultDryRun}, 0},
		{drain.Outcome{Result: drain.ResultError}, 1},
		{drain.Outcome{Result: drain.ResultError, Usage: true}, 2},
		{drain.Outcome{Result: drain.ResultTimeout}, 3},
		{drain.Outcome{Result: drain.ResultTimeout, RestoreFailed: true}, 1},
		{drain.Outcome{Result: drain.ResultError, RestoreFailed: true}, 1},
		{drain.Outcome{Result: drain.ResultInterrupted, RestoreFailed: true}, 130},
		{drain.Outcome{Result: drain.ResultActionFail}, 4},
		{drain.Outcome{Result: drain.ResultRefused, Unchanged: true}, 5},
		{drain.Outcome{Result: drain.ResultInterrupted}, 130},
	} {
		if got := outcomeCode(c.oc); got != c.want {
			t.Errorf("%+v: code %d, want %d", c.oc, got, c.want)
		}
	}
}

func TestErrorCode(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("boom"), 1},
		{fmt.Errorf("bad flag: %w", config.ErrUsage), 2},
		{&exitError{code: 3, err: errors.New("late")}, 3},
	} {
		if got := errorCode(c.err); got != c.want {
			t.Errorf("%v: code %d, want %d", c.err, got, c.want)
		}
	}
}
