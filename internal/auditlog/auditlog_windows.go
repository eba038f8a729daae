package auditlog

import (
	"errors"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
	"golang.org/x/sys/windows/svc/eventlog"
)

// Source is the event source name in the Application log.
const Source = "drain"

type eventLog struct{ l *eventlog.Log }

// Open opens the Windows Event Log for the audit trail, registering the
// "drain" source first if needed. When that is not permitted (not an
// administrator) it returns no auditor and a warning to show once: the run
// must not fail for want of an audit trail.
func Open() (Log, string) {
	const key = `SYSTEM\CurrentControlSet\Services\EventLog\Application\` + Source
	if k, err := registry.OpenKey(registry.LOCAL_MACHINE, key, registry.QUERY_VALUE); err == nil {
		_ = k.Close()
	} else if err := eventlog.InstallAsEventCreate(Source, eventlog.Error|eventlog.Warning|eventlog.Info); err != nil {
		why := err.Error()
		if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
			why = "registering it needs an administrator once: New-EventLog -LogName Application -Source drain"
		}
		return nil, "not writing to the Windows Event Log: event source \"drain\" is not registered (" + why + ")"
	}
	l, err := eventlog.Open(Source)
	if err != nil {
		return nil, "not writing to the Windows Event Log: " + err.Error()
	}
	return &eventLog{l: l}, ""
}

func (e *eventLog) Write(level Level, id uint32, msg string) {
	switch level {
	case Error:
		_ = e.l.Error(id, msg)
	case Warning:
		_ = e.l.Warning(id, msg)
	default:
		_ = e.l.Info(id, msg)
	}
}

func (e *eventLog) Close() { _ = e.l.Close() }
