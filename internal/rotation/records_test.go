package rotation

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/state"
)

// A record the current release wrote under the path as typed (through a
// symlinked directory) is still found, and in removes it.
func TestRecordUnderTheTypedPathIsStillFound(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need a privilege on Windows")
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real", filepath.Join(dir, "current")); err != nil {
		t.Fatal(err)
	}
	typed := filepath.Join(dir, "current", "keepalive.htm")
	// Taken out by the previous release: renamed, record keyed by typed.
	if err := os.WriteFile(filepath.Join(dir, "real", "keepalive.htm.disabled"), []byte("UP"), 0o644); err != nil {
		t.Fatal(err)
	}
	store := state.Store{Dir: t.TempDir()}
	old, _ := json.Marshal(map[string]any{"target": typed, "method": MethodRename, "path": typed, "disabled_path": typed + ".disabled", "reason": "old release", "since": time.Now()})
	if err := os.MkdirAll(store.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(store.File(typed), old, 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := NewKeepalive(typed, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if k.Target() == typed {
		t.Fatalf("key %s is the typed path; the test needs them to differ", typed)
	}
	rec, err := LoadRecord(store, one(t, k))
	if err != nil || rec == nil || rec.Reason != "old release" {
		t.Fatalf("record under the typed path not found: %+v %v", rec, err)
	}
	if changed, err := one(t, k).In(ctx, rec); err != nil || !changed {
		t.Fatalf("in: %v %v", changed, err)
	}
	if err := DeleteRecord(store, one(t, k), rec); err != nil {
		t.Fatal(err)
	}
	if rec, _ := LoadRecord(store, one(t, k)); rec != nil {
		t.Errorf("record left after in: %+v", rec)
	}
}

// A content record written by the current release for an empty page has no
// "original" field (omitempty): it means the page was empty.
func TestOldContentRecordOfAnEmptyPage(t *testing.T) {
	p := page(t, "DOWN")
	var rec state.Record
	old := `{"target":"` + filepath.ToSlash(p) + `","method":"content","path":"` + filepath.ToSlash(p) + `","original_mode":416,"pid":1,"since":"2026-01-01T00:00:00Z","phase":"out"}`
	if err := json.Unmarshal([]byte(old), &rec); err != nil {
		t.Fatal(err)
	}
	k, _ := NewKeepalive(p, "", nil)
	rec.Entries = one(t, k).fromV1(json.RawMessage(old)) // as LoadRecord reads a record without a version
	if changed, err := one(t, k).In(ctx, &rec); err != nil || !changed {
		t.Fatalf("in: %v %v", changed, err)
	}
	if b, _ := os.ReadFile(p); len(b) != 0 {
		t.Errorf("page after in = %q, want empty", b)
	}
}
