package cli

import (
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/drain-cli/drain/internal/auditlog"
	"github.com/drain-cli/drain/internal/iostreams"
	"github.com/drain-cli/drain/internal/source/pdh"
)

// Factory is what every command is built from (like gh's cmdutil.Factory):
// the streams, the clock, the environment and the audit trail. Tests give
// their own instead of overwriting package variables.
type Factory struct {
	IOStreams *iostreams.IOStreams
	Now       func() time.Time
	Getenv    func(string) string
	// OpenAudit opens the audit trail (the Windows Event Log); nil and a
	// warning when it cannot.
	OpenAudit func() (auditlog.Log, string)
	// PerfNames loads the localized-to-English counter names (Windows).
	PerfNames func() (*pdh.Names, error)

	args []string // the command line, for errors before flags are parsed
}

// NewFactory returns the factory of a real process on ios.
func NewFactory(ios *iostreams.IOStreams) *Factory {
	return &Factory{IOStreams: ios, Now: time.Now, Getenv: os.Getenv, OpenAudit: auditlog.Open, PerfNames: loadPerfNames}
}

// newRenderer returns the event renderer of one command.
func (f *Factory) newRenderer(asJSON bool, command string) *renderer {
	r := newRenderer(f.IOStreams, asJSON, command)
	r.now = f.Now
	return r
}

// outputJSON tells whether --output json (the root's persistent flag, or a
// command's own) or DRAIN_OUTPUT=json was asked for, for an error raised
// before the command could set up its sinks: a flag error stops parsing, so
// the flag is read here from the whole command line, unknown flags allowed.
func (f *Factory) outputJSON() bool {
	fs := pflag.NewFlagSet("output", pflag.ContinueOnError)
	fs.ParseErrorsAllowlist.UnknownFlags = true
	fs.SetOutput(io.Discard)
	out := fs.String("output", "", "")
	if err := fs.Parse(f.args); err == nil && fs.Changed("output") {
		return strings.EqualFold(*out, "json")
	}
	return strings.EqualFold(f.Getenv("DRAIN_OUTPUT"), "json")
}
