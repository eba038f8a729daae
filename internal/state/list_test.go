package state

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/testutil"
)

// TestListReadsEveryDirectory (issue 19): List finds the records of the
// store's directory, its old ones and extra ones, oldest first; it skips
// temporary files and locks, and refuses a record saved under another
// record's name, as Find does.
func TestListReadsEveryDirectory(t *testing.T) {
	tmp := testutil.TempDir(t) // Wine: t.TempDir's cleanup fails on a directory with files
	s := Store{Dir: filepath.Join(tmp, "machine"), Old: []string{filepath.Join(tmp, "user")}}
	extra := filepath.Join(tmp, "extra")
	now := time.Now()
	for i, d := range []string{extra, s.Old[0], s.Dir} {
		r := &Record{Version: RecordVersion, Target: "keepalive:/srv/" + d, PID: 1, Since: now.Add(time.Duration(i) * time.Minute)}
		if err := (Store{Dir: d}).Save(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(s.Dir, ".x.json.tmp1"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	lk, _, err := s.Lock("keepalive:/srv/lock", Holder{PID: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Release() // an open lock file cannot be removed on Windows
	found, err := s.List(extra, "", s.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 3 {
		t.Fatalf("found %d records, want 3: %+v", len(found), found)
	}
	for i, want := range []string{extra, s.Old[0], s.Dir} {
		if f := found[i]; f.Err != nil || f.Record == nil || filepath.Dir(f.File) != want || f.Record.Files[0] != f.File {
			t.Errorf("record %d: %+v, want the one in %s, oldest first", i, f, want)
		}
	}

	// A record copied onto another name is refused, and said so.
	if err := os.Rename(found[2].File, filepath.Join(s.Dir, "other-000000000000.json")); err != nil {
		t.Fatal(err)
	}
	found, _ = s.List()
	var ue *UntrustedFileError
	n := 0
	for _, f := range found {
		if f.Record == nil {
			n++
			if !errors.As(f.Err, &ue) {
				t.Errorf("moved record: %v, want an UntrustedFileError", f.Err)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d refused records, want 1: %+v", n, found)
	}
}
