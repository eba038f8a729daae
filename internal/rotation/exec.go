package rotation

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/drain-cli/drain/internal/redact"
)

func init() {
	Register(Type{
		Name:     "exec",
		Syntax:   "NAME",
		Example:  "exec:consul",
		Summary:  "runs the out, in and status commands named NAME in the config file (rotation.exec.NAME), for any balancer with a CLI",
		Settings: func() any { return &execSettings{} },
		New:      newExec,
	})
}

// Exec takes a server out of rotation with the user's own commands, for
// any balancer with a CLI (consul maint, Citrix ADC, Kemp, Azure CLI...):
// the config file's rotation.exec.NAME gives three argv lists, run without
// a shell. status must print IN or OUT; out and in are each checked by
// running status after them.
type Exec struct {
	name            string
	out, in, status []string
	timeout         time.Duration
}

// execUndo is what in needs: where status stood before out.
type execUndo struct {
	Before Status `json:"before"`
}

// execSettings is rotation: {exec: {NAME: {out: [...], in: [...],
// status: [...]}}}: named command sets.
type execSettings map[string]*execCommands

type execCommands struct {
	Out    []string `setting:"out"`
	In     []string `setting:"in"`
	Status []string `setting:"status"`
}

func newExec(target string, opts Options) (Method, error) {
	name := strings.TrimSpace(target)
	sets, _ := opts.Typed.(*execSettings)
	var names []string
	var cmds *execCommands
	if sets != nil {
		for k, v := range *sets {
			names = append(names, k)
			if strings.EqualFold(k, name) {
				cmds = v
			}
		}
	}
	sort.Strings(names)
	if cmds == nil {
		hint := "define it in the config file: rotation: {exec: {" + name + ": {out: [...], in: [...], status: [...]}}}"
		if len(names) > 0 {
			hint = "the config file has: " + strings.Join(names, ", ") + nearestName(name, names)
		}
		return nil, configErrorf("exec %q: no rotation.exec.%s in the config file (%s)", name, name, hint)
	}
	e := &Exec{name: name, timeout: opts.Timeout, out: cmds.Out, in: cmds.In, status: cmds.Status}
	for _, c := range []struct {
		key  string
		argv []string
	}{{"out", e.out}, {"in", e.in}, {"status", e.status}} {
		if c.argv == nil {
			return nil, configErrorf("config file rotation.exec.%s: no %q command (out, in and status are all needed: status checks the other two)", name, c.key)
		}
	}
	return e, nil
}

// Type implements Method.
func (e *Exec) Type() string { return "exec" }

// Target implements Method: the name of the command set.
func (e *Exec) Target() string { return strings.ToLower(e.name) }

// Status implements Method: what the status command prints, IN or OUT;
// anything else (or a failure) is an error and the status unknown.
func (e *Exec) Status(ctx context.Context) (Status, error) {
	out, err := runArgvOutput(ctx, e.timeout, "exec "+e.name+": status", e.status)
	if err != nil {
		return Unknown, err
	}
	switch s := strings.TrimSpace(out); s {
	case string(In):
		return In, nil
	case string(Out):
		return Out, nil
	default:
		return Unknown, fmt.Errorf("exec %s: status `%s` printed %q: want IN or OUT", e.name, redact.String(strings.Join(e.status, " ")), redact.String(clipOutput(s, 80)))
	}
}

// change runs out or in and checks that status then says want.
func (e *Exec) change(ctx context.Context, what string, argv []string, want Status) error {
	if err := runArgv(ctx, e.timeout, "exec "+e.name+": "+what, argv); err != nil {
		if st, serr := e.Status(ctx); serr == nil {
			return fmt.Errorf("%w (status now %s)", err, st)
		}
		return err
	}
	st, err := e.Status(ctx)
	if err != nil {
		return fmt.Errorf("after %s: %w", what, err)
	}
	if st != want {
		return fmt.Errorf("exec %s: status says %s after `%s` succeeded: the change did not take effect", e.name, st, redact.String(strings.Join(argv, " ")))
	}
	return nil
}

// Out implements Method.
func (e *Exec) Out(ctx context.Context, save func(any) error) (bool, error) {
	st, err := e.Status(ctx)
	if err != nil {
		return false, err
	}
	if st == Out {
		return false, nil
	}
	if err := save(execUndo{Before: st}); err != nil {
		return false, err
	}
	if err := e.change(ctx, "out", e.out, Out); err != nil {
		return false, err
	}
	return true, nil
}

// In implements Method: runs in unless status already says IN.
func (e *Exec) In(ctx context.Context, _ json.RawMessage) (bool, error) {
	st, err := e.Status(ctx)
	if err != nil {
		return false, err
	}
	if st == In {
		return false, nil
	}
	if err := e.change(ctx, "in", e.in, In); err != nil {
		return false, err
	}
	return true, nil
}
