package cli

import (
	"bytes"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/drain-cli/drain/internal/action"
	"github.com/drain-cli/drain/internal/iostreams"
	"github.com/drain-cli/drain/internal/rotation"
	"github.com/drain-cli/drain/internal/source"
)

// Issue 19: the source types, rotation methods and built-in actions that
// --help, docs/cli, the doc pages' tables and the man pages
// (TestHelpNamesEvery*, rotation.TestReadmeRotationTableMatchesRegistry,
// scripts/gendocs TestManPagesNameEveryType) list come from the registries;
// these cover the rest: the README's support matrix and completion.

// TestReadmeSupportMatrixNamesEveryMethod: every rotation method has a row
// of the README's "What it works with" table (`TYPE` in its first cell),
// and the table names no method that is not registered.
func TestReadmeSupportMatrixNamesEveryMethod(t *testing.T) {
	section := docSection(t, "README.md", "## What it works with")
	named := map[string]bool{}
	code := regexp.MustCompile("`([a-z0-9-]+)`")
	for _, l := range strings.Split(section, "\n") {
		cells := strings.Split(l, "|")
		if len(cells) < 4 || !strings.Contains(cells[1], "(`") {
			continue
		}
		for _, m := range code.FindAllStringSubmatch(cells[1], -1) {
			named[m[1]] = true
		}
	}
	for _, ty := range rotation.Types() {
		if !named[ty.Name] {
			t.Errorf("rotation method %s is registered but the README's support matrix (What it works with) has no row naming `%s`", ty.Name, ty.Name)
		}
		delete(named, ty.Name)
	}
	for n := range named {
		t.Errorf("the README's support matrix names `%s`, which is not a registered rotation method", n)
	}
}

// TestReadmeExitCodesAreTheTable: the README's exit-code table has one row
// for each code drain --help lists (commandSpecs), no other.
func TestReadmeExitCodesAreTheTable(t *testing.T) {
	section := docSection(t, "README.md", "## Exit codes")
	var rows []int
	for _, l := range strings.Split(section, "\n") {
		cells := strings.Split(l, "|")
		if len(cells) < 4 {
			continue
		}
		if n, err := strconv.Atoi(strings.TrimSpace(cells[1])); err == nil {
			rows = append(rows, n)
		}
	}
	if want := commandSpecs[""].exits; !slices.Equal(rows, want) {
		t.Errorf("the README's Exit codes table has %v, drain --help %v", rows, want)
	}
}

// complete runs drain __complete ARGS in-process and returns the values it
// offers (without their descriptions).
func complete(t *testing.T, args ...string) []string {
	t.Helper()
	ios, _, _ := iostreams.Test()
	root := NewRootCmd(NewFactory(ios))
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs(append([]string{"__complete"}, args...))
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	var vals []string
	for _, l := range strings.Split(out.String(), "\n") {
		if l == "" || strings.HasPrefix(l, ":") {
			continue
		}
		v, _, _ := strings.Cut(l, "\t")
		vals = append(vals, v)
	}
	return vals
}

// TestCompletionNamesEveryType: completion offers every registered source
// type, rotation method (for --rotate and --pool) and built-in action.
func TestCompletionNamesEveryType(t *testing.T) {
	t.Setenv("DRAIN_STATE_DIR", t.TempDir()) // no records
	sources := complete(t, "run", "--source", "")
	for _, ty := range source.All() {
		if !slices.Contains(sources, ty.Name+":") {
			t.Errorf("completion of --source does not offer %s: (%v)", ty.Name, sources)
		}
	}
	for _, cmd := range [][]string{{"run", "--rotate", ""}, {"in", "--rotate", ""}, {"status", "--pool", ""}} {
		got := complete(t, cmd...)
		for _, ty := range rotation.Types() {
			if !slices.Contains(got, ty.Name+":") {
				t.Errorf("completion of %v does not offer %s: (%v)", cmd, ty.Name, got)
			}
		}
	}
	for _, cmd := range [][]string{{"run", "--action", ""}, {"run", "--keepalive", "x", "--", ""}} {
		got := complete(t, cmd...)
		for _, b := range action.BuiltinTypes() {
			if !slices.Contains(got, b.Name) {
				t.Errorf("completion of %v does not offer the built-in %s: (%v)", cmd, b.Name, got)
			}
		}
	}
}

// TestShellSafe: a record's target offered by completion is one plain word.
func TestShellSafe(t *testing.T) {
	for s, want := range map[string]bool{
		"keepalive:/var/www/html/keepalive.htm":      true,
		`keepalive:C:\inetpub\wwwroot\keepalive.htm`: true,
		"haproxy:/run/haproxy/admin.sock#web/app1":   true,
		"keepalive:/var/www/a;rm -rf x":              false,
		"keepalive:/var/www/$(id)":                   false,
		"keepalive:/var/www/a b":                     false,
		"keepalive:/var/www/a\nb":                    false,
		"keepalive:/var/www/\x1b[2J":                 false,
		`keepalive:/var/www/a\b`:                     false, // a backslash outside a Windows path
		"keepalive:/var/www/é":                       false,
		"":                                           false,
	} {
		if got := shellSafe(s); got != want {
			t.Errorf("shellSafe(%q) = %v, want %v", s, got, want)
		}
	}
}
