package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/iostreams"
	"github.com/drain-cli/drain/internal/rotation"
	"github.com/drain-cli/drain/internal/sink"
	"github.com/drain-cli/drain/internal/state"
	"github.com/drain-cli/drain/internal/usage"
)

// statusReport is what `drain status` shows, also as its JSON event.
type statusReport struct {
	Time     time.Time       `json:"time"`
	Event    string          `json:"event"` // "status"
	Target   string          `json:"target,omitempty"`
	Rotation string          `json:"rotation,omitempty"`
	Error    string          `json:"error,omitempty"`
	Hint     string          `json:"hint,omitempty"` // what to do about Error (a denied socket: the group)
	Record   *state.Record   `json:"record,omitempty"`
	Holder   string          `json:"holder,omitempty"` // running | gone, for a record left mid-run
	Sources  []drain.Reading `json:"sources,omitempty"`
	// Requests executing in the IIS pools/sites among the sources, longest first.
	Requests      []drain.Request `json:"requests,omitempty"`
	RequestsError string          `json:"requests_error,omitempty"`
	listed        bool            // the sources include IIS pools/sites
	// Where each instance or method stands when they disagree (MIXED).
	Parts []rotation.Part `json:"parts,omitempty"`

	// OldRecordFile is set when the record was found where an older drain
	// kept records (the per-user state directory).
	OldRecordFile string `json:"old_record_file,omitempty"`
}

func newStatusCmd(f *Factory) *cobra.Command {
	ios := f.IOStreams
	cmd := &cobra.Command{
		Use:   "status [flags]",
		Short: "Show rotation state, who changed it and why, and current source values",
		Long: `Show whether the server is IN or OUT of rotation, the record of the change
(who, when, why, and how far a run got, even one that crashed), and one read
of every --source. --watch refreshes every --interval until interrupted.

Without rotation flags or --source it lists every record drain holds on this
machine (this account's state directory, the machine-wide one and the
per-user ones older drains used), one row per run: the live state read from
its balancer next to what the record says, method, target, since when, by
whom, why and how far the run got, with a warning where the two disagree.
It exits 6 when a server is OUT of rotation (drain status && deploy), 1
when one could not be read, 0 when every one is IN or there is no record.

With --pool TYPE:TARGET it shows every server of a load balancer's pool
instead: rotation, admin state, health, sessions and queue as the balancer
reports them, and who took each out with drain, when and why (the local
records); a balancer that cannot be read is exit 1.
` + exitStatus("status"),
		Args: cobra.NoArgs,
	}
	addSpecFlags(cmd, "status")
	addPoolFlag(cmd)
	cmd.RunE = func(c *cobra.Command, _ []string) error {
		cfg, err := f.loadConfig(c, nil)
		if err != nil {
			return err
		}
		if spec := poolSpec(c, cfg); spec != nil {
			return runStatusPool(c, ios, cfg, *spec)
		}
		if err := lockNeedsPool(c); err != nil {
			return err
		}
		if len(cfg.Rotation) == 0 && len(cfg.Sources) == 0 {
			return runStatusHeld(c.Context(), ios, cfg)
		}
		plan := &drain.Plan{}
		if len(cfg.Rotation) > 0 {
			if plan.Rotator, plan.Store, err = buildRotation(cfg); err != nil {
				return err
			}
		}
		if plan.Sources, err = buildSources(cfg); err != nil {
			return err
		}
		code := drain.ExitOK
		for {
			rep := redactStatus(collectStatus(c.Context(), plan))
			if rep.Error != "" {
				code = drain.ExitError
			}
			if cfg.JSON {
				_ = sink.WriteJSON(ios.Out, rep)
			} else {
				if cfg.Watch && ios.IsStdoutTTY() {
					fmt.Fprint(ios.Out, "\033[H\033[2J")
				}
				printStatus(ios, sanitizeStatus(rep))
			}
			if !cfg.Watch {
				break
			}
			select {
			case <-c.Context().Done():
				return nil
			case <-time.After(cfg.Interval):
			}
		}
		if code != drain.ExitOK {
			return &exitError{code: code, reported: true}
		}
		return nil
	}
	return cmd
}

func collectStatus(ctx context.Context, p *drain.Plan) statusReport {
	rep := statusReport{Time: time.Now(), Event: "status"}
	if p.Rotator != nil {
		rep.Target = p.Rotator.Target()
		// The record first: it says how out left each method (another
		// --disabled-name, content mode), which the status is read by, as
		// in undoes it.
		rec, recErr := rotation.LoadRecord(p.Store, p.Rotator)
		p.Rotator.Adopt(rec)
		st, err := p.Rotator.Status(ctx)
		rep.Rotation = string(st)
		if errors.Is(err, rotation.ErrMixed) {
			if parts, perr := p.Rotator.Parts(ctx); perr == nil {
				rep.Rotation, rep.Parts, err = "MIXED", parts, nil
			}
		}
		if err != nil {
			rep.Error, rep.Hint = err.Error(), usage.HintOf(err)
		}
		if recErr != nil && rep.Error == "" {
			rep.Error, rep.Hint = recErr.Error(), usage.HintOf(recErr)
		}
		rep.Record = rec
		rep.OldRecordFile = rotation.IsOldFile(p.Store, rec)
		if rec != nil && rec.Phase != state.PhaseDone && rec.Phase != state.PhaseOut {
			rep.Holder = "gone"
			if rec.Running() {
				rep.Holder = "running"
			}
		}
	}
	if len(p.Sources) > 0 {
		rep.Sources = p.Poll(ctx)
	}
	if p.ListsRequests() {
		rep.listed = true
		rs, err := p.InFlight(ctx)
		if err != nil {
			rep.RequestsError = err.Error()
		}
		slices.SortStableFunc(rs, func(a, b drain.Request) int { return cmp.Compare(b.Elapsed, a.Elapsed) })
		rep.Requests = rs[:min(len(rs), statusLongest)]
	}
	return rep
}

func printStatus(ios *iostreams.IOStreams, rep statusReport) {
	w := ios.Out
	green, yellow, red := ios.OutColor(colorGreen...), ios.OutColor(colorYellow...), ios.OutColor(colorRed...)
	if rep.Target != "" {
		word := rep.Rotation
		switch rotation.Status(rep.Rotation) {
		case rotation.In:
			word = green("IN")
		case rotation.Out:
			word = yellow("OUT")
		default:
			word = red(word)
		}
		fmt.Fprintf(w, "rotation: %s  %s\n", word, rep.Target)
		for _, pt := range rep.Parts {
			fmt.Fprintf(w, "  %s: %s\n", pt.Target, pt.State)
		}
		if rep.Error != "" {
			fmt.Fprintf(w, "  %s %s\n", red("error:"), rep.Error)
		}
		if rep.Hint != "" {
			fmt.Fprintf(w, "  hint: %s\n", rep.Hint)
		}
		if r := rep.Record; r != nil {
			fmt.Fprintf(w, "  changed %s ago (%s) by %s, method %s\n",
				time.Since(r.Since).Round(time.Second), r.Since.Local().Format(time.DateTime), r.By, r.Method)
			if r.Reason != "" {
				fmt.Fprintf(w, "  reason: %s\n", r.Reason)
			}
			phase := string(r.Phase)
			if r.Phase == drain.PhaseIn {
				phase += " (being put back: the record does not count as out; out and run read the balancer)"
			}
			if r.Result != "" {
				phase += ", result " + r.Result
			}
			if rep.Holder != "" {
				phase += fmt.Sprintf(" (pid %d %s)", r.PID, rep.Holder)
			}
			fmt.Fprintf(w, "  phase: %s\n", phase)
			if rep.OldRecordFile != "" {
				fmt.Fprintf(w, "  record: %s (the old per-user location; 'drain in' undoes it and removes it)\n", rep.OldRecordFile)
			}
		}
	}
	if len(rep.Sources) > 0 {
		fmt.Fprintln(w, "sources:")
		printReadings(w, rep.Sources, green, yellow, red)
	}
	if rep.listed {
		printRequests(w, rep)
	}
}

// statusLongest is how many executing requests status shows.
const statusLongest = 10

func printRequests(w io.Writer, rep statusReport) {
	switch {
	case rep.RequestsError != "":
		fmt.Fprintf(w, "executing requests: unknown (%s)\n", rep.RequestsError)
	case len(rep.Requests) == 0:
		fmt.Fprintln(w, "executing requests: none")
	default:
		fmt.Fprintln(w, "executing requests (longest first):")
		for _, r := range rep.Requests {
			fmt.Fprintf(w, "  %s  [%s]\n", r, r.Where)
		}
	}
}

func printReadings(w io.Writer, rs []drain.Reading, green, yellow, red func(string) string) {
	width := 0
	for _, r := range rs {
		width = max(width, len(r.Source))
	}
	for _, r := range rs {
		pad := strings.Repeat(" ", width-len(r.Source))
		switch {
		case r.Value == nil:
			fmt.Fprintf(w, "  %s%s  %s %s\n", r.Source, pad, red("unknown"), r.Error)
		case r.OK:
			fmt.Fprintf(w, "  %s%s  %s %s\n", r.Source, pad, fmtNum(*r.Value), green("idle"))
		default:
			fmt.Fprintf(w, "  %s%s  %s %s\n", r.Source, pad, fmtNum(*r.Value), yellow("busy (> "+fmtNum(r.Threshold)+")"))
		}
	}
}
