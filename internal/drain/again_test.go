package drain

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/rotation"
	"github.com/drain-cli/drain/internal/state"
)

// A record marked as being put back (PhaseIn) whose server the balancer has
// IN (an in that could not remove the record) is not out: out takes the
// server out again, says why, and writes a record of its own. One whose
// server is still OUT (an in that stopped before its change) is out: it is
// kept, its phase back to out (issue 23 item 21).
func TestRecordBeingPutBackIsNotOut(t *testing.T) {
	p, page, rec := newPlan(t, &scripted{val: 0})
	if oc := p.Out(context.Background(), rec.emit); oc.Result != ResultOK || exists(page) {
		t.Fatalf("out: %+v", oc)
	}
	mark := func() {
		t.Helper()
		r, err := rotation.LoadRecord(p.Store, p.Rotator)
		if err != nil || r == nil {
			t.Fatalf("record: %v %v", r, err)
		}
		r.Phase = PhaseIn
		if err := rotation.SaveRecord(p.Store, r); err != nil {
			t.Fatal(err)
		}
	}
	mark()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Rename(page+".disabled", page)) // in put it back, then stopped
	rec.events = nil
	if oc := p.Out(context.Background(), rec.emit); oc.Result != ResultOK || exists(page) {
		t.Fatalf("out over a record being put back, server IN: %+v", oc)
	}
	if e, _ := rec.find(EvOut); e.Changed == nil || !*e.Changed {
		t.Errorf("out should have taken it out again: %+v", e)
	}
	if w, _ := rec.find(EvWarning); !strings.Contains(w.Message, "could not remove the record") {
		t.Errorf("warning %q should say why the record did not count", w.Message)
	}
	if r, _ := rotation.LoadRecord(p.Store, p.Rotator); r == nil || r.Phase != state.PhaseOut {
		t.Errorf("record after out: %+v", r)
	}

	mark() // in stopped before its change: still out
	rec.events = nil
	if oc := p.Out(context.Background(), rec.emit); oc.Result != ResultOK || exists(page) {
		t.Fatalf("out over a record being put back, server OUT: %+v", oc)
	}
	if e, _ := rec.find(EvOut); e.Changed == nil || *e.Changed {
		t.Errorf("out should have left it as it was: %+v", e)
	}
	if r, _ := rotation.LoadRecord(p.Store, p.Rotator); r == nil || r.Phase != state.PhaseOut {
		t.Errorf("record after out: %+v", r)
	}
}

// A record of a content-mode out read by a run given rename flags: the
// page still holds the down content drain wrote, so the balancer has it
// out: the run leaves it as it was (it does not rename the down page away
// and lose the original bytes) and acts.
func TestRecordReadAsOutLeftIt(t *testing.T) {
	p, page, rec := newPlan(t, &scripted{val: 0})
	down := "DOWN\n"
	k, err := rotation.NewKeepalive(page, "", &down)
	if err != nil {
		t.Fatal(err)
	}
	content := *p
	content.Rotator = mustSet(t, k)
	if oc := content.Out(context.Background(), rec.emit); oc.Result != ResultOK {
		t.Fatalf("content out: %+v", oc)
	}
	p.Action = trueAction(t)
	p.Settle, p.Timeout = 10*time.Millisecond, 5*time.Second
	oc := p.Run(context.Background(), rec.emit)
	if oc.Result != ResultDrained || oc.Rotation != rotation.Out || exists(page+".disabled") {
		t.Fatalf("run with rename flags over a content-mode record: %+v", oc)
	}
	if b, _ := os.ReadFile(page); string(b) != down {
		t.Errorf("page %q, want the down content left as it was", b)
	}
	if oc := p.In(context.Background(), false, rec.emit); oc.Result != ResultOK {
		t.Fatalf("in: %+v", oc)
	}
	if b, _ := os.ReadFile(page); string(b) != "OK\n" {
		t.Errorf("page after in %q, want the original", b)
	}
}
