package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/drain-cli/drain/internal/config"
	"github.com/drain-cli/drain/internal/drain"
)

// One table says, for every command, which settings it reads (its flags:
// config.Keys, plus configFlag) and which exit codes it can return. The
// flags, the EXIT STATUS of --help and docs/cli, and the man pages'
// EXIT STATUS sections are made from it, never written per page, so that a
// command shows no flag it ignores (it would be accepted and do nothing)
// and no code it cannot return (TestCommandHelpFollowsTheTable).
//
// A key is listed for a command only when that command's code reads the
// value: a key of the config file or DRAIN_* that a command does not read is
// fine there (a file shared with run), but as a flag it is refused.

// configFlag is --config: the config file, not itself a setting.
const configFlag = "config"

// Key groups shared by several commands.
var (
	rotationKeys = []string{"rotate", "keepalive", "haproxy", "disabled-name", "down-content", "verify-url", "reason", "state-dir"}
	sourceKeys   = []string{"source", "interval", "settle", "timeout", "lb-grace", "bearer-token-file", "basic-auth-file"}
	// connKeys reach sources and load-balancer APIs alike (f5, aws-elb,
	// apache, haproxy over TCP): out and in talk to the balancer too.
	connKeys   = []string{"read-timeout", "ca-file", "insecure"}
	actionKeys = []string{"on-timeout", "keep-out", "action", "action-timeout", "shell"}
	// globalKeys are read by every command that loads settings and reports.
	globalKeys = []string{configFlag, "output", "quiet", "verbose"}
	// budgetKeys: run and out, the disruption budget.
	budgetKeys = []string{"min-in-rotation", "wait-turn", "lock", "pool"}
)

// cmdSpec is one command's row of the table.
type cmdSpec struct {
	keys  []string // config.Keys names (and configFlag) its flags are
	own   []string // flags the command defines itself (not settings)
	exits []int    // what it can return, in order
}

// Exit codes of the table (drain.Exit* and exitOut).
var (
	exitsDrainAll = []int{drain.ExitOK, drain.ExitError, drain.ExitUsage, drain.ExitTimeout, drain.ExitAction, drain.ExitRefused, exitOut, drain.ExitInterrupted}
	exitsSimple   = []int{drain.ExitOK, drain.ExitError, drain.ExitUsage}
)

// commandSpecs is the table, by command path without "drain " ("" is the
// root, "config show" a subcommand).
var commandSpecs = map[string]cmdSpec{
	"": {exits: exitsDrainAll},
	"run": {
		keys:  concat(rotationKeys, sourceKeys, []string{"allow-unread-source"}, connKeys, actionKeys, budgetKeys, []string{"dry-run", "ci"}, globalKeys),
		own:   []string{"report"},
		exits: []int{drain.ExitOK, drain.ExitError, drain.ExitUsage, drain.ExitTimeout, drain.ExitAction, drain.ExitRefused, drain.ExitInterrupted},
	},
	"out": {
		keys:  concat(rotationKeys, connKeys, []string{"timeout", "interval", "keep-out"}, budgetKeys, []string{"dry-run", "ci"}, globalKeys),
		exits: []int{drain.ExitOK, drain.ExitError, drain.ExitUsage, drain.ExitTimeout, drain.ExitRefused, drain.ExitInterrupted},
	},
	"in": {
		keys:  concat(rotationKeys, connKeys, []string{"timeout", "interval", "wait-healthy", "warm-up", "warm-up-count", "force-restore", "lock", "pool", "lb-grace", "dry-run", "ci"}, globalKeys),
		own:   []string{"all"},
		exits: []int{drain.ExitOK, drain.ExitError, drain.ExitUsage, drain.ExitTimeout, drain.ExitInterrupted},
	},
	"wait": {
		keys:  concat([]string{"verify-url"}, sourceKeys, connKeys, []string{"ci"}, globalKeys),
		exits: []int{drain.ExitOK, drain.ExitError, drain.ExitUsage, drain.ExitTimeout, drain.ExitInterrupted},
	},
	// status reads the rotation methods (not --verify-url, which only out
	// and in check, nor --reason, which only a change records), one read
	// of each source, and with --pool the pool and its etcd records.
	"status": {
		keys:  concat([]string{"rotate", "keepalive", "haproxy", "disabled-name", "down-content", "state-dir", "source", "interval", "read-timeout", "ca-file", "insecure", "bearer-token-file", "basic-auth-file", "watch", "lock"}, globalKeys),
		own:   []string{"pool"},
		exits: []int{drain.ExitOK, drain.ExitError, drain.ExitUsage, exitOut},
	},
	// config validate and show read every setting: checking and showing them
	// is what they do.
	"config validate": {keys: concat(allKeys(), []string{configFlag}), exits: exitsSimple},
	"config show":     {keys: concat(allKeys(), []string{configFlag}), exits: exitsSimple},
	"config":          {exits: []int{drain.ExitOK, drain.ExitUsage}},
	"counters":        {own: []string{"url"}, exits: exitsSimple},
	"report":          {own: []string{"out", "lb-grace"}, exits: exitsSimple},
	"version":         {keys: []string{"output"}, exits: []int{drain.ExitOK, drain.ExitUsage}},
}

// exitMeanings say what each code means, once for every command.
var exitMeanings = map[int]string{
	drain.ExitOK:      "done (drained and the action succeeded, or the command did its job)",
	drain.ExitError:   "runtime error (a change failed, the state could not be read, ...)",
	drain.ExitUsage:   "usage or config error: nothing was changed",
	drain.ExitTimeout: "not drained before --timeout (or not healthy before it, for in --wait-healthy)",
	drain.ExitAction:  "the action ran and failed; the server stays OUT of rotation",
	drain.ExitRefused: "refused by the disruption budget (--min-in-rotation; after --wait-turn\n       if given): nothing was changed",
	exitOut:           "a server is OUT of rotation (drain status without rotation flags)",
	drain.ExitInterrupted: "interrupted (Ctrl-C, SIGTERM, SIGHUP, SIGQUIT; on Windows also Ctrl-Break,\n" +
		"       closing the console): put back unless the action started or\n       --keep-out",
}

// ExitStatusHeading starts the EXIT STATUS block at the end of a command's
// long help (scripts/gendocs moves it into the man page's own section).
const ExitStatusHeading = "EXIT STATUS"

// ExitCode is one code a command can return and what it means.
type ExitCode struct {
	Code    int
	Meaning string // may hold newlines (indented continuation lines)
}

// ExitCodes are the codes the command can return, from the table; nil for a
// command that is not in it (cobra's own completion commands).
func ExitCodes(c *cobra.Command) []ExitCode {
	spec, ok := commandSpecs[specPath(c)]
	if !ok {
		return nil
	}
	out := make([]ExitCode, len(spec.exits))
	for i, code := range spec.exits {
		out[i] = ExitCode{code, exitMeanings[code]}
	}
	return out
}

// specPath is c's path without the root's name: "run", "config show".
func specPath(c *cobra.Command) string {
	var parts []string
	for ; c != nil && c.HasParent(); c = c.Parent() {
		parts = append([]string{c.Name()}, parts...)
	}
	return strings.Join(parts, " ")
}

// exitStatus is the EXIT STATUS block of a command's long help.
func exitStatus(path string) string {
	spec, ok := commandSpecs[path]
	if !ok {
		panic("cli: command " + path + " is not in commandSpecs")
	}
	var b strings.Builder
	b.WriteString("\n" + ExitStatusHeading + "\n")
	for _, code := range spec.exits {
		fmt.Fprintf(&b, "  %-4d %s\n", code, exitMeanings[code])
	}
	return b.String()
}

// addSpecFlags gives the command at path the flags of its row.
func addSpecFlags(cmd *cobra.Command, path string) {
	spec, ok := commandSpecs[path]
	if !ok {
		panic("cli: command " + path + " is not in commandSpecs")
	}
	addKeyFlags(cmd.Flags(), spec.keys)
}

// addKeyFlags adds the flags of keys (config.Keys names and configFlag).
func addKeyFlags(fs *pflag.FlagSet, keys []string) {
	for _, k := range keys {
		if k == configFlag {
			fs.Var(&metaString{meta: "FILE"}, configFlag, "YAML config FILE (or DRAIN_CONFIG)")
			continue
		}
		config.AddFlags(fs, k)
	}
}

// metaString is a string flag whose value is named meta in --help and whose
// usage has no backticks: cobra's completion descriptions show a usage as
// it is written, backticks and all.
type metaString struct {
	p    *string
	s    string
	meta string
}

func (v *metaString) String() string {
	if v.p != nil {
		return *v.p
	}
	return v.s
}

func (v *metaString) Set(s string) error {
	if v.p != nil {
		*v.p = s
	}
	v.s = s
	return nil
}

func (v *metaString) Type() string { return v.meta }

func allKeys() []string {
	out := make([]string, len(config.Keys))
	for i, k := range config.Keys {
		out[i] = k.Name
	}
	return out
}

func concat(groups ...[]string) []string {
	var out []string
	for _, g := range groups {
		for _, k := range g {
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	return out
}

// flagString is the value of the command's flag name, "" when it has none
// (pflag's GetString refuses a flag whose value is not a plain string).
func flagString(c *cobra.Command, name string) string {
	if fl := c.Flags().Lookup(name); fl != nil {
		return fl.Value.String()
	}
	return ""
}
