package cli

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/cobra/doc"

	"github.com/drain-cli/drain/internal/iostreams"
)

var update = flag.Bool("update", false, "rewrite docs/cli from the commands")

// TestCLIReference keeps docs/cli in step with the commands: it fails when a
// flag or help text changed without `go test ./internal/cli -run CLIReference -update`.
func TestCLIReference(t *testing.T) {
	ios, _, _ := iostreams.Test()
	root := NewRootCmd(NewFactory(ios))
	root.InitDefaultCompletionCmd()
	root.DisableAutoGenTag = true
	gen := t.TempDir()
	if err := doc.GenMarkdownTree(root, gen); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join("..", "..", "docs", "cli")
	if *update {
		if err := os.RemoveAll(want); err != nil {
			t.Fatal(err)
		}
		if err := os.CopyFS(want, os.DirFS(gen)); err != nil {
			t.Fatal(err)
		}
		return
	}
	entries, err := os.ReadDir(gen)
	if err != nil {
		t.Fatal(err)
	}
	have, _ := os.ReadDir(want)
	if len(have) != len(entries) {
		t.Errorf("docs/cli has %d files, the commands make %d: run go test ./internal/cli -run CLIReference -update", len(have), len(entries))
	}
	for _, e := range entries {
		g, _ := os.ReadFile(filepath.Join(gen, e.Name()))
		w, err := os.ReadFile(filepath.Join(want, e.Name()))
		if err != nil || string(g) != string(w) {
			t.Errorf("docs/cli/%s is out of date: run go test ./internal/cli -run CLIReference -update", e.Name())
		}
	}
}
