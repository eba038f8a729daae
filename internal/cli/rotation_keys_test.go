package cli

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/drain-cli/drain/internal/config"
	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/haproxy/haproxytest"
	"github.com/drain-cli/drain/internal/rotation"
	"github.com/drain-cli/drain/internal/state"
)

// Records and locks are per method: a run with the page alone and a run
// with the page and HAProxy share the page's lock and record (before, each
// combination of methods had its own, so the two could change the page at
// once, and neither saw the other's record).
func TestRotationKeyedPerMethod(t *testing.T) {
	dir := t.TempDir()
	page := filepath.Join(dir, "keepalive.htm")
	if err := os.WriteFile(page, []byte("OK"), 0o644); err != nil {
		t.Fatal(err)
	}
	lb := haproxytest.New(t, "web/a")
	stateDir := filepath.Join(dir, "state")
	plan := func(cfg *config.Config) (*drain.Plan, func(drain.Event), *[]drain.Event) {
		t.Helper()
		cfg.StateDir = stateDir
		if err := cfg.ParseRotation(); err != nil {
			t.Fatal(err)
		}
		rot, store, err := buildRotation(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var events []drain.Event
		return &drain.Plan{Rotator: rot, Store: store}, func(e drain.Event) { events = append(events, e) }, &events
	}
	alone, aloneEmit, _ := plan(&config.Config{Keepalive: page})
	both, bothEmit, bothEvents := plan(&config.Config{Keepalive: page, HAProxy: []string{lb.Addr + "#web/a"}})
	if got := both.Rotator.Keys(); len(got) != 2 || !slices.Contains(got, alone.Rotator.Keys()[0]) {
		t.Fatalf("keys %q, want the page's key %q and HAProxy's", got, alone.Rotator.Keys())
	}

	// One lock per method: the page's lock, held by one run, stops the
	// other; released, the other takes every lock it needs.
	held, err := takeLock(alone, "out", "first", aloneEmit)
	if err != nil {
		t.Fatal(err)
	}
	var le *state.LockedError
	if _, err := takeLock(both, "out", "second", bothEmit); !errors.As(err, &le) {
		t.Fatalf("second run's lock: %v, want the page's lock held by the first", err)
	}
	// The second run gave back the HAProxy lock it may have taken.
	if l, _, err := alone.Store.Lock(both.Rotator.Keys()[0], state.Holder{PID: os.Getpid()}); err != nil {
		t.Errorf("a lock of the refused run was kept: %v", err)
	} else {
		l.Release()
	}
	held.Release()
	if l, err := takeLock(both, "out", "second", bothEmit); err != nil {
		t.Fatalf("after release: %v", err)
	} else {
		l.Release()
	}

	// The record of 'out --keepalive PAGE' is found by a run with the page
	// and HAProxy. HAProxy has the server in (no record says otherwise):
	// the run takes it out there, and the page, still out as the record
	// says, keeps its entry (in renames it back).
	ctx := context.Background()
	if oc := alone.Out(ctx, aloneEmit); outcomeCode(oc) != drain.ExitOK {
		t.Fatalf("out: %+v", oc)
	}
	rec, err := rotation.LoadRecord(both.Store, both.Rotator)
	if err != nil || rec == nil || len(rec.Entries) != 1 {
		t.Fatalf("record seen by the page+HAProxy run: %+v %v", rec, err)
	}
	if oc := both.Out(ctx, bothEmit); outcomeCode(oc) != drain.ExitOK {
		t.Fatalf("out with both: %+v", oc)
	}
	var said bool
	for _, e := range *bothEvents {
		if e.Event == drain.EvOut && e.Changed != nil && *e.Changed && strings.Contains(e.Message, "taken out of rotation") {
			said = true
		}
	}
	if !said {
		t.Errorf("events %+v: want out changed (HAProxy had the server in)", *bothEvents)
	}
	if a := lb.Get("web/a").Admin; a == 0 {
		t.Error("HAProxy still has the server ready")
	}
	rec, err = rotation.LoadRecord(both.Store, both.Rotator)
	if err != nil || rec == nil || len(rec.Entries) != 2 || !rec.Entries[0].Changed || !rec.Entries[1].Changed {
		t.Fatalf("record after out with both: %+v %v; want both entries, changed", rec, err)
	}
	if oc := both.In(ctx, false, bothEmit); outcomeCode(oc) != drain.ExitOK || oc.Rotation != rotation.In {
		t.Fatalf("in with both: %+v", oc)
	}
	if _, err := os.Stat(page); err != nil {
		t.Errorf("page not back: %v", err)
	}
	if rec, _ := rotation.LoadRecord(alone.Store, alone.Rotator); rec != nil {
		t.Errorf("record left: %+v", rec)
	}
}
