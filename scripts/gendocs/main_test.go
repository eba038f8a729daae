package main

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/action"
	"github.com/drain-cli/drain/internal/cli"
	"github.com/drain-cli/drain/internal/config"
	"github.com/drain-cli/drain/internal/iostreams"
	"github.com/drain-cli/drain/internal/rotation"
	"github.com/drain-cli/drain/internal/source"
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

// readPage is a written man page, unzipped.
func readPage(t *testing.T, dir, name string) string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "man", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// section is the roff of page from ".SH NAME" to the next section.
func section(page, name string) string {
	_, s, ok := strings.Cut(page, "\n.SH "+name+"\n")
	if !ok {
		return ""
	}
	if i := strings.Index(s, "\n.SH "); i >= 0 {
		s = s[:i+1]
	}
	return s
}

// TestManPageSections: every page has an EXIT STATUS section with exactly
// the command's codes (none left in its DESCRIPTION), and drain(1) and the
// pages of commands that read settings have ENVIRONMENT, naming every
// variable drain reads, and FILES, naming the config files and the state
// directories.
func TestManPageSections(t *testing.T) {
	out := filepath.Join(t.TempDir(), "release")
	if err := run(out, "v1.0.0", time.Now()); err != nil {
		t.Fatal(err)
	}
	ios, _, _ := iostreams.Test()
	root := cli.NewRootCmd(cli.NewFactory(ios))
	for _, path := range [][]string{{}, {"run"}, {"out"}, {"in"}, {"wait"}, {"status"}, {"counters"}, {"report"}, {"version"}, {"config", "show"}, {"config", "validate"}} {
		c, _, err := root.Find(path)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.Join(append([]string{"drain"}, path...), "-") + ".1.gz"
		page := readPage(t, out, name)
		exit := section(page, "EXIT STATUS")
		var codes []string
		for _, l := range strings.Split(exit, "\n") {
			if n, ok := strings.CutPrefix(l, ".B "); ok {
				codes = append(codes, n)
			}
		}
		var want []string
		for _, e := range cli.ExitCodes(c) {
			want = append(want, strconv.Itoa(e.Code))
		}
		if len(want) == 0 || strings.Join(codes, " ") != strings.Join(want, " ") {
			t.Errorf("%s: EXIT STATUS lists %v, want %v", name, codes, want)
		}
		if strings.Contains(section(page, "DESCRIPTION"), "EXIT STATUS") {
			t.Errorf("%s: the exit codes are still in the DESCRIPTION", name)
		}
		env, files := section(page, "ENVIRONMENT"), section(page, "FILES")
		if c.Flags().Lookup("config") == nil {
			if env != "" || files != "" {
				t.Errorf("%s reads no settings but has ENVIRONMENT or FILES", name)
			}
			continue
		}
		for _, e := range cli.Environment() {
			if !strings.Contains(env, ".B "+e.Name+"\n") {
				t.Errorf("%s: ENVIRONMENT does not name %s", name, e.Name)
			}
		}
		for _, k := range config.Keys {
			if !strings.Contains(env, ".B "+config.EnvName(k.Name)+"\n") {
				t.Errorf("%s: ENVIRONMENT does not name %s", name, config.EnvName(k.Name))
			}
		}
		for _, f := range []string{"/etc/drain/drain.yaml", `%ProgramData%\edrain\edrain.yaml`, "/var/lib/drain", `%LOCALAPPDATA%\edrain`, "~/.local/state/drain", "--state-dir"} {
			if !strings.Contains(files, f) {
				t.Errorf("%s: FILES does not name %s", name, f)
			}
		}
	}
}

// TestManPagesNameEveryType: the run page lists every source type, rotation
// method and built-in action the registries hold.
func TestManPagesNameEveryType(t *testing.T) {
	out := filepath.Join(t.TempDir(), "release")
	if err := run(out, "v1.0.0", time.Now()); err != nil {
		t.Fatal(err)
	}
	// go-md2man escapes hyphens as \- in some places: compare without.
	page := strings.ReplaceAll(readPage(t, out, "drain-run.1.gz"), `\-`, "-")
	var want []string
	for _, ty := range source.All() {
		want = append(want, ty.Spec())
	}
	for _, ty := range rotation.Types() {
		want = append(want, ty.Name+":"+ty.Syntax)
	}
	want = append(want, action.BuiltinUsages()...)
	for _, w := range want {
		if !strings.Contains(page, w) {
			t.Errorf("drain-run.1 does not name %s", w)
		}
	}
}
