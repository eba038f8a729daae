package sink

import (
	"testing"

	"github.com/drain-cli/drain/internal/auditlog"
	"github.com/drain-cli/drain/internal/drain"
)

// The audit sink writes to the real Event Log (under Wine, as an
// administrator) without failing, and closes it once.
func TestAuditToTheEventLog(t *testing.T) {
	log, warn := auditlog.Open()
	if log == nil {
		if warn == "" {
			t.Fatal("no log and no warning")
		}
		t.Skipf("not permitted here: %s", warn)
	}
	a := NewAudit(log, "run", "test")
	a.Event(drain.Event{Event: drain.EvOut, Target: `C:\inetpub\wwwroot\keepalive.htm`, Message: "taken out of rotation"})
	a.Event(drain.Event{Event: drain.EvPoll})
	a.Event(result(0, drain.ResultDrained, "OUT"))
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}
