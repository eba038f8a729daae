package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/iostreams"
	"github.com/drain-cli/drain/internal/report"
	"github.com/drain-cli/drain/internal/sink"
	"github.com/drain-cli/drain/internal/usage"
)

const reportHint = "give the NDJSON events of a run: drain run --output json ... > events.ndjson"

func newReportCmd(ios *iostreams.IOStreams) *cobra.Command {
	var out string
	var grace time.Duration
	cmd := &cobra.Command{
		Use:   "report EVENTS.ndjson -o FILE",
		Short: "Draw the timeline of a run from its JSON events (.svg, .html, .md)",
		Long: `Turn the events of a run (drain run|wait|out|in --output json) into a
picture of its timeline: each source's value over time against its threshold,
the stretches it was unknown, the lb-grace window, the stretches where every
source was quiet (the settle window), and marks for out, verify, drained,
the action's start and end, in and timeout. The title says how it ended.

The format follows the extension of -o: .svg (a picture), .html (the picture
and the tables in one self-contained page) or .md (a Markdown summary: the
result, a timeline table and one row per source). EVENTS.ndjson may be - for
standard input. 'drain run --report FILE' writes the same at the end of a run.

The lb-grace window is in the events only while it was the last thing
holding the drain back; when it ended while sources were still busy, give
--lb-grace to draw it.
` + exitStatus("report"),
		Example: `  drain run --output json ... > events.ndjson
  drain report events.ndjson -o timeline.svg
  drain run --output json ... | drain report - -o timeline.html`,
		Args: func(c *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				return usageErr(reportHint, "drain report needs the events file")
			case len(args) > 1:
				return usageErr("drain report EVENTS.ndjson -o FILE", "drain report takes one events file, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			if out == "" {
				return usageErr("add -o timeline.svg (or .html, .md)", "drain report needs -o FILE")
			}
			if err := report.CheckPath(out); err != nil {
				return usage.WithHint(err, "the format follows the extension: .svg, .html or .md")
			}
			if grace < 0 {
				return usageErr("give a duration like 6s", "--lb-grace must not be negative")
			}
			evs, err := readEvents(ios, args[0])
			if err != nil {
				return err
			}
			run := report.Build(evs, report.Options{LBGrace: grace})
			if err := report.WriteFile(out, run); err != nil {
				return fmt.Errorf("write %s: %w", out, err)
			}
			fmt.Fprintf(ios.Out, "wrote %s: %s (%d events, %d %s)\n", out, sink.SanitizeLine(run.Title()), run.Events, len(run.Sources), plural(len(run.Sources), "source"))
			if run.Earlier > 0 {
				fmt.Fprintf(ios.ErrOut, "%s holds %d earlier %s; drawn: the last one\n", args[0], run.Earlier, plural(run.Earlier, "run"))
			}
			return nil
		},
	}
	cmd.Flags().VarP(&metaString{p: &out, meta: "FILE"}, "out", "o", "write the picture to FILE (.svg, .html or .md)")
	cmd.Flags().DurationVar(&grace, "lb-grace", 0, "draw the lb-grace window this long from out when the events do not show it")
	return cmd
}

// readEvents reads and parses the events file; every problem with it is a
// usage error naming the file (and the line).
func readEvents(ios *iostreams.IOStreams, name string) ([]drain.Event, error) {
	var r io.Reader
	if name == "-" {
		r, name = ios.In, "standard input"
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, usageErr(reportHint, "cannot read events file %s: %s", name, pathErr(err))
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil && fi.IsDir() {
			return nil, usageErr(reportHint, "cannot read events file %s: it is a directory", name)
		}
		r = f
	}
	evs, err := report.Parse(r, name)
	var ie *report.InputError
	if errors.As(err, &ie) {
		return nil, usageErr(reportHint, "cannot draw %v", err)
	}
	return evs, err
}

// pathErr is the OS's reason without the repeated path.
func pathErr(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// runReport collects the events of a run for --report and draws them at
// the end. A nil *runReport does nothing.
type runReport struct {
	path  string
	grace time.Duration
	mu    sync.Mutex
	evs   []drain.Event
}

func addReportFlag(cmd *cobra.Command) {
	cmd.Flags().Var(&metaString{meta: "FILE"}, "report", "at the end, draw the run's timeline into FILE (.svg, .html or .md; see drain report)")
}

// newRunReport checks --report before anything changes.
func newRunReport(c *cobra.Command, lbGrace time.Duration) (*runReport, error) {
	f := c.Flags().Lookup("report")
	if f == nil || f.Value.String() == "" {
		return nil, nil
	}
	if err := report.CheckPath(f.Value.String()); err != nil {
		return nil, usage.WithHint(err, "the format follows the extension: .svg, .html or .md")
	}
	return &runReport{path: f.Value.String(), grace: lbGrace}, nil
}

// wrap returns emit, also keeping each event for the picture.
func (rr *runReport) wrap(emit func(drain.Event)) func(drain.Event) {
	if rr == nil {
		return emit
	}
	return func(e drain.Event) {
		if e.Time.IsZero() {
			e.Time = time.Now()
		}
		rr.mu.Lock()
		rr.evs = append(rr.evs, e)
		rr.mu.Unlock()
		emit(e)
	}
}

// write draws the run, with the result event the renderer is about to
// print. A failure is a warning: the run's own outcome and exit code stand,
// and the last line still says where the server is.
func (rr *runReport) write(r *renderer, oc drain.Outcome) {
	if rr == nil {
		return
	}
	rr.mu.Lock()
	evs := append(slices.Clone(rr.evs), redactEvent(r.resultEvent(oc, true)))
	rr.mu.Unlock()
	if err := report.WriteEvents(rr.path, evs, report.Options{LBGrace: rr.grace}); err != nil {
		r.event(drain.Event{Event: drain.EvWarning, Message: fmt.Sprintf("cannot write the report %s: %v", rr.path, err)})
		return
	}
	r.line("report written to " + rr.path)
}

func plural(n int, s string) string {
	if n == 1 {
		return s
	}
	return s + "s"
}
