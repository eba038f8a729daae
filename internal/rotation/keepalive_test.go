package rotation

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/drain-cli/drain/internal/state"
)

var ctx = context.Background()

func page(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keepalive.htm")
	if err := os.WriteFile(p, []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
	return p
}

func saveTo(recs *[]state.Record) func(*state.Record) error {
	return func(r *state.Record) error { *recs = append(*recs, *r); return nil }
}

func TestRenameOutInIdempotent(t *testing.T) {
	p := page(t, "OK")
	k, err := NewKeepalive(p, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var saved []state.Record
	rec := &state.Record{}
	changed, err := one(t, k).Out(ctx, rec, saveTo(&saved))
	if err != nil || !changed {
		t.Fatalf("out: changed=%v err=%v", changed, err)
	}
	if len(saved) != 1 || pageUndo(t, saved[0]).DisabledPath != p+".disabled" || saved[0].Method != MethodRename {
		t.Errorf("record saved before the change = %+v", saved)
	}
	if st, _ := k.Status(ctx); st != Out {
		t.Errorf("status after out = %s", st)
	}
	if changed, err = one(t, k).Out(ctx, &state.Record{}, saveTo(&saved)); err != nil || changed {
		t.Errorf("second out: changed=%v err=%v; want no change, no error", changed, err)
	}
	if changed, err = one(t, k).In(ctx, rec); err != nil || !changed {
		t.Fatalf("in: changed=%v err=%v", changed, err)
	}
	if b, _ := os.ReadFile(p); string(b) != "OK" {
		t.Errorf("page content after in = %q", b)
	}
	if changed, err = one(t, k).In(ctx, nil); err != nil || changed {
		t.Errorf("second in: changed=%v err=%v", changed, err)
	}
}

func TestInUsesRecordedDisabledName(t *testing.T) {
	p := page(t, "OK")
	k1, _ := NewKeepalive(p, "maint-keepalive.htm", nil)
	rec := &state.Record{}
	if _, err := one(t, k1).Out(ctx, rec, func(*state.Record) error { return nil }); err != nil {
		t.Fatal(err)
	}
	k2, _ := NewKeepalive(p, "", nil) // in without --disabled-name
	if changed, err := one(t, k2).In(ctx, rec); err != nil || !changed {
		t.Fatalf("in with the record: changed=%v err=%v", changed, err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Error("page not restored from the recorded disabled name")
	}
}

func TestMissingPageIsAConfigErrorAndChangesNothing(t *testing.T) {
	dir := t.TempDir()
	k, _ := NewKeepalive(filepath.Join(dir, "nope.htm"), "", nil)
	saved := 0
	_, err := one(t, k).Out(ctx, &state.Record{}, func(*state.Record) error { saved++; return nil })
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("err = %v, want ErrConfig", err)
	}
	if saved != 0 {
		t.Error("a record was saved for a page that does not exist")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files created: %v", entries)
	}
}

func TestBothNamesPresentIsAnError(t *testing.T) {
	p := page(t, "OK")
	if err := os.WriteFile(p+".disabled", []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	k, _ := NewKeepalive(p, "", nil)
	if _, err := one(t, k).Out(ctx, &state.Record{}, func(*state.Record) error { return nil }); !errors.Is(err, ErrConfig) {
		t.Fatalf("err = %v, want ErrConfig", err)
	}
	if b, _ := os.ReadFile(p + ".disabled"); string(b) != "old" {
		t.Error("the existing .disabled file was overwritten")
	}
}

func TestContentModeRestoresExactBytes(t *testing.T) {
	orig := "OK\r\n\x00binary\xff tail without newline"
	p := page(t, orig)
	down := "DOWN"
	k, err := NewKeepalive(p, "", &down)
	if err != nil {
		t.Fatal(err)
	}
	var saved []state.Record
	rec := &state.Record{}
	if changed, err := one(t, k).Out(ctx, rec, saveTo(&saved)); err != nil || !changed {
		t.Fatalf("out: %v %v", changed, err)
	}
	if b, _ := os.ReadFile(p); string(b) != down {
		t.Errorf("page after out = %q", b)
	}
	if len(saved) != 1 || string(pageUndo(t, saved[0]).Original) != orig {
		t.Errorf("original not recorded before the change: %+v", saved)
	}
	if st, _ := k.Status(ctx); st != Out {
		t.Errorf("status = %s", st)
	}
	if changed, err := one(t, k).In(ctx, rec); err != nil || !changed {
		t.Fatalf("in: %v %v", changed, err)
	}
	b, _ := os.ReadFile(p)
	if string(b) != orig {
		t.Errorf("restored %q, want %q", b, orig)
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o640 && os.Getenv("GOOS") != "windows" && filepath.Separator == '/' {
		t.Errorf("mode after restore = %v, want 0640", fi.Mode().Perm())
	}
}

func TestContentModeWithoutRecordRefusesToGuess(t *testing.T) {
	p := page(t, "DOWN")
	down := "DOWN"
	k, _ := NewKeepalive(p, "", &down)
	if _, err := one(t, k).In(ctx, nil); !errors.Is(err, ErrConfig) {
		t.Fatalf("err = %v; restoring without the original bytes must fail clearly", err)
	}
}

// one is the Set of one method: the engine's Out/In with a record, for
// tests of one method.
func one(t *testing.T, m Method) *Set {
	t.Helper()
	s, err := NewSet(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// saveIn saves records in store, one file per method.
func saveIn(store state.Store) func(*state.Record) error {
	return func(r *state.Record) error { return SaveRecord(store, r) }
}

// pageUndo is the keep-alive page's undo data in a record.
func pageUndo(t *testing.T, r state.Record) keepaliveUndo {
	t.Helper()
	if len(r.Entries) != 1 {
		t.Fatalf("record has %d entries, want 1: %+v", len(r.Entries), r)
	}
	u, err := decodeKeepalive(r.Entries[0].Undo)
	if err != nil || u == nil {
		t.Fatalf("undo data %s: %v", r.Entries[0].Undo, err)
	}
	return *u
}
