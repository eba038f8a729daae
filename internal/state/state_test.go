package state

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSaveLoadDelete(t *testing.T) {
	s := Store{Dir: filepath.Join(t.TempDir(), "nested", "state")}
	target := filepath.Join(t.TempDir(), "www", "keepalive.htm")
	if r, err := s.Load(target); r != nil || err != nil {
		t.Fatalf("empty store: %v %v", r, err)
	}
	rec := &Record{Version: RecordVersion, Target: target, Method: "content", Entries: []Entry{{Type: "keepalive", Target: target, Undo: json.RawMessage(`{"original":"T0sA/w=="}`), Changed: true}}, Reason: "release", PID: 42, Since: time.Now().UTC().Truncate(time.Second), Phase: PhaseWaiting}
	if err := s.Save(rec); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(target)
	if err != nil || got == nil || len(got.Entries) != 1 || undoOriginal(got.Entries[0].Undo) != "OK\x00\xff" || !got.Entries[0].Changed || got.Version != RecordVersion || got.Phase != PhaseWaiting || !got.Since.Equal(rec.Since) {
		t.Fatalf("loaded %+v, %v", got, err)
	}
	entries, _ := os.ReadDir(s.Dir)
	if len(entries) != 1 || !strings.HasPrefix(entries[0].Name(), "keepalive.htm-") {
		t.Errorf("state dir holds %v; want one file named after the page, no temp files", entries)
	}
	if fi, _ := os.Stat(filepath.Join(s.Dir, entries[0].Name())); fi.Mode().Perm()&0o077 != 0 && os.PathSeparator == '/' {
		t.Errorf("state file mode %v: readable by others", fi.Mode().Perm())
	}
	if err := s.Delete(target); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(target); err != nil {
		t.Errorf("deleting twice: %v", err)
	}
}

func TestCorruptRecordIsAnError(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	if err := s.Save(&Record{Target: "/x/keepalive.htm"}); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(s.Dir)
	if err := os.WriteFile(filepath.Join(s.Dir, entries[0].Name()), []byte("{trunc"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load("/x/keepalive.htm"); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("err = %v, want a corrupt-state error", err)
	}
}

func TestDistinctTargetsDistinctFiles(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	for _, tg := range []string{"/a/keepalive.htm", "/b/keepalive.htm"} {
		if err := s.Save(&Record{Target: tg}); err != nil {
			t.Fatal(err)
		}
	}
	if entries, _ := os.ReadDir(s.Dir); len(entries) != 2 {
		t.Errorf("two pages with the same name share a state file: %v", entries)
	}
}

func undoOriginal(raw json.RawMessage) string {
	var u struct{ Original []byte }
	_ = json.Unmarshal(raw, &u)
	return string(u.Original)
}
