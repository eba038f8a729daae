package iis

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/drain-cli/drain/internal/action"
)

// Change is a built-in that changes an app pool or a site through appcmd.
type Change struct {
	Op      string // RecycleAppPool, StopAppPool, StartAppPool, StopSite
	Name    string
	Timeout time.Duration // how long to wait for the change; 0 = no limit
	Poll    time.Duration // how often to look

	appcmd appcmdRunner
}

// String implements action.Action.
func (a *Change) String() string { return a.Op + " " + action.QuoteArg(a.Name) }

// state reads the pool's or site's state ("Started", "Stopped", ...) and,
// for a pool, its worker process ids.
func (a *Change) state(ctx context.Context) (string, []string, error) {
	kind := "apppool"
	if a.Op == StopSite {
		kind = "site"
	}
	out, err := a.appcmd(ctx, "list", kind, "/xml")
	if err != nil {
		return "", nil, err
	}
	o, err := parseObjects(out)
	if err != nil {
		return "", nil, err
	}
	var names []string
	found, st := "", ""
	for _, p := range o.Pools {
		names = append(names, p.Name)
		if strings.EqualFold(p.Name, a.Name) {
			found, st = p.Name, p.State
		}
	}
	for _, s := range o.Sites {
		names = append(names, s.Name)
		if strings.EqualFold(s.Name, a.Name) {
			found, st = s.Name, s.State
		}
	}
	if found == "" {
		what := "app pool"
		if kind == "site" {
			what = "site"
		}
		return "", nil, fmt.Errorf("%w: no %s named %q (existing: %s)", action.ErrUsage, what, a.Name, listOrNone(names))
	}
	a.Name = found
	if kind == "site" {
		return st, nil, nil
	}
	out, err = a.appcmd(ctx, "list", "wp", "/apppool.name:"+a.Name, "/xml")
	if err != nil {
		return "", nil, err
	}
	if o, err = parseObjects(out); err != nil {
		return "", nil, err
	}
	pids := make([]string, 0, len(o.Workers))
	for _, w := range o.Workers {
		pids = append(pids, w.PID)
	}
	return st, pids, nil
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// Check verifies that the pool or site exists, before anything changes.
func (a *Change) Check(ctx context.Context) error {
	_, _, err := a.state(ctx)
	return err
}

// Run implements action.Action.
func (a *Change) Run(ctx context.Context, stdout, _ io.Writer) (action.Result, error) {
	return action.RunBuiltin(ctx, a, a.Timeout, stdout, a.run)
}

// run does the change and returns the line that says what happened.
func (a *Change) run(ctx context.Context, w io.Writer) (string, error) {
	st, pids, err := a.state(ctx) // also sets a.Name to IIS's spelling
	if err != nil {
		return "", err
	}
	what := "app pool " + strconv.Quote(a.Name)
	if a.Op == StopSite {
		what = "site " + strconv.Quote(a.Name)
	}
	switch a.Op {
	case StopAppPool, StopSite:
		if st == "Stopped" && len(pids) == 0 {
			return what + " is already stopped: nothing to do", nil
		}
		if st != "Stopped" && st != "Stopping" {
			kind := "apppool"
			flag := "/apppool.name:"
			if a.Op == StopSite {
				kind, flag = "site", "/site.name:"
			}
			fmt.Fprintf(w, "stopping %s (state %s)\n", what, st)
			if _, err := a.appcmd(ctx, "stop", kind, flag+a.Name); err != nil {
				return "", err
			}
		}
		if err := a.waitFor(ctx, func(st string, ws []string) bool { return st == "Stopped" && len(ws) == 0 }, "to stop"); err != nil {
			return "", err
		}
		return what + " stopped" + exited(pids), nil
	case StartAppPool:
		if st == "Started" {
			return what + " is already started: nothing to do", nil
		}
		fmt.Fprintf(w, "starting %s (state %s)\n", what, st)
		if st != "Starting" {
			if _, err := a.appcmd(ctx, "start", "apppool", "/apppool.name:"+a.Name); err != nil {
				return "", err
			}
		}
		if err := a.waitFor(ctx, func(st string, _ []string) bool { return st == "Started" }, "to start"); err != nil {
			return "", err
		}
		return what + " started", nil
	case RecycleAppPool:
		if st != "Started" {
			return "", fmt.Errorf("%s is %s: a recycle only replaces the worker of a started pool; use start-apppool", what, strings.ToLower(st))
		}
		fmt.Fprintf(w, "recycling %s (worker processes: %s)\n", what, listOrNone(pids))
		if _, err := a.appcmd(ctx, "recycle", "apppool", "/apppool.name:"+a.Name); err != nil {
			return "", err
		}
		if len(pids) == 0 {
			return what + " recycled; no worker process was running (the next request starts one)", nil
		}
		old := pids
		gone := func(_ string, ws []string) bool {
			for _, p := range ws {
				if slices.Contains(old, p) {
					return false
				}
			}
			return true
		}
		if err := a.waitFor(ctx, gone, "to replace its worker "+listOrNone(old)); err != nil {
			return "", err
		}
		return what + " recycled" + exited(old), nil
	}
	return "", fmt.Errorf("%w: unknown built-in %q", action.ErrUsage, a.Op)
}

func exited(pids []string) string {
	switch len(pids) {
	case 0:
		return ""
	case 1:
		return "; worker process " + pids[0] + " has exited"
	}
	return "; worker processes " + strings.Join(pids, ", ") + " have exited"
}

// waitFor polls the state until done holds or ctx ends.
func (a *Change) waitFor(ctx context.Context, done func(state string, workers []string) bool, what string) error {
	poll := a.Poll
	if poll <= 0 {
		poll = 500 * time.Millisecond
	}
	last := "appcmd did not answer in time"
	for {
		st, pids, err := a.state(ctx)
		if err != nil && ctx.Err() == nil {
			return err
		}
		if err == nil {
			if done(st, pids) {
				return nil
			}
			last = "state " + st
			if len(pids) > 0 {
				last += ", worker processes " + strings.Join(pids, ", ")
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("still waiting %s (%s)", what, last)
		case <-time.After(poll):
		}
	}
}
