package sink

import (
	"strings"
	"testing"

	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/rotation"
)

// TestFinalLineNeverSaysUnchangedAndUnread: a final line says what drain
// changed and where the server stands, one claim each: never "unchanged"
// next to "could not be read" (issue 19), whatever the result, the state
// read, the change and the exit code.
func TestFinalLineNeverSaysUnchangedAndUnread(t *testing.T) {
	results := []string{drain.ResultOK, drain.ResultError, drain.ResultTimeout, drain.ResultInterrupted, drain.ResultActionFail, drain.ResultRefused}
	states := []string{"", string(rotation.In), string(rotation.Out), string(rotation.Unknown)}
	n := 0
	for _, cmd := range []string{"run", "out", "in", "wait"} {
		for _, res := range results {
			for _, st := range states {
				for _, changed := range []*bool{nil, boolP(false), boolP(true)} {
					for _, code := range []int{drain.ExitOK, drain.ExitError, drain.ExitUsage} {
						e := drain.Event{Event: drain.EvResult, Result: res, Rotation: st, Changed: changed, ExitCode: &code}
						line := FinalLine(cmd, e)
						n++
						if strings.Contains(line, "could not be read") && strings.Contains(line, "unchanged") {
							t.Errorf("%s %s rotation %q changed %s exit %d: %q", cmd, res, st, showBool(changed), code, line)
						}
					}
				}
			}
		}
	}
	code := drain.ExitUsage
	if got := FinalLine("run", drain.Event{Result: drain.ResultError, Changed: boolP(false), ExitCode: &code}); got != "failed: nothing was changed; rotation state not known: check with 'drain status'" {
		t.Errorf("nothing changed, state not read: %q", got)
	}
	if n < 800 {
		t.Fatalf("checked %d lines", n)
	}
}

func boolP(b bool) *bool { return &b }

func showBool(b *bool) string {
	if b == nil {
		return "nil"
	}
	if *b {
		return "true"
	}
	return "false"
}
