package main

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The file names .goreleaser.yaml packages (nfpm contents, archive files):
// a rename here must fail this test, not ship a package without them.
func TestWritesWhatThePackagesShip(t *testing.T) {
	out := filepath.Join(t.TempDir(), "release")
	// Left over from an earlier run: must be gone.
	if err := os.MkdirAll(filepath.Join(out, "man"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "man", "drain-gone.1.gz"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	when := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	if err := run(out, "v9.8.7", when); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "man", "drain-gone.1.gz")); !os.IsNotExist(err) {
		t.Errorf("a page from an earlier run survived: %v", err)
	}
	for _, page := range []string{"drain.1.gz", "drain-run.1.gz", "drain-in.1.gz", "drain-out.1.gz", "drain-status.1.gz", "drain-version.1.gz"} {
		f, err := os.Open(filepath.Join(out, "man", page))
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", page, err)
		}
		if !zr.ModTime.Equal(when) {
			t.Errorf("%s: gzip time %v, want %v (the same bytes for the same commit)", page, zr.ModTime, when)
		}
		b, err := io.ReadAll(zr)
		_ = f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), ".nh\n.TH \"DRAIN\" \"1\" \"Mar 2026\" \"drain v9.8.7\"") {
			t.Errorf("%s starts %q", page, string(b)[:min(len(b), 80)])
		}
	}
	for name, want := range map[string]string{
		"drain.bash": "# bash completion V2 for drain",
		"_drain":     "#compdef drain",
		"drain.fish": "# fish completion for drain",
		"drain.ps1":  "# powershell completion for drain",
	} {
		b, err := os.ReadFile(filepath.Join(out, "completions", name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), want) {
			t.Errorf("completions/%s starts %q, want %q", name, string(b)[:min(len(b), 40)], want)
		}
	}
}
