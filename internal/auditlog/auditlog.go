// Package auditlog writes an audit trail of maintenance changes to the
// system log: the Windows Event Log (Application, source "drain"). Elsewhere
// there is none; the NDJSON events are the record.
package auditlog

// Level is an entry's severity.
type Level int

// Levels.
const (
	Info Level = iota
	Warning
	Error
)

// Log is an open audit trail.
type Log interface {
	// Write adds one entry; failures are ignored (an audit trail must never
	// fail a run).
	Write(level Level, id uint32, msg string)
	Close()
}
