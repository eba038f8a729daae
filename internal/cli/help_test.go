package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/drain-cli/drain/internal/action"
	"github.com/drain-cli/drain/internal/iostreams"
	"github.com/drain-cli/drain/internal/rotation"
	"github.com/drain-cli/drain/internal/source"
)

// docSection is the text of the page file (docs/sources.md, relative to
// the repository) from the heading head to the next heading of any level.
func docSection(t *testing.T, file, head string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(file)))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	start := strings.Index(text, "\n"+head+"\n")
	if start < 0 {
		t.Fatalf("%s has no %s", file, head)
	}
	section := text[start+len(head)+2:]
	if end := strings.Index(section, "\n#"); end >= 0 {
		section = section[:end]
	}
	return section
}

// tableTypes is the first cell of every table row that is code: `TYPE`.
func tableTypes(section string) map[string]bool {
	out := map[string]bool{}
	for _, l := range strings.Split(section, "\n") {
		cells := strings.Split(l, "|")
		if len(cells) < 4 {
			continue
		}
		if c := strings.TrimSpace(cells[1]); strings.HasPrefix(c, "`") {
			out[strings.Trim(c, "`")] = true
		}
	}
	return out
}

func runCmdForHelp(t *testing.T) (root, run *cobra.Command) {
	t.Helper()
	ios, _, _ := iostreams.Test()
	root = NewRootCmd(NewFactory(ios))
	run, _, err := root.Find([]string{"run"})
	if err != nil {
		t.Fatal(err)
	}
	return root, run
}

func docsRun(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "cli", "drain_run.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestHelpNamesEverySourceType: every registered source type is in the
// --source help, in docs/cli and in a row of the Sources tables (docs/sources.md),
// and those tables name no type that is not registered.
func TestHelpNamesEverySourceType(t *testing.T) {
	_, run := runCmdForHelp(t)
	help := run.Flags().Lookup("source").Usage
	docs := docsRun(t)
	rows := tableTypes(docSection(t, "docs/sources.md", "## Sources"))
	if len(source.All()) < 10 {
		t.Fatalf("only %d source types registered", len(source.All()))
	}
	for _, ty := range source.All() {
		if !strings.Contains(help, ty.Spec()) {
			t.Errorf("--source help does not list %s: %s", ty.Spec(), help)
		}
		if !strings.Contains(docs, ty.Spec()) {
			t.Errorf("docs/cli/drain_run.md does not list %s: run go test ./internal/cli -run CLIReference -update", ty.Spec())
		}
		if !rows[ty.Name] {
			t.Errorf("source type %s is registered but has no row in the Sources tables of docs/sources.md", ty.Name)
		}
		delete(rows, ty.Name)
	}
	for name := range rows {
		t.Errorf("the Sources tables of docs/sources.md have %s, which is not a registered source type", name)
	}
}

// TestHelpNamesEveryRotationType: every rotation method is in the --rotate
// help, the root, out and in help and docs/cli (docs/balancers.md's table is
// rotation.TestReadmeRotationTableMatchesRegistry).
func TestHelpNamesEveryRotationType(t *testing.T) {
	root, run := runCmdForHelp(t)
	out, _, err := root.Find([]string{"out"})
	if err != nil {
		t.Fatal(err)
	}
	in, _, err := root.Find([]string{"in"})
	if err != nil {
		t.Fatal(err)
	}
	help := run.Flags().Lookup("rotate").Usage
	docs := docsRun(t)
	for _, ty := range rotation.Types() {
		spec := ty.Name + ":" + ty.Syntax
		if !strings.Contains(help, spec) {
			t.Errorf("--rotate help does not list %s: %s", spec, help)
		}
		if !strings.Contains(docs, spec) {
			t.Errorf("docs/cli/drain_run.md does not list %s: run go test ./internal/cli -run CLIReference -update", spec)
		}
		for _, c := range []*cobra.Command{root, out, in} {
			if !strings.Contains(c.Long, ty.Name) {
				t.Errorf("the help of %s does not name %s", c.CommandPath(), ty.Name)
			}
		}
	}
}

// TestHelpNamesEveryBuiltin: every built-in action, as it is written, is in
// the --action help, the run help, docs/cli and docs/usage.md's Actions.
func TestHelpNamesEveryBuiltin(t *testing.T) {
	_, run := runCmdForHelp(t)
	help := run.Flags().Lookup("action").Usage
	docs := docsRun(t)
	readme := docSection(t, "docs/usage.md", "## Actions")
	if len(action.BuiltinUsages()) < 6 {
		t.Fatalf("only %d built-ins registered", len(action.BuiltinUsages()))
	}
	for _, b := range action.BuiltinTypes() {
		if b.Summary == "" || !strings.Contains(run.Long, b.Usage()+" (Windows): "+b.Summary) && !strings.Contains(run.Long, b.Usage()+": "+b.Summary) {
			t.Errorf("run help does not give %s its summary %q", b.Name, b.Summary)
		}
	}
	for _, b := range action.BuiltinUsages() {
		for what, text := range map[string]string{"--action help": help, "run help": run.Long, "docs/cli/drain_run.md": docs, "docs/usage.md Actions": readme} {
			if !strings.Contains(text, b) {
				t.Errorf("%s does not name the built-in %q", what, b)
			}
		}
	}
}
