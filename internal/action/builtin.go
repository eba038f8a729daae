package action

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Built-in actions are changes that check the current state first (running
// one twice says "already ...") and wait until the change has taken effect.
// stop-service lives here; the IIS ones (recycle-apppool, stop-apppool,
// start-apppool, stop-site, iisreset-stop) register from internal/iis.

// StopService is the built-in that stops a Windows service.
const StopService = "stop-service"

// ErrUsage marks an action that cannot be used as written (wrong arguments,
// a built-in on the wrong OS, an unknown pool): a usage error, found before
// anything changes.
var ErrUsage = errors.New("bad action")

// ErrRights marks a built-in that drain may not perform as it runs (not
// elevated, or the service refuses the stop right): found before anything
// changes, so the server is never taken out only to fail at the action.
var ErrRights = errors.New("not allowed")

// BuiltinFunc builds a built-in from its argument, checking (within ctx)
// everything that can be checked before anything changes. timeout bounds
// the change when it runs; 0 means no limit.
type BuiltinFunc func(ctx context.Context, arg string, timeout time.Duration) (Action, error)

// Builtin describes one built-in action: its only self-description (the
// help, the hints and the parser read it from the registry).
type Builtin struct {
	Name    string // as written first in the action, e.g. "stop-service"
	Arg     string // the name of its one argument ("" = none), e.g. "SERVICE"
	Summary string // one line: what it does
	// OS is the GOOS it runs on ("" = every OS). Elsewhere its name is
	// still recognised (never run as a program) and refused with WrongOS,
	// so New is only called on OS.
	OS  string
	New BuiltinFunc
}

// Usage is the built-in as it is written, "NAME ARG".
func (b Builtin) Usage() string { return strings.TrimSpace(b.Name + " " + b.Arg) }

// builtins maps each built-in's name to its descriptor.
var builtins = map[string]Builtin{}

// RegisterBuiltin adds a built-in; call it from an init function, on every
// OS. A name registered twice panics.
func RegisterBuiltin(b Builtin) {
	if _, dup := builtins[b.Name]; dup {
		panic("action: built-in registered twice: " + b.Name)
	}
	builtins[b.Name] = b
}

// LookupBuiltin returns the built-in named name.
func LookupBuiltin(name string) (Builtin, bool) {
	b, ok := builtins[name]
	return b, ok
}

// BuiltinTypes lists the built-ins, sorted by name.
func BuiltinTypes() []Builtin {
	out := make([]Builtin, 0, len(builtins))
	for _, n := range Builtins() {
		out = append(out, builtins[n])
	}
	return out
}

// Builtins lists the built-in action names, sorted.
func Builtins() []string {
	out := make([]string, 0, len(builtins))
	for k := range builtins {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// BuiltinUsages lists each built-in as it is written, "NAME ARG" (sorted):
// what the help and the hints show.
func BuiltinUsages() []string {
	bs := BuiltinTypes()
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.Usage()
	}
	return out
}

// BuiltinHelp is BuiltinUsages as one comma-separated list.
func BuiltinHelp() string { return strings.Join(BuiltinUsages(), ", ") }

// WrongOS is the error of a Windows built-in asked for elsewhere.
func WrongOS(name string) error {
	return fmt.Errorf("%w: %s is a Windows built-in (IIS / Service Control Manager), not available on %s; give a command after -- instead", ErrUsage, name, runtime.GOOS)
}

// ParseBuiltin recognises a built-in: ok is false for a plain command.
func ParseBuiltin(argv []string) (name, arg string, ok bool, err error) {
	b, ok := builtins[argv[0]]
	if !ok {
		return "", "", false, nil
	}
	name, want := argv[0], b.Arg
	switch {
	case want == "" && len(argv) > 1:
		return name, "", true, fmt.Errorf("%w: %s takes no arguments, got %q", ErrUsage, name, argv[1])
	case want != "" && len(argv) != 2:
		return name, "", true, fmt.Errorf("%w: usage: %s %s (one name; quote it if it has spaces)", ErrUsage, name, want)
	case want != "" && strings.TrimSpace(argv[1]) == "":
		return name, "", true, fmt.Errorf("%w: %s: empty %s name", ErrUsage, name, want)
	}
	if want != "" {
		arg = argv[1]
	}
	return name, arg, true, nil
}

// checkTimeout bounds the checks a built-in makes before anything changes.
const checkTimeout = 30 * time.Second

func newBuiltin(name, arg string, timeout time.Duration) (Action, error) {
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	b := builtins[name]
	if b.OS != "" && b.OS != runtime.GOOS {
		return nil, WrongOS(name)
	}
	return b.New(ctx, arg, timeout)
}

// QuoteArg quotes a built-in's argument for display when it needs it.
func QuoteArg(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\"'") {
		return strconv.Quote(s)
	}
	return s
}

// RunBuiltin runs a built-in action's change within timeout, prints the line
// that says what happened, and maps a failure to ErrFailed the way a command's
// timeout or interrupt is reported.
func RunBuiltin(ctx context.Context, a fmt.Stringer, timeout time.Duration, stdout io.Writer,
	change func(context.Context, io.Writer) (string, error),
) (Result, error) {
	start := time.Now()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	msg, err := change(ctx, stdout)
	res := Result{Duration: time.Since(start)}
	if err != nil {
		res.ExitCode = 1
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			res.TimedOut = true
			if errors.Is(err, context.DeadlineExceeded) { // ended inside a call
				return res, fmt.Errorf("%w: %s: timed out after %s", ErrFailed, a, timeout)
			}
			return res, fmt.Errorf("%w: %s: %w after %s", ErrFailed, a, err, timeout)
		case ctx.Err() != nil:
			return res, fmt.Errorf("%w: %s: interrupted: %w", ErrFailed, a, err)
		}
		return res, fmt.Errorf("%w: %s: %w", ErrFailed, a, err)
	}
	fmt.Fprintln(stdout, msg)
	return res, nil
}
