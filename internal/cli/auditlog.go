package cli

import (
	"fmt"
	"strings"

	"github.com/drain-cli/drain/internal/auditlog"
	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/state"
)

// Event ids in the Application log (1-1000: EventCreate.exe's message file).
const (
	auditOut     = 100
	auditIn      = 101
	auditDrained = 102
	auditAction  = 103
	auditTimeout = 104
	auditResult  = 110
)

// auditEntry says whether and how an event goes into the audit trail: the
// changes and outcomes (out, in, drained, action, timeout, result), not the
// polls.
func auditEntry(command string, e drain.Event) (auditlog.Level, uint32, string, bool) {
	prefix := fmt.Sprintf("drain %s (by %s): ", command, state.Who())
	switch e.Event {
	case drain.EvOut:
		return auditlog.Info, auditOut, prefix + fmt.Sprintf("OUT of rotation %s: %s", e.Target, e.Message), true
	case drain.EvIn:
		return auditlog.Info, auditIn, prefix + fmt.Sprintf("IN rotation %s: %s", e.Target, e.Message), true
	case drain.EvDrained:
		return auditlog.Info, auditDrained, prefix + fmt.Sprintf("drained after %s: %s", fmtSecs(e.Elapsed), e.Message), true
	case drain.EvTimeout:
		msg := fmt.Sprintf("TIMEOUT after %s: %s; waiting on %s", fmtSecs(e.Elapsed), e.Message, strings.Join(e.Blocking, ", "))
		return auditlog.Warning, auditTimeout, prefix + msg, true
	case drain.EvAction:
		switch {
		case e.Error != "":
			return auditlog.Error, auditAction, prefix + fmt.Sprintf("action FAILED: %s: %s", e.Action, e.Error), true
		case e.ActionExit != nil:
			return auditlog.Info, auditAction, prefix + fmt.Sprintf("action finished in %s: %s", fmtSecs(e.Elapsed), e.Action), true
		}
		return auditlog.Info, auditAction, prefix + "action started: " + e.Action, true
	case drain.EvResult:
		msg := fmt.Sprintf("result %s (exit %d)", e.Result, derefInt(e.ExitCode))
		if e.Rotation != "" {
			msg += "; rotation " + e.Rotation
		}
		if e.Error != "" {
			msg += ": " + e.Error
		}
		if derefInt(e.ExitCode) != 0 {
			return auditlog.Error, auditResult, prefix + msg, true
		}
		return auditlog.Info, auditResult, prefix + msg, true
	}
	return 0, 0, "", false
}

func derefInt(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}
