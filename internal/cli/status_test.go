package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/rotation"
	"github.com/drain-cli/drain/internal/state"
)

// TestStatusOfARecordWhosePidWasReused: a record left mid-run whose pid now
// belongs to another process (here: this test, started long after the
// record says) is reported gone, not running (issue 12, item 9).
func TestStatusOfARecordWhosePidWasReused(t *testing.T) {
	dir := t.TempDir()
	page := filepath.Join(dir, "keepalive.htm")
	if err := os.WriteFile(page+".disabled", []byte("OK"), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := rotation.NewKeepalive(page, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	set, err := rotation.NewSet(k)
	if err != nil {
		t.Fatal(err)
	}
	p := &drain.Plan{Rotator: set, Store: state.Store{Dir: filepath.Join(dir, "state")}}
	myStart, err := state.ProcessStart(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		start time.Time
		want  string
	}{
		{myStart.Add(-time.Hour), "gone"}, // the pid of a drain killed an hour earlier, now reused
		{myStart, "running"},
		{time.Time{}, "running"}, // a record of an older drain: the pid alone decides
	} {
		undo, _ := json.Marshal(map[string]string{"method": rotation.MethodRename, "path": page, "disabled_path": page + ".disabled"})
		rec := &state.Record{Method: rotation.MethodRename, Entries: []state.Entry{{Type: k.Type(), Target: k.Target(), Undo: undo, Changed: true}}, PID: os.Getpid(), Start: tc.start, Phase: state.PhaseWaiting}
		if err := rotation.SaveRecord(p.Store, rec); err != nil {
			t.Fatal(err)
		}
		if rep := collectStatus(context.Background(), p); rep.Holder != tc.want {
			t.Errorf("record with start %v: holder %q, want %q", tc.start, rep.Holder, tc.want)
		}
	}
}
