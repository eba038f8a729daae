package auditlog

import (
	"testing"

	"golang.org/x/sys/windows/registry"
	"golang.org/x/sys/windows/svc/eventlog"
)

// Under Wine (run as an administrator) the source gets registered and
// written; on a Windows runner without rights openAudit must still not fail.
func TestOpenRegistersTheSource(t *testing.T) {
	_ = eventlog.Remove(Source) // exercise the registration (Open puts it back)
	a, warn := Open()
	if a == nil {
		if warn == "" {
			t.Fatal("no auditor and no warning")
		}
		t.Skipf("not permitted here: %s", warn)
	}
	defer a.Close()
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SYSTEM\CurrentControlSet\Services\EventLog\Application\drain`, registry.QUERY_VALUE)
	if err != nil {
		t.Fatalf("source key: %v", err)
	}
	defer func() { _ = k.Close() }()
	if _, _, err := k.GetStringValue("EventMessageFile"); err != nil {
		t.Errorf("EventMessageFile: %v", err)
	}
	a.Write(Info, 100, "drain test: written from TestOpenRegistersTheSource")
	a2, warn2 := Open() // registered now: opens without installing
	if a2 == nil {
		t.Fatalf("second open: %s", warn2)
	}
	a2.Close()
}
