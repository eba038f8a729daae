package cli

import (
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/drain-cli/drain/internal/iostreams"
)

// TestCommandHelpFollowsTheTable: every command's flags are exactly its
// row of commandSpecs (the settings it reads and its own flags), none
// inherited from the root, and its help ends with the EXIT STATUS of its
// row; the table has no row for a command that does not exist.
func TestCommandHelpFollowsTheTable(t *testing.T) {
	ios, _, _ := iostreams.Test()
	root := NewRootCmd(NewFactory(ios))
	root.InitDefaultCompletionCmd()
	seen := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		path := specPath(c)
		if path == "help" || strings.HasPrefix(path, "completion") {
			return // cobra's own
		}
		seen[path] = true
		spec, ok := commandSpecs[path]
		if !ok {
			t.Errorf("drain %s is not in commandSpecs", path)
			return
		}
		var shown []string
		visible := func(fl *pflag.Flag) {
			if !fl.Hidden && fl.Name != "help" && fl.Name != "version" && !slices.Contains(shown, fl.Name) {
				shown = append(shown, fl.Name)
			}
		}
		c.LocalFlags().VisitAll(visible)
		c.InheritedFlags().VisitAll(visible)
		want := concat(spec.keys, spec.own)
		slices.Sort(shown)
		slices.Sort(want)
		if !slices.Equal(shown, want) {
			t.Errorf("drain %s shows flags %v, its row says %v", path, shown, want)
		}
		if c.InheritedFlags().HasAvailableFlags() {
			t.Errorf("drain %s inherits flags from its parents: each command lists its own", path)
		}
		if !strings.HasSuffix(c.Long, exitStatus(path)) {
			t.Errorf("the help of drain %s does not end with its EXIT STATUS:\n%s", path, c.Long)
		}
		for _, code := range spec.exits {
			if exitMeanings[code] == "" {
				t.Errorf("drain %s: exit code %d has no meaning", path, code)
			}
		}
	}
	walk(root)
	for path := range commandSpecs {
		if !seen[path] {
			t.Errorf("commandSpecs has %q, which is no command", path)
		}
	}
}

// TestEveryExitCodeIsSomeonesCode: the root's overview lists every code a
// command can return, and only those.
func TestEveryExitCodeIsSomeonesCode(t *testing.T) {
	used := map[int]bool{}
	for path, spec := range commandSpecs {
		if path == "" {
			continue
		}
		for _, c := range spec.exits {
			used[c] = true
		}
	}
	for _, c := range commandSpecs[""].exits {
		if !used[c] {
			t.Errorf("drain --help lists exit %d, which no command returns", c)
		}
		delete(used, c)
	}
	for c := range used {
		t.Errorf("exit %d is returned by a command but not in drain --help", c)
	}
}

// TestNoBacktickInFlagUsage: cobra's completion descriptions (zsh, fish,
// PowerShell) show a flag's usage as written, where --help takes a
// `NAME` out of its backticks: no usage of any command holds one.
func TestNoBacktickInFlagUsage(t *testing.T) {
	ios, _, _ := iostreams.Test()
	root := NewRootCmd(NewFactory(ios))
	root.InitDefaultCompletionCmd()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(fl *pflag.Flag) {
			if strings.Contains(fl.Usage, "`") {
				t.Errorf("drain %s --%s: usage has a backtick: %s", specPath(c), fl.Name, fl.Usage)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
