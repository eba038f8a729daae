package cli

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/kballard/go-shellquote"
	"github.com/spf13/cobra"

	"github.com/drain-cli/drain/internal/config"
	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/redact"
	"github.com/drain-cli/drain/internal/sink"
)

// runInHeld is `drain in` without rotation flags (or with --all): it undoes
// the one run drain has a record of on this machine, or with --all every
// one; with several and no --all it lists them and changes nothing. It
// never prompts: a pipeline has no one to answer.
func runInHeld(f *Factory, c *cobra.Command, cfg *config.Config, all bool) error {
	ios := f.IOStreams
	if all && len(cfg.Rotation) > 0 {
		return usageErr("drop --all to put back the methods given, or drop them to undo every record", "--all undoes every record drain holds; it takes no rotation method")
	}
	store, dirs, err := recordStore(cfg)
	if err != nil {
		return err
	}
	runs, errs := heldRuns(store, dirs)
	warn := func(format string, a ...any) {
		fmt.Fprintf(ios.ErrOut, "%s %s\n", ios.Colors().Warn("warning:"), sink.SanitizeLine(redact.String(fmt.Sprintf(format, a...))))
	}
	for _, e := range errs {
		warn("%v", e)
	}
	var todo []heldRun
	for _, h := range runs {
		switch {
		case h.untrusted != nil:
			warn("not undone: %v", h.untrusted)
		case len(h.specs()) == 0:
			warn("not undone: the record %s of an older drain names no method; give its flags (drain in --keepalive PATH)", strings.Join(h.rec.Files, ", "))
		case !inStore(store, h):
			warn("not undone: %s is recorded in %s, which this account may read but not change (run drain as an administrator)", h.rec.Target, strings.Join(h.rec.Files, ", "))
		default:
			todo = append(todo, h)
		}
	}
	switch {
	case len(todo) == 0 && len(runs)+len(errs) > 0:
		return &exitError{
			code: drain.ExitError, err: errors.New("no record this account may undo (see the warnings above); nothing was changed"),
			hint: "put the server back by naming its method: drain in --rotate TYPE:TARGET (or --keepalive PATH)",
		}
	case len(todo) == 0:
		fmt.Fprintf(ios.Out, "nothing to put back: drain holds no record on this machine (read %s)\n", sink.SanitizeLine(strings.Join(dirs, ", ")))
		return nil
	case len(todo) > 1 && !all:
		fmt.Fprintf(ios.ErrOut, "drain holds %d records on this machine:\n", len(todo))
		for _, h := range todo {
			fmt.Fprintf(ios.ErrOut, "  %s\n", describeHeld(h))
			fmt.Fprintf(ios.ErrOut, "    drain in %s\n", inFlags(h))
		}
		return usageErr("put back one by naming it (the commands above), or every one with drain in --all", "%d servers are out of rotation: which one?", len(todo))
	}
	var last error
	for _, h := range todo {
		if !cfg.Quiet {
			fmt.Fprintf(ios.ErrOut, "undoing %s\n", describeHeld(h))
		}
		cc := *cfg
		cc.Keepalive, cc.HAProxy, cc.Rotate, cc.Rotation = "", nil, h.specs(), nil
		if err := cc.ParseRotation(); err != nil {
			warn("not undone: %s: %v", h.rec.Target, err)
			last = err
			continue
		}
		if err := runLoaded(f, c, &cc, inOptions()); err != nil {
			last = err
		}
	}
	return last
}

// inStore reports whether the run's records are in the store this account
// changes (its directory or an old one it removes records from).
func inStore(store interface{ Dirs() []string }, h heldRun) bool {
	for _, f := range h.rec.Files {
		ok := false
		for _, d := range store.Dirs() {
			if filepath.Dir(f) == filepath.Clean(d) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// describeHeld says what a record is, for people, in one line: target,
// method, since when, by whom, why, how far it got.
func describeHeld(h heldRun) string {
	r := h.rec
	s := fmt.Sprintf("%s (%s), out since %s by %s", strings.Join(h.specs(), " + "), r.Method, r.Since.Local().Format(time.DateTime), orDash(r.By))
	if r.Reason != "" {
		s += fmt.Sprintf(", reason %q", redact.String(r.Reason))
	}
	s += ", phase " + string(r.Phase)
	return sink.SanitizeLine(redact.String(s))
}

// inFlags are the flags that name the run's methods, quoted for a shell.
func inFlags(h heldRun) string {
	var args []string
	for _, s := range h.specs() {
		args = append(args, "--rotate", s)
	}
	return sink.SanitizeLine(redact.String(shellquote.Join(args...)))
}
