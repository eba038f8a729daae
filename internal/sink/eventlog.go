package sink

import (
	"fmt"
	"strings"

	"github.com/drain-cli/drain/internal/auditlog"
	"github.com/drain-cli/drain/internal/drain"
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

// Audit writes the changes and outcomes of a command (out, in, drained,
// action, timeout, result; not the polls) to an audit trail: the Windows
// Event Log.
type Audit struct {
	log    auditlog.Log
	prefix string
}

// NewAudit returns the audit sink of command, run by who. It closes log.
func NewAudit(log auditlog.Log, command, who string) *Audit {
	return &Audit{log: log, prefix: fmt.Sprintf("drain %s (by %s): ", command, who)}
}

// Event implements Sink.
func (s *Audit) Event(e drain.Event) {
	if level, id, msg, ok := AuditEntry(e); ok {
		s.log.Write(level, id, s.prefix+msg)
	}
}

// Close implements Sink.
func (s *Audit) Close() error {
	s.log.Close()
	return nil
}

// AuditEntry says whether and how an event goes into the audit trail.
func AuditEntry(e drain.Event) (auditlog.Level, uint32, string, bool) {
	switch e.Event {
	case drain.EvOut:
		return auditlog.Info, auditOut, fmt.Sprintf("OUT of rotation %s: %s", e.Target, e.Message), true
	case drain.EvIn:
		return auditlog.Info, auditIn, fmt.Sprintf("IN rotation %s: %s", e.Target, e.Message), true
	case drain.EvDrained:
		return auditlog.Info, auditDrained, fmt.Sprintf("drained after %s: %s", FmtSecs(e.Elapsed), e.Message), true
	case drain.EvTimeout:
		msg := fmt.Sprintf("TIMEOUT after %s: %s; waiting on %s", FmtSecs(e.Elapsed), e.Message, strings.Join(e.Blocking, ", "))
		return auditlog.Warning, auditTimeout, msg, true
	case drain.EvAction:
		switch {
		case e.Error != "":
			return auditlog.Error, auditAction, fmt.Sprintf("action FAILED: %s: %s", e.Action, e.Error), true
		case e.ActionExit != nil:
			return auditlog.Info, auditAction, fmt.Sprintf("action finished in %s: %s", FmtSecs(e.Elapsed), e.Action), true
		}
		return auditlog.Info, auditAction, "action started: " + e.Action, true
	case drain.EvResult:
		code := 0
		if e.ExitCode != nil {
			code = *e.ExitCode
		}
		msg := fmt.Sprintf("result %s (exit %d)", e.Result, code)
		if e.Rotation != "" {
			msg += "; rotation " + e.Rotation
		}
		if e.Error != "" {
			msg += ": " + e.Error
		}
		if code != 0 {
			return auditlog.Error, auditResult, msg, true
		}
		return auditlog.Info, auditResult, msg, true
	}
	return 0, 0, "", false
}
