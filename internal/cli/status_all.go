package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/drain-cli/drain/internal/config"
	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/iostreams"
	"github.com/drain-cli/drain/internal/redact"
	"github.com/drain-cli/drain/internal/rotation"
	"github.com/drain-cli/drain/internal/sink"
	"github.com/drain-cli/drain/internal/state"
)

// `drain status` and `drain in` without rotation flags work from the
// records: every record drain holds on this machine, in the state
// directory of this account, the machine-wide one and the per-user ones
// older drains used. A run that changed several methods (a keep-alive page
// and HAProxy) left one file per method with the same shared fields: those
// are one run, one row, undone together.

// exitOut is `drain status` without rotation flags when a server is OUT of
// rotation (README "Exit codes"): `drain status && deploy` stops there.
const exitOut = 6

// heldRun is one run's records.
type heldRun struct {
	rec       *state.Record // the shared fields, with every file's entries
	untrusted error         // a record this account must not act on (status shows it)
	old       bool          // a file is in an old per-user directory
}

// specs are the run's rotation methods as TYPE:TARGET, as --rotate takes
// them; for a record of the release before methods had types (no entries)
// a keep-alive page by its absolute path, or the key if it is a spec.
func (h heldRun) specs() []string {
	var out []string
	for _, e := range h.rec.Entries {
		out = append(out, e.Key())
	}
	if len(out) == 0 && h.rec.Version == 0 {
		switch t := h.rec.Target; {
		case filepath.IsAbs(t):
			out = append(out, "keepalive:"+t)
		default:
			if _, _, err := rotation.ParseSpec(t); err == nil {
				out = append(out, t)
			}
		}
	}
	return out
}

// recordStore is the store of this account (as out and in use it) and the
// directories status and in read records from: that store's, plus the
// machine-wide directory when this account keeps its records elsewhere (a
// plain account reads what administrators recorded, where it may).
func recordStore(cfg *config.Config) (state.Store, []string, error) {
	if cfg.StateDir != "" {
		s := state.Store{Dir: cfg.StateDir}
		return s, s.Dirs(), nil
	}
	s, err := state.DefaultStore()
	var ue *state.UnsafeDirError
	if errors.As(err, &ue) {
		return s, nil, &exitError{code: drain.ExitError, err: err, hint: ue.Hint()}
	}
	if err != nil {
		return s, nil, err
	}
	dirs := s.Dirs()
	if m := state.MachineDir(); !s.Machine && !slices.Contains(dirs, m) {
		dirs = append(dirs, m)
	}
	return s, dirs, nil
}

// heldRuns reads every record and groups them into runs, oldest first.
// Files that are no records drain may read come back as errors, one each.
func heldRuns(store state.Store, dirs []string) ([]heldRun, []error) {
	var extra []string
	for _, d := range dirs {
		if !slices.Contains(store.Dirs(), d) {
			extra = append(extra, d)
		}
	}
	found, err := store.List(extra...)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	var runs []heldRun
	for _, f := range found {
		if f.Record == nil {
			errs = append(errs, f.Err)
			continue
		}
		r := f.Record
		i := slices.IndexFunc(runs, func(h heldRun) bool {
			o := h.rec
			return o.Version != 0 && r.Version != 0 && o.PID == r.PID && o.Start.Equal(r.Start) && o.Since.Equal(r.Since) && o.By == r.By && o.Command == r.Command && o.Reason == r.Reason
		})
		old := store.IsOld(f.File)
		if i < 0 {
			c := *r
			c.Entries, c.Files = slices.Clone(r.Entries), slices.Clone(r.Files)
			runs = append(runs, heldRun{rec: &c, untrusted: f.Err, old: old})
			continue
		}
		h := &runs[i]
		if r.Method != "" && !slices.Contains(strings.Split(h.rec.Method, "+"), r.Method) {
			h.rec.Method += "+" + r.Method
		}
		h.rec.Entries = append(h.rec.Entries, r.Entries...)
		h.rec.Files = append(h.rec.Files, r.Files...)
		h.old = h.old || old
		if h.untrusted == nil {
			h.untrusted = f.Err
		}
	}
	return runs, errs
}

// heldRow is one run in `drain status` without rotation flags.
type heldRow struct {
	Target  string    `json:"target"`
	Methods []string  `json:"methods,omitempty"` // TYPE:TARGET each
	Method  string    `json:"method"`            // how, for people: rename, content, haproxy, ...
	Since   time.Time `json:"since"`
	By      string    `json:"by,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	Command string    `json:"command,omitempty"`
	Phase   string    `json:"phase"`
	Result  string    `json:"result,omitempty"`
	PID     int       `json:"pid"`
	Holder  string    `json:"holder,omitempty"` // running | gone, for a record left mid-run
	// Recorded is what the record says (OUT; IN while a run puts it back),
	// Live what the balancer says now (empty when not read).
	Recorded  string          `json:"recorded"`
	Live      string          `json:"live,omitempty"`
	LiveError string          `json:"live_error,omitempty"`
	Parts     []rotation.Part `json:"parts,omitempty"`
	Warning   string          `json:"warning,omitempty"`
	Untrusted string          `json:"untrusted,omitempty"`
	Files     []string        `json:"files"`
	Old       bool            `json:"old_location,omitempty"`
}

// heldReport is `drain status` without rotation flags, also its JSON event.
type heldReport struct {
	Time      time.Time `json:"time"`
	Event     string    `json:"event"` // "status"
	StateDirs []string  `json:"state_dirs"`
	Records   []heldRow `json:"records"`
	Errors    []string  `json:"errors,omitempty"`
	Out       int       `json:"out"`
	ExitCode  int       `json:"exit_code"`
}

// out reports whether the row is a server OUT of rotation: the balancer
// says so, or it could not be read and the record says so.
func (r heldRow) out() bool {
	if r.Live != "" {
		return r.Live == string(rotation.Out) || r.Live == "MIXED"
	}
	return r.Recorded == string(rotation.Out)
}

// runStatusHeld is `drain status` without rotation flags.
func runStatusHeld(ctx context.Context, ios *iostreams.IOStreams, cfg *config.Config) error {
	store, dirs, err := recordStore(cfg)
	if err != nil {
		return err
	}
	code := drain.ExitOK
	for {
		rep := collectHeld(ctx, cfg, store, dirs)
		code = rep.ExitCode
		if cfg.JSON {
			_ = sink.WriteJSON(ios.Out, rep)
		} else {
			if cfg.Watch && ios.IsStdoutTTY() {
				fmt.Fprint(ios.Out, "\033[H\033[2J")
			}
			printHeld(ios, rep, cfg.Quiet)
		}
		if !cfg.Watch {
			break
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(cfg.Interval):
		}
	}
	if code != drain.ExitOK {
		return &exitError{code: code, reported: true}
	}
	return nil
}

func collectHeld(ctx context.Context, cfg *config.Config, store state.Store, dirs []string) heldReport {
	rep := heldReport{Time: time.Now(), Event: "status", StateDirs: dirs, Records: []heldRow{}}
	runs, errs := heldRuns(store, dirs)
	unknown := len(errs) > 0
	for _, e := range errs {
		rep.Errors = append(rep.Errors, sink.SanitizeLine(redact.String(e.Error())))
	}
	for _, h := range runs {
		row := liveRow(ctx, cfg, h)
		if row.out() {
			rep.Out++
		}
		if row.Live == "" || row.Live == string(rotation.Unknown) {
			unknown = true
		}
		rep.Records = append(rep.Records, sanitizeHeld(row))
	}
	switch {
	case rep.Out > 0:
		rep.ExitCode = exitOut
	case unknown:
		rep.ExitCode = drain.ExitError
	}
	return rep
}

// liveRow is what the run's record says, and what its balancer says now.
// A record this account must not trust is shown, never acted on: its
// methods are not built (its target must not steer a request or a file
// read).
func liveRow(ctx context.Context, cfg *config.Config, h heldRun) heldRow {
	r := h.rec
	row := heldRow{
		Target: r.Target, Methods: h.specs(), Method: r.Method, Since: r.Since, By: r.By,
		Reason: redact.String(r.Reason), Command: r.Command, Phase: string(r.Phase), Result: r.Result,
		PID: r.PID, Recorded: string(rotation.Out), Files: r.Files, Old: h.old,
	}
	if r.Phase == drain.PhaseIn {
		row.Recorded = string(rotation.In)
	}
	if r.Phase != state.PhaseDone && r.Phase != state.PhaseOut {
		row.Holder = "gone"
		if r.Running() {
			row.Holder = "running"
		}
	}
	if h.untrusted != nil {
		row.Untrusted = h.untrusted.Error()
		return row
	}
	if len(row.Methods) == 0 {
		row.LiveError = "not read: a record of an older drain that names no method; give its flags (drain status --keepalive PATH, --rotate TYPE:TARGET)"
		return row
	}
	c := *cfg
	c.Keepalive, c.HAProxy, c.Rotate, c.Rotation = "", nil, row.Methods, nil
	err := c.ParseRotation()
	var set *rotation.Set
	if err == nil {
		set, _, err = buildRotation(&c)
	}
	if err != nil {
		row.LiveError = "not read: " + err.Error()
		return row
	}
	row.Target = set.Target()
	set.Adopt(r)
	ctx, cancel := context.WithTimeout(ctx, 2*cfg.ReadTimeout+time.Second)
	defer cancel()
	st, err := set.StatusAs(ctx, r)
	row.Live = string(st)
	if errors.Is(err, rotation.ErrMixed) {
		if parts, perr := set.Parts(ctx); perr == nil {
			row.Live, row.Parts, err = "MIXED", parts, nil
		}
	}
	if err != nil {
		row.Live, row.LiveError = string(rotation.Unknown), err.Error()
	}
	switch {
	case row.Live == string(rotation.In) && row.Recorded == string(rotation.Out):
		row.Warning = "the record says OUT but the balancer has it IN (restarted, or a deploy re-created the page?): 'drain in' with no flags removes the record"
	case row.Live == string(rotation.Out) && row.Recorded == string(rotation.In):
		row.Warning = "a run was putting it back, but the balancer has it OUT: 'drain in' finishes it"
	}
	return row
}

// sanitizeHeld makes a row's outside text (records, balancer replies)
// safe to print: one line each.
func sanitizeHeld(r heldRow) heldRow {
	l := sink.SanitizeLine
	r.Target, r.Method, r.By, r.Reason, r.Command, r.Phase, r.Result = l(redact.String(r.Target)), l(r.Method), l(r.By), l(r.Reason), l(r.Command), l(r.Phase), l(r.Result)
	r.Live, r.LiveError, r.Warning, r.Untrusted = l(r.Live), l(redact.String(r.LiveError)), l(r.Warning), l(r.Untrusted)
	for i := range r.Methods {
		r.Methods[i] = l(redact.String(r.Methods[i]))
	}
	for i := range r.Files {
		r.Files[i] = l(r.Files[i])
	}
	for i, p := range r.Parts {
		r.Parts[i] = rotation.Part{Target: l(p.Target), State: l(p.State)}
	}
	return r
}

// printHeld shows the rows; quiet, only the errors and the summary line.
func printHeld(ios *iostreams.IOStreams, rep heldReport, quiet bool) {
	w := ios.Out
	green, yellow, red := ios.OutColor(colorGreen...), ios.OutColor(colorYellow...), ios.OutColor(colorRed...)
	for _, e := range rep.Errors {
		fmt.Fprintf(w, "%s %s\n", red("error:"), e)
	}
	if quiet {
		fmt.Fprintln(w, heldSummary(rep, green, yellow, red))
		return
	}
	if len(rep.Records) == 0 {
		fmt.Fprintf(w, "no records: drain has no server out of rotation on this machine (read %s)\n", strings.Join(rep.StateDirs, ", "))
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LIVE\tRECORD\tMETHOD\tTARGET\tOUT SINCE\tBY\tREASON\tPHASE")
	for _, r := range rep.Records {
		live := r.Live
		if live == "" {
			live = "-"
		}
		since := "-"
		if !r.Since.IsZero() {
			since = fmt.Sprintf("%s (%s ago)", r.Since.Local().Format(time.DateTime), time.Since(r.Since).Round(time.Second))
		}
		phase := r.Phase
		if r.Result != "" {
			phase += ", result " + r.Result
		}
		if r.Holder != "" {
			phase += fmt.Sprintf(" (pid %d %s)", r.PID, r.Holder)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", live, r.Recorded, orDash(r.Method), r.Target, since, orDash(r.By), orDash(r.Reason), phase)
	}
	_ = tw.Flush()
	for _, r := range rep.Records {
		for _, p := range r.Parts {
			fmt.Fprintf(w, "  %s: %s: %s\n", r.Target, p.Target, p.State)
		}
		switch {
		case r.Untrusted != "":
			fmt.Fprintf(w, "  %s %s: live state not read: %s\n", red("untrusted:"), r.Target, r.Untrusted)
		case r.LiveError != "":
			fmt.Fprintf(w, "  %s %s: %s\n", red("unknown:"), r.Target, r.LiveError)
		}
		if r.Warning != "" {
			fmt.Fprintf(w, "  %s %s: %s\n", yellow("warning:"), r.Target, r.Warning)
		}
		if r.Old {
			fmt.Fprintf(w, "  record: %s (the old per-user location; 'drain in' undoes it and removes it)\n", strings.Join(r.Files, ", "))
		}
	}
	fmt.Fprintln(w, heldSummary(rep, green, yellow, red))
}

// heldSummary is the last line of status without rotation flags.
func heldSummary(rep heldReport, green, yellow, red func(string) string) string {
	word := green("all IN")
	if rep.Out > 0 {
		word = yellow(fmt.Sprintf("%d OUT of rotation", rep.Out))
	} else if rep.ExitCode != drain.ExitOK {
		word = red("not known")
	}
	return fmt.Sprintf("%d record(s): %s (exit %d)", len(rep.Records), word, rep.ExitCode)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
