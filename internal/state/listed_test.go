package state

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/drain-cli/drain/internal/testutil"
)

// TestListedAnswersAsFind: Listed says a target may have a record exactly
// when Find finds its file, in the store's directory or an old one,
// corrupt ones included; a directory that cannot be listed answers true
// for every target (Find then reports it), a missing one false.
func TestListedAnswersAsFind(t *testing.T) {
	tmp := testutil.TempDir(t)
	s := Store{Dir: filepath.Join(tmp, "machine"), Old: []string{filepath.Join(tmp, "user")}}
	for _, r := range []struct{ dir, target string }{{s.Dir, "haproxy:/run/h.sock#web/s1"}, {s.Old[0], "haproxy:/run/h.sock#web/s2"}, {s.Dir, "haproxy:/run/h.sock#web/s3"}} {
		if err := (Store{Dir: r.dir}).Save(&Record{Version: RecordVersion, Target: r.target}); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(s.File("haproxy:/run/h.sock#web/s3"), []byte("{trunc"), 0o600); err != nil {
		t.Fatal(err)
	}
	listed := s.Listed()
	for _, tc := range []struct {
		target string
		want   bool
	}{
		{"haproxy:/run/h.sock#web/s1", true},
		{"haproxy:/run/h.sock#web/s2", true}, // in the old directory
		{"haproxy:/run/h.sock#web/s3", true}, // corrupt: Find says so
		{"haproxy:/run/h.sock#web/s4", false},
		{"haproxy:/run/h.sock#web/s10", false},
	} {
		if got := listed(tc.target); got != tc.want {
			t.Errorf("Listed(%q) = %v, want %v", tc.target, got, tc.want)
		}
		r, _, err := s.Find(tc.target)
		if found := r != nil || err != nil; found != tc.want {
			t.Errorf("Find(%q) = %v, %v: Listed disagrees", tc.target, r, err)
		}
	}
	// Neither directory exists: no records.
	if (Store{Dir: filepath.Join(tmp, "none"), Old: []string{filepath.Join(tmp, "none2")}}).Listed()("haproxy:/run/h.sock#web/s1") {
		t.Error("missing directories: Listed true")
	}
	// A directory that cannot be listed (a file here): Listed must not
	// hide what Find would report (on Linux: not a directory; Windows
	// says the path does not exist, and Find finds nothing either).
	notDir := filepath.Join(tmp, "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	bad := Store{Dir: notDir}
	r, _, err := bad.Find("haproxy:/run/h.sock#web/s4")
	if (r != nil || err != nil) && !bad.Listed()("haproxy:/run/h.sock#web/s4") {
		t.Errorf("unlistable directory: Listed false, Find reports %v", err)
	}
}
