// Package cli is drain's command line: cobra commands, flag wiring, rendering
// of events, and the one place where errors become exit codes.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/iostreams"
	"github.com/drain-cli/drain/internal/redact"
	"github.com/drain-cli/drain/internal/rotation"
	"github.com/drain-cli/drain/internal/sink"
	"github.com/drain-cli/drain/internal/suggest"
	"github.com/drain-cli/drain/internal/usage"
)

// version, commit and buildDate are set at release time with -ldflags
// "-X ...cli.version=v1.2.3" (.goreleaser.yaml); a plain go build takes
// what the Go toolchain recorded (the module version, vcs.revision,
// vcs.time).
var (
	version   = ""
	commit    = ""
	buildDate = ""
)

// exitError carries an exit code; reported means the message was already shown.
type exitError struct {
	code     int
	err      error
	hint     string
	reported bool
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// Main runs drain with the process arguments and returns the exit code.
func Main() int { return mainWith(nil) }

// mainWith is Main with the factory changed by tune first (tests: a
// shorter heartbeat); nil changes nothing.
func mainWith(tune func(*Factory)) int {
	ios := iostreams.System()
	f := NewFactory(ios)
	f.args = os.Args[1:]
	if tune != nil {
		tune(f)
	}
	ctx, done, stop := notifySignals(context.Background(), ios.ErrOut)
	defer stop()
	root := NewRootCmd(f)
	root.SetArgs(f.args)
	err := root.ExecuteContext(ctx)
	done()
	var name string
	if cmd, _, ferr := root.Find(f.args); ferr == nil {
		name = cmd.Name()
	}
	drainCmd := name == "run" || name == "out" || name == "in" || name == "wait"
	var ee *exitError
	reported := errors.As(err, &ee) && ee.reported
	code := exitCode(ios, err, !drainCmd)
	bad := ios.OutColors().Bad
	switch {
	case code == drain.ExitOK || reported:
	case f.outputJSON():
		// Bad flags or config in a pipeline reading NDJSON: it still gets
		// its result event.
		resultOnlyJSON(ios, err, code, drainCmd, name != "wait" && name != root.Name())
	case name == "wait":
		fmt.Fprintln(ios.Out, bad("failed: nothing was changed; rotation not changed by drain wait"))
	case drainCmd:
		// Failed before anything could change (bad flags or config): the
		// last line still says where the server stands.
		fmt.Fprintln(ios.Out, bad("failed: nothing was changed; rotation unchanged"))
	}
	return code
}

// resultOnlyJSON writes the result event when the command did not get to
// write one itself.
func resultOnlyJSON(ios *iostreams.IOStreams, err error, code int, drainCmd, rotates bool) {
	ev := drain.Event{Time: time.Now(), Event: drain.EvResult, Result: drain.ResultError, ExitCode: intPtr(code)}
	if drainCmd {
		ev.Changed = boolPtr(false) // it failed before it could change anything
	}
	if rotates {
		ev.Rotation = string(rotation.Unknown) // not read
	}
	if err != nil {
		ev.Error = redact.String(err.Error())
	}
	_ = sink.WriteJSON(ios.Out, ev)
}

// exitCode prints err (one line and a hint) and maps it to an exit code.
// sayUnchanged adds "nothing was changed" to usage errors (drain run, out
// and in say it in their last line instead).
func exitCode(ios *iostreams.IOStreams, err error, sayUnchanged bool) int {
	code := errorCode(err)
	var ee *exitError
	if err == nil || errors.As(err, &ee) && ee.reported {
		return code
	}
	fmt.Fprintf(ios.ErrOut, "%s %s\n", ios.Colors().Bad("drain:"), sink.SanitizeLine(redact.String(err.Error())))
	hint := usage.HintOf(err)
	if ee != nil && ee.hint != "" {
		hint = ee.hint // the command's own, said where it gave the exit code
	}
	if hint != "" {
		fmt.Fprintf(ios.ErrOut, "hint: %s\n", sink.SanitizeLine(redact.String(hint)))
	}
	if code == drain.ExitUsage && sayUnchanged {
		fmt.Fprintln(ios.ErrOut, "nothing was changed")
	}
	return code
}

// NewRootCmd builds the command tree from f.
func NewRootCmd(f *Factory) *cobra.Command {
	ios := f.IOStreams
	root := &cobra.Command{
		Use:   "drain",
		Short: "Take a web server out of rotation, wait until it is idle, then stop it",
		Long: `drain takes a web server out of load-balancer rotation (a keep-alive page the
balancer probes, or the balancer itself), waits until in-flight work has
really finished (polling request counters), runs the stop or recycle
command, and later puts the server back.

Rotation methods (--rotate TYPE:TARGET): ` + rotationTypeList() + `.

Settings come from flags, DRAIN_* environment variables (DRAIN_SETTLE=10s),
a YAML config file (--config or DRAIN_CONFIG), the machine's config file
(/etc/drain/drain.yaml; %ProgramData%\drain\drain.yaml on Windows) when it
exists, then defaults, in that order.
` + exitStatus(""),
		Version:       versionString(),
		SilenceErrors: true,
		SilenceUsage:  true,
		// A word that is no command (drain rn) is a usage error, exit 2,
		// like every other; without one, the help.
		Args: cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return c.Help()
			}
			hint := "see 'drain --help' for the commands"
			if s := suggest.Similar(args[0], commandNames(c), 2); len(s) > 0 {
				hint = "did you mean " + strings.Join(s, " or ") + "? (" + hint + ")"
			}
			return usageErr(hint, "unknown command %q for drain", args[0])
		},
	}
	root.SetOut(ios.Out)
	root.SetErr(ios.ErrOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &usage.Error{Err: err, Hint: fmt.Sprintf("see '%s --help'", c.CommandPath())}
	})
	// The global flags are each command's own (commandSpecs: only where it
	// reads them). The root knows them too, hidden, so that one given
	// before the command (drain --quiet run ...) is not taken for its
	// name; the command then accepts it or refuses it.
	addKeyFlags(root.Flags(), globalKeys)
	for _, k := range globalKeys {
		_ = root.Flags().MarkHidden(k)
	}
	root.AddCommand(
		newRunCmd(f),
		newOutCmd(f),
		newInCmd(f),
		newWaitCmd(f),
		newStatusCmd(f),
		newConfigCmd(f),
		newCountersCmd(f),
		newVersionCmd(f),
		newReportCmd(ios),
	)
	root.SetVersionTemplate("drain {{.Version}}\n")
	registerCompletions(f, root)
	return root
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// buildInfo is what `drain version` says.
type buildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	BuildDate string `json:"build_date"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
}

func currentBuild() buildInfo {
	b := buildInfo{Version: versionString(), Commit: commit, BuildDate: buildDate, GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		dirty := false
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && commit == "":
				b.Commit = s.Value
			case s.Key == "vcs.time" && buildDate == "":
				b.BuildDate = s.Value
			case s.Key == "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if dirty && commit == "" && b.Commit != "" {
			b.Commit += "-dirty"
		}
		if bi.GoVersion != "" {
			b.GoVersion = bi.GoVersion
		}
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	if b.BuildDate == "" {
		b.BuildDate = "unknown"
	}
	return b
}

func newVersionCmd(f *Factory) *cobra.Command {
	ios := f.IOStreams
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, build date, Go version and OS/arch",
		Long: `Print the version, the commit and date it was built from, the Go version
and the OS/architecture. --output json prints them as one JSON object.
` + exitStatus("version"),
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			out := f.Getenv("DRAIN_OUTPUT")
			if fl := c.Flags().Lookup("output"); fl != nil && fl.Changed {
				out = fl.Value.String()
			}
			b := currentBuild()
			switch strings.ToLower(out) {
			case "json":
				return sink.WriteJSON(ios.Out, b)
			case "", "text":
				fmt.Fprintf(ios.Out, "drain %s\ncommit %s\nbuilt %s\n%s %s/%s\n", b.Version, b.Commit, b.BuildDate, b.GoVersion, b.OS, b.Arch)
				return nil
			}
			return usageErr("use --output text or --output json", "--output %q is not text or json", out)
		},
	}
	addSpecFlags(cmd, "version")
	return cmd
}

// commandNames are the names of root's commands, for a did-you-mean.
func commandNames(root *cobra.Command) []string {
	var names []string
	for _, c := range root.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	return names
}

// usageErr is a usage error found by the CLI itself (internal/usage).
func usageErr(hint, format string, a ...any) error {
	return usage.New(hint, format, a...)
}
