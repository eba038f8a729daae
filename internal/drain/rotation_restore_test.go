package drain

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/haproxy/haproxytest"
	"github.com/drain-cli/drain/internal/rotation"
	"github.com/drain-cli/drain/internal/state"
)

// LB 1 is in maint by hand, LB 2 ready; a run that times out puts back only
// LB 2 and says LB 1 was left as it was (issue 12 item 10).
func TestTimedOutRunRestoresOnlyWhatItChanged(t *testing.T) {
	lb1, lb2 := haproxytest.New(t, "web/a"), haproxytest.New(t, "web/a")
	lb1.Set("web/a", haproxytest.Server{Admin: 0x01})
	h, err := rotation.NewHAProxy([]string{lb1.Addr + "#web/a", lb2.Addr + "#web/a"}, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	p := &Plan{
		Rotator: mustSet(t, h), Store: state.Store{Dir: t.TempDir()},
		Sources:  []Watch{{Name: "busy", Source: &scripted{val: 3}}},
		Interval: 10 * time.Millisecond, Settle: 50 * time.Millisecond, Timeout: 300 * time.Millisecond,
		ActionOut: io.Discard, ActionErr: io.Discard,
	}
	oc := p.Run(context.Background(), rec.emit)
	if oc.Result != ResultTimeout || oc.Rotation != rotation.In {
		t.Fatalf("outcome %+v, want timeout, IN", oc)
	}
	if a := lb1.Get("web/a").Admin; a != 0x01 {
		t.Errorf("LB 1 admin %#x: the run undid a maintenance it did not set", a)
	}
	if a := lb2.Get("web/a").Admin; a != 0 {
		t.Errorf("LB 2 admin %#x, want ready", a)
	}
	found := false
	for _, e := range rec.events {
		if e.Event == EvWarning && strings.Contains(e.Message, lb1.Addr+"#web/a left in maint") {
			found = true
		}
	}
	if !found {
		t.Errorf("no warning naming LB 1 as left in maint: %+v", rec.events)
	}
}
