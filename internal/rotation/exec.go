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

// checkSettingKeys rejects a setting of the config file's rotation.TYPE
// section that typ does not know, naming the closest known one.
func checkSettingKeys(typ string, settings map[string]any, known ...string) error {
	var bad []string
	for k := range settings {
		if !containsFold(known, k) {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	msg := fmt.Sprintf("%s: config file rotation.%s: unknown setting %q", ErrConfig.Error(), typ, bad[0])
	if len(known) == 0 {
		msg += fmt.Sprintf(" (%s has no settings)", typ)
	} else {
		msg += " (settings: " + strings.Join(known, ", ") + ")" + nearestName(bad[0], known)
	}
	return fmt.Errorf("%w%s", ErrConfig, strings.TrimPrefix(msg, ErrConfig.Error()))
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func init() {
	Register(Type{
		Name:    "exec",
		Syntax:  "NAME",
		Example: "exec:consul",
		Summary: "runs the out, in and status commands named NAME in the config file (rotation.exec.NAME), for any balancer with a CLI",
		New:     newExec,
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

func newExec(target string, opts Options) (Method, error) {
	name := strings.TrimSpace(target)
	var names []string
	for k := range opts.Settings {
		names = append(names, k)
	}
	sort.Strings(names)
	raw, ok := settingFold(opts.Settings, name)
	if !ok {
		hint := "define it in the config file: rotation: {exec: {" + name + ": {out: [...], in: [...], status: [...]}}}"
		if len(names) > 0 {
			hint = "the config file has: " + strings.Join(names, ", ") + nearestName(name, names)
		}
		return nil, fmt.Errorf("%w: exec %q: no rotation.exec.%s in the config file (%s)", ErrConfig, name, name, hint)
	}
	sect, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: config file rotation.exec.%s: want a map with out, in and status (argv lists)", ErrConfig, name)
	}
	if err := checkSettingKeys("exec."+name, sect, "out", "in", "status"); err != nil {
		return nil, err
	}
	e := &Exec{name: name, timeout: opts.Timeout}
	for key, dst := range map[string]*[]string{"out": &e.out, "in": &e.in, "status": &e.status} {
		v, ok := settingFold(sect, key)
		if !ok {
			return nil, fmt.Errorf("%w: config file rotation.exec.%s: no %q command (out, in and status are all needed: status checks the other two)", ErrConfig, name, key)
		}
		argv, err := argvSetting("exec."+name, key, v)
		if err != nil {
			return nil, err
		}
		*dst = argv
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
