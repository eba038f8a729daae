package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/drain-cli/drain/internal/action"
	"github.com/drain-cli/drain/internal/config"
	"github.com/drain-cli/drain/internal/rotation"
	"github.com/drain-cli/drain/internal/source"
)

// Shell completion of flag values (drain completion bash|zsh|fish|powershell
// ask `drain __complete ...`): the fixed words of --output, --on-timeout
// and --ci, files by extension (--config, --report, report's), the TYPE: prefixes of --source, --rotate, --pool and --lock from
// the registries, the built-in actions, and for in and status the
// TYPE:TARGET of every record drain holds on this machine.

// enumValues are the words of the flags that take one of a few.
var enumValues = map[string][]string{
	"output":     {"text\thuman output on stderr, the final line on stdout", "json\tnewline-delimited JSON events on stdout"},
	"on-timeout": {"fail\tdo not run the action", "force\trun the action anyway, loudly"},
	"ci":         {"auto\tfrom GITHUB_ACTIONS / TF_BUILD", "github\tGitHub Actions", "azure\tAzure Pipelines", "off\tno CI output"},
}

// registerCompletions gives every flag of the tree that has known values
// its completion function.
func registerCompletions(f *Factory, root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		reg := func(name string, fn cobra.CompletionFunc) {
			if c.Flags().Lookup(name) != nil {
				_ = c.RegisterFlagCompletionFunc(name, fn)
			}
		}
		for name, words := range enumValues {
			reg(name, fixed(words, cobra.ShellCompDirectiveNoFileComp))
		}
		path := specPath(c)
		held := path == "in" || path == "status"
		reg("source", completeSource)
		reg("rotate", func(c *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			var out []cobra.Completion
			if held {
				out = heldSpecs(f, c, toComplete)
			}
			return append(out, rotationPrefixes(rotation.Types(), toComplete)...), cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
		})
		reg("pool", func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return rotationPrefixes(rotation.Types(), toComplete), cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
		})
		reg("lock", fixed([]string{"etcd:\tetcd v3 client URLs, etcd:http://HOST:2379"}, cobra.ShellCompDirectiveNoSpace|cobra.ShellCompDirectiveNoFileComp))
		reg("action", func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return builtinNames(toComplete), cobra.ShellCompDirectiveDefault
		})
		reg("state-dir", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveFilterDirs
		})
		exts := func(e ...string) cobra.CompletionFunc {
			return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
				return e, cobra.ShellCompDirectiveFilterFileExt
			}
		}
		reg(configFlag, exts("yaml", "yml"))
		reg("report", exts("svg", "html", "md"))
		if path == "report" {
			reg("out", exts("svg", "html", "md"))
			c.ValidArgsFunction = func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
				if len(args) > 0 {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return []cobra.Completion{"ndjson", "json"}, cobra.ShellCompDirectiveFilterFileExt
			}
		}
		if path == "run" {
			// The first word after --: a built-in, or a program.
			c.ValidArgsFunction = func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
				if c.ArgsLenAtDash() == 0 && len(args) == 0 {
					return builtinNames(toComplete), cobra.ShellCompDirectiveDefault
				}
				return nil, cobra.ShellCompDirectiveDefault
			}
		}
	}
	walk(root)
}

// fixed offers the words ("word\tdescription") that start with what is typed.
func fixed(words []string, d cobra.ShellCompDirective) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []cobra.Completion
		for _, w := range words {
			if strings.HasPrefix(w, toComplete) {
				out = append(out, w)
			}
		}
		return out, d
	}
}

// completeSource offers the source types as TYPE:, after a NAME= too.
func completeSource(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	name := ""
	if i := strings.IndexByte(toComplete, '='); i >= 0 && !strings.Contains(toComplete[:i], ":") {
		name, toComplete = toComplete[:i+1], toComplete[i+1:]
	}
	var out []cobra.Completion
	for _, t := range source.All() {
		if !strings.HasPrefix(t.Name+":", toComplete) && !strings.HasPrefix(toComplete, t.Name+":") {
			continue
		}
		desc := t.Summary
		if t.OS == "windows" {
			desc += " (Windows)"
		}
		out = append(out, cobra.CompletionWithDesc(name+t.Name+":", t.Syntax+": "+desc))
	}
	return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
}

// rotationPrefixes are the rotation types as TYPE:, with their syntax and
// summary.
func rotationPrefixes(types []rotation.Type, toComplete string) []cobra.Completion {
	var out []cobra.Completion
	for _, t := range types {
		if strings.HasPrefix(t.Name+":", toComplete) || strings.HasPrefix(toComplete, t.Name+":") {
			out = append(out, cobra.CompletionWithDesc(t.Name+":", t.Syntax+": "+t.Summary))
		}
	}
	return out
}

// builtinNames are the built-in actions, for --action and the word after --.
func builtinNames(toComplete string) []cobra.Completion {
	var out []cobra.Completion
	for _, b := range action.BuiltinTypes() {
		if !strings.HasPrefix(b.Name, toComplete) {
			continue
		}
		desc := b.Summary
		if b.OS != "" {
			desc += " (" + osName(b.OS) + ")"
		}
		out = append(out, cobra.CompletionWithDesc(b.Name, desc))
	}
	return out
}

// heldSpecs are the TYPE:TARGET of the records drain holds on this machine
// (what drain status lists), for in and status --rotate. A record's target
// comes from a file in a shared directory: one that a shell would read as
// more than one word, or as anything but text, is not offered.
func heldSpecs(f *Factory, c *cobra.Command, toComplete string) []cobra.Completion {
	dir := flagString(c, "state-dir")
	if dir == "" {
		dir = f.Getenv(config.EnvName("state-dir"))
	}
	store, dirs, err := recordStore(&config.Config{StateDir: dir})
	if err != nil {
		return nil
	}
	runs, _ := heldRuns(store, dirs)
	var out []cobra.Completion
	for _, h := range runs {
		if h.untrusted != nil {
			continue
		}
		for _, spec := range h.specs() {
			if shellSafe(spec) && strings.HasPrefix(spec, toComplete) {
				out = append(out, cobra.CompletionWithDesc(spec, "held: out since "+h.rec.Since.Local().Format("2006-01-02 15:04")))
			}
		}
	}
	return out
}

// shellSafe: printable ASCII, no space, nothing a shell expands, quotes or
// splits on (a Windows page's backslashes excepted).
func shellSafe(s string) bool {
	winPath := isWindowsPath(s)
	for _, r := range s {
		switch {
		case r <= ' ' || r >= 0x7f:
			return false
		case r == '\\' && winPath:
		case strings.ContainsRune("\"'`$\\;&|<>(){}*?!~%^", r):
			return false
		}
	}
	return s != ""
}

// isWindowsPath: a record of a Windows page, keepalive:C:\inetpub\...
func isWindowsPath(s string) bool {
	_, t, ok := strings.Cut(s, ":")
	return ok && len(t) > 2 && t[1] == ':' && t[2] == '\\'
}
