package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/drain-cli/drain/internal/action"
	"github.com/drain-cli/drain/internal/clock"
	"github.com/drain-cli/drain/internal/config"
	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/iostreams"
	"github.com/drain-cli/drain/internal/redact"
	"github.com/drain-cli/drain/internal/rotation"
	"github.com/drain-cli/drain/internal/sink"
	"github.com/drain-cli/drain/internal/source"
	"github.com/drain-cli/drain/internal/state"
	"github.com/drain-cli/drain/internal/usage"
)

// drainOptions is what one drain command (run, out, in, wait) does: the
// parts of a plan it builds and how it runs it. Each command's constructor
// (commands.go) gives its own; runDrain and buildPlan only follow them.
type drainOptions struct {
	Name string // the command, as locks and out records name it
	// Rotation: the command changes rotation (methods, their locks, the
	// out record cleared when it leaves the server IN); NoRotationHint is
	// added to the hint when none is given.
	Rotation       bool
	NoRotationHint string
	Budget         bool // asks the disruption budget before out
	BackIn         bool // in's checks: --wait-healthy, --warm-up
	Wait           bool // waits on the sources
	Action         bool // runs the action
	// Run runs the plan.
	Run func(ctx context.Context, p *drain.Plan, cfg *config.Config, emit func(drain.Event)) drain.Outcome
}

func runOptions() drainOptions {
	return drainOptions{
		Name: "run", Rotation: true, Budget: true, Wait: true, Action: true,
		NoRotationHint: "; to wait without changing rotation use 'drain wait'",
		Run: func(ctx context.Context, p *drain.Plan, _ *config.Config, emit func(drain.Event)) drain.Outcome {
			return p.Run(ctx, emit)
		},
	}
}

func outOptions() drainOptions {
	return drainOptions{
		Name: "out", Rotation: true, Budget: true,
		Run: func(ctx context.Context, p *drain.Plan, _ *config.Config, emit func(drain.Event)) drain.Outcome {
			return p.Out(ctx, emit)
		},
	}
}

func inOptions() drainOptions {
	return drainOptions{
		Name: "in", Rotation: true, BackIn: true,
		Run: func(ctx context.Context, p *drain.Plan, cfg *config.Config, emit func(drain.Event)) drain.Outcome {
			return p.In(ctx, cfg.WaitHealthy, emit)
		},
	}
}

func waitOptions() drainOptions {
	return drainOptions{
		Name: "wait", Wait: true,
		Run: func(ctx context.Context, p *drain.Plan, _ *config.Config, emit func(drain.Event)) drain.Outcome {
			return p.Wait(ctx, emit)
		},
	}
}

// drainCmd is what the four drain commands share: their flags and one way
// to run. The commands themselves (commands.go) say what they do.
func drainCmd(f *Factory, cmd *cobra.Command, opts drainOptions) *cobra.Command {
	addSpecFlags(cmd, opts.Name)
	cmd.RunE = func(c *cobra.Command, args []string) error { return runDrain(f, c, args, opts) }
	return cmd
}

// noArgs rejects arguments to out, in and wait with a hint.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErr(fmt.Sprintf("see '%s --help'", c.CommandPath()), "%s takes no arguments, got %q", c.Name(), args[0])
	}
	return nil
}

// runDrain loads the settings, builds the plan, picks the sinks, takes the
// lock and runs the command; the sinks say how it ended.
func runDrain(f *Factory, c *cobra.Command, args []string, opts drainOptions) error {
	cfg, err := f.loadConfig(c, args)
	if err != nil {
		return err
	}
	if opts.Name == "in" {
		if all, _ := c.Flags().GetBool("all"); all || len(cfg.Rotation) == 0 {
			return runInHeld(f, c, cfg, all)
		}
	}
	return runLoaded(f, c, cfg, opts)
}

// runLoaded runs a command whose settings are loaded.
func runLoaded(f *Factory, c *cobra.Command, cfg *config.Config, opts drainOptions) error {
	ios := f.IOStreams
	plan, err := buildPlan(ios, cfg, opts, clock.Or(f.Clock))
	if err != nil {
		return err
	}
	nameSources(plan, cfg)
	rep, err := newRunReport(c, cfg.LBGrace)
	if err != nil {
		return err
	}
	r := f.newRenderer(cfg.JSON, c.Name())
	r.quiet = cfg.Quiet
	r.view = sink.TerminalOptions{LBGrace: cfg.LBGrace, Settle: cfg.Settle, Timeout: cfg.Timeout}
	if ci := ciSinks(cfg, plan.ActionOut, f.Getenv); ci != nil {
		r.extra = append(r.extra, ci)
	}
	if !cfg.DryRun && f.OpenAudit != nil {
		var warn string
		if r.audit, warn = f.OpenAudit(); r.audit == nil && warn != "" && cfg.JSON {
			r.event(drain.Event{Event: drain.EvWarning, Message: warn})
		}
	}
	emit := rep.wrap(r.event)
	if plan.Rotator != nil && !cfg.DryRun {
		locks, err := takeLock(plan, opts.Name, cfg.Reason, emit)
		if err != nil {
			// Nothing was changed; say where the server stands anyway.
			oc := drain.Outcome{Result: drain.ResultError, Code: drain.ExitError, Err: err, Unchanged: true, Rotation: currentStatus(c.Context(), plan)}
			var ee *exitError
			if errors.As(err, &ee) {
				oc.Code, oc.Err, oc.Hint = ee.code, ee.err, ee.hint
			}
			r.finish(oc, true)
			return &exitError{code: oc.Code, err: oc.Err, reported: true}
		}
		defer locks.Release()
	}

	oc := opts.Run(c.Context(), plan, cfg, emit)
	oc.Code = outcomeCode(oc)
	if opts.Rotation && !cfg.DryRun && len(cfg.Lock) > 0 && oc.Rotation == rotation.In {
		clearOutRecord(c.Context(), cfg, plan.Rotator, emit)
	}
	rep.write(r, oc)
	r.finish(oc, opts.Rotation)
	if oc.Code != drain.ExitOK {
		return &exitError{code: oc.Code, err: oc.Err, reported: true}
	}
	return nil
}

// nameSources gives each watched source its short name (NAME=SPEC, or one
// derived from the spec), which the readings carry beside the spec.
func nameSources(p *drain.Plan, cfg *config.Config) {
	names := source.Names(cfg.Sources)
	if len(names) != len(p.Sources) {
		return
	}
	for i := range p.Sources {
		p.Sources[i].Label = names[i]
	}
}

// currentStatus reads the rotation state for a report, briefly: UNKNOWN
// when it cannot be read.
func currentStatus(ctx context.Context, p *drain.Plan) rotation.Status {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	st, err := p.Rotator.Status(ctx)
	if err != nil {
		return rotation.Unknown
	}
	return st
}

// takeLock makes sure no other drain changes the same server at once: one
// lock per rotation method (its Key), taken in sorted order so that two runs
// sharing methods cannot each hold one the other waits for. A lock left by a
// drain that is gone (killed, crashed) is taken over, and said so.
func takeLock(p *drain.Plan, command, reason string, emit func(drain.Event)) (locks, error) {
	host, _ := os.Hostname()
	me := state.Holder{PID: os.Getpid(), Host: host, By: state.Who(), Command: command, Reason: reason, Since: time.Now().UTC()}
	var held locks
	for _, key := range p.Rotator.Keys() {
		lock, stale, err := p.Store.Lock(key, me)
		var le *state.LockedError
		switch {
		case errors.As(err, &le):
			held.Release()
			return nil, &exitError{code: drain.ExitError, err: err, hint: le.Hint()}
		case err != nil:
			held.Release()
			return nil, err
		}
		if stale != nil {
			emit(drain.Event{Event: drain.EvWarning, Message: fmt.Sprintf("took over a stale lock: %s is gone", stale)})
		}
		held = append(held, lock)
	}
	return held, nil
}

// locks are the locks of a run's rotation methods.
type locks []*state.Lock

// Release releases every lock, the last taken first.
func (l locks) Release() {
	for i := len(l) - 1; i >= 0; i-- {
		l[i].Release()
	}
}

// buildPlan turns a validated config into the algorithm's plain values,
// checking everything that can be checked before anything changes.
func buildPlan(ios *iostreams.IOStreams, cfg *config.Config, opts drainOptions, clk clock.Clock) (*drain.Plan, error) {
	p := &drain.Plan{
		Clock:  clk,
		Reason: cfg.Reason, Interval: cfg.Interval, Settle: cfg.Settle, Timeout: cfg.Timeout,
		LBGrace: cfg.LBGrace, Force: cfg.Force, KeepOut: cfg.KeepOut, DryRun: cfg.DryRun,
		ActionOut: ios.Out, ActionErr: ios.ErrOut,
		IntervalAuto: cfg.IntervalAuto, SettleAuto: cfg.SettleAuto,
	}
	actionOutTTY := ios.IsStdoutTTY()
	if cfg.JSON {
		p.ActionOut = ios.ErrOut // stdout carries only NDJSON events
		actionOutTTY = ios.IsStderrTTY()
	}
	// A reader that went away (drain run | head -1) must not end the job:
	// the action writes into a pipe drain copies from, and a failed copy is
	// dropped, so neither the action nor drain dies of SIGPIPE or blocks.
	// A terminal is left as is (actions may draw colour and progress there).
	if !actionOutTTY {
		p.ActionOut = forgivingWriter{p.ActionOut}
	}
	if !ios.IsStderrTTY() {
		p.ActionErr = forgivingWriter{p.ActionErr}
	}
	var err error
	if opts.Rotation {
		if len(cfg.Rotation) == 0 {
			return nil, usageErr(noRotationHint()+opts.NoRotationHint, "no rotation method: drain %s needs --rotate TYPE:TARGET, --keepalive or --haproxy", opts.Name)
		}
		if p.Rotator, p.Store, err = buildRotation(cfg); err != nil {
			return nil, err
		}
		p.Probed = p.Rotator.Probed()
		if opts.Budget {
			client, err := httpClient(cfg)
			if err != nil {
				return nil, err
			}
			if p.Gate, err = budgetGate(cfg, p.Rotator, p.Store, client, opts.Name, clk); err != nil {
				return nil, err
			}
		}
	}
	if cfg.VerifyURL != "" {
		client, err := httpClient(cfg)
		if err != nil {
			return nil, err
		}
		p.Verify = &drain.Verifier{URL: cfg.VerifyURL, Client: client}
	}
	if opts.BackIn {
		if err := backInPlan(p, cfg); err != nil {
			return nil, err
		}
	}
	if opts.Wait {
		if len(cfg.Sources) == 0 && cfg.LBGrace == 0 && p.Verify == nil {
			return nil, usageErr("add --source TYPE:TARGET (e.g. nginx:http://127.0.0.1/nginx_status)", "nothing to wait on")
		}
		if p.Sources, err = buildSources(cfg); err != nil {
			return nil, err
		}
		if p.AllowUnread, err = allowUnread(cfg); err != nil {
			return nil, err
		}
		if err := waitViews(p, cfg); err != nil {
			return nil, err
		}
	}
	if opts.Action && len(cfg.Action) > 0 {
		a, err := action.New(cfg.Action, cfg.Shell, cfg.ActionTimeout)
		if err != nil {
			hint := "check the program name and PATH"
			switch {
			case errors.Is(err, action.ErrShellLine):
				hint = "give --shell the command line as one quoted word, e.g. --shell -- 'systemctl stop app && echo stopped', or drop --shell"
			case errors.Is(err, action.ErrRights):
				hint = "run drain elevated (an administrator's prompt: Run as administrator), or as a service account allowed to make the change"
			case errors.Is(err, action.ErrUsage):
				hint = "built-in actions (Windows): " + builtinList()
			case !errors.Is(err, action.ErrNotFound):
				hint = "give the action after --"
			}
			return nil, usage.WithHint(err, hint)
		}
		p.Action = a
	}
	return p, nil
}

// buildRotation returns the run's rotation methods (a keep-alive page,
// HAProxy servers, any registered type, several at once) and the state
// store. A bad method is a usage error before anything changes.
func buildRotation(cfg *config.Config) (*rotation.Set, state.Store, error) {
	client, err := httpClient(cfg)
	if err != nil {
		return nil, state.Store{}, err
	}
	opts := rotation.Options{
		Client: client, Timeout: cfg.ReadTimeout * 2,
		DisabledName: cfg.DisabledName, DownContent: cfg.DownContent, ForceRestore: cfg.ForceRestore,
		Getenv: os.Getenv,
	}
	var methods []rotation.Method
	for _, spec := range cfg.Rotation {
		opts.Settings = cfg.RotationSettings[spec.Type.Name]
		m, err := spec.New(opts)
		if err != nil {
			return nil, state.Store{}, err // a usage error with the type's hint
		}
		methods = append(methods, m)
	}
	rot, err := rotation.NewSet(methods...)
	if err != nil {
		return nil, state.Store{}, usage.WithHint(err, "give each rotation method once")
	}
	if cfg.StateDir != "" {
		return rot, state.Store{Dir: cfg.StateDir}, nil
	}
	store, err := state.DefaultStore()
	var ue *state.UnsafeDirError
	if errors.As(err, &ue) {
		return nil, state.Store{}, &exitError{code: drain.ExitError, err: err, hint: ue.Hint()}
	}
	return rot, store, err
}

// buildSources builds every --source; a bad one is a usage error.
func buildSources(cfg *config.Config) ([]drain.Watch, error) {
	client, err := httpClient(cfg)
	if err != nil {
		return nil, err
	}
	opts := source.Options{Client: client, ReadTimeout: cfg.ReadTimeout, Authorization: cfg.Authorization}
	var out []drain.Watch
	for _, spec := range cfg.Sources {
		if strings.HasPrefix(cfg.Origins["source"].From, "flag") && redact.String(spec.Target) != spec.Target {
			return nil, usageErr("put credentials in DRAIN_BASIC_AUTH or --basic-auth-file", "source %s has credentials in its URL, which every user can read with ps", spec)
		}
		src, err := source.New(spec, opts)
		if err != nil {
			return nil, err // a usage error with the type's hint
		}
		out = append(out, drain.Watch{Name: spec.String(), Source: src, Threshold: spec.Threshold})
	}
	return out, nil
}

// allowUnread resolves --allow-unread-source: each NAME is a source's
// name (NAME=, or the one derived from its spec) or its spec; the answer is
// the specs, as the plan's watches name them. A name that is no source's is
// a usage error.
func allowUnread(cfg *config.Config) ([]string, error) {
	if len(cfg.AllowUnread) == 0 {
		return nil, nil
	}
	names := source.Names(cfg.Sources)
	var specs []string
	for _, want := range cfg.AllowUnread {
		found := false
		for i, spec := range cfg.Sources {
			if want == spec.String() || i < len(names) && want == names[i] {
				specs, found = append(specs, spec.String()), true
			}
		}
		if !found {
			hint := "name a --source by its NAME= (or its spec)"
			if len(names) > 0 {
				hint += "; the sources are " + strings.Join(names, ", ")
			}
			return nil, usageErr(hint, "--allow-unread-source %q names no source of this run", redact.String(want))
		}
	}
	return specs, nil
}

// forgivingWriter drops what cannot be written (a closed pipe): output is
// worth losing, the run is not.
type forgivingWriter struct{ w io.Writer }

func (f forgivingWriter) Write(b []byte) (int, error) {
	_, _ = f.w.Write(b)
	return len(b), nil
}
