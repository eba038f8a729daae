package rotation

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// A deploy put the page back after out: in removes the stale copy out
// renamed away, but only under the name its own flags give it; a record
// naming another file (a sibling in the web root) removes nothing.
func TestKeepaliveInAfterDeployRemovesOnlyItsOwnCopy(t *testing.T) {
	dir := t.TempDir()
	page := filepath.Join(dir, "keepalive.htm")
	index := filepath.Join(dir, "index.html")
	for _, p := range []string{page, page + ".disabled", index} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	k, err := NewKeepalive(page, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	undo := func(disabled string) json.RawMessage {
		b, _ := json.Marshal(keepaliveUndo{Method: MethodRename, Path: page, DisabledPath: disabled})
		return b
	}
	// A record whose disabled path is another file: nothing removed.
	if _, err := k.In(context.Background(), undo(index)); err != nil {
		t.Logf("in with a record naming another file: %v", err)
	}
	if _, err := os.Stat(index); err != nil {
		t.Fatalf("in removed a file only the record named: %v", err)
	}
	// Without a record: the stale-copy error, nothing removed.
	if _, err := k.In(context.Background(), nil); err == nil {
		t.Error("in without a record and both files: no error")
	}
	if _, err := os.Stat(page + ".disabled"); err != nil {
		t.Fatalf("in without a record removed the copy: %v", err)
	}
	// The record of this page's own out: the stale copy goes.
	changed, err := k.In(context.Background(), undo(page+".disabled"))
	if err != nil || changed {
		t.Fatalf("in after a deploy: changed=%v %v, want false and no error", changed, err)
	}
	if _, err := os.Stat(page + ".disabled"); !os.IsNotExist(err) {
		t.Errorf("stale copy left: %v", err)
	}
	if st, err := k.Status(context.Background()); st != In || err != nil {
		t.Errorf("status after in: %s %v", st, err)
	}
}
