// Package action runs what drain does once the server is idle: a command
// given as an argv (no shell unless asked for), with its output streamed and
// its whole process tree killed on timeout or interrupt.
package action

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/drain-cli/drain/internal/proctree"
	"github.com/drain-cli/drain/internal/redact"
	"github.com/drain-cli/drain/internal/trace"
)

// ErrNotFound marks an action whose program cannot be found (a usage error:
// it is checked before anything changes).
var ErrNotFound = errors.New("action program not found")

// KillGrace is how long a cancelled action gets between the polite stop
// (SIGTERM; on Windows the tree is ended at once) and the hard kill.
var KillGrace = 5 * time.Second

// Action is what runs once the server is drained: a command, or a built-in
// (an app pool recycle, a service stop) that waits until its change has
// taken effect.
type Action interface {
	// Run performs the action, streaming what it prints to stdout/stderr.
	// An error means it failed (wrapping ErrFailed) or was interrupted.
	Run(ctx context.Context, stdout, stderr io.Writer) (Result, error)
	// String is the action as shown to the operator.
	String() string
}

// Exec runs a program.
type Exec struct {
	Argv    []string
	Timeout time.Duration // 0 = no limit beyond the caller's context
}

// New returns the action argv names, checked before anything changes: its
// program must exist. With shell, the single command line is run by the
// platform shell (sh -c, cmd /C). timeout 0 means no limit.
//
// A built-in (recycle-apppool POOL, stop-service NAME, ...; see Builtins) is
// recognised by its first word unless shell is set; on Windows its pool, site
// or service must exist, elsewhere it is a usage error (ErrUsage).
func New(argv []string, shell bool, timeout time.Duration) (Action, error) {
	if !shell && len(argv) > 0 {
		if name, arg, ok, err := ParseBuiltin(argv); ok {
			if err != nil {
				return nil, err
			}
			return newBuiltin(name, arg, timeout)
		}
	}
	e, err := newExec(argv, shell)
	if err != nil {
		return nil, err
	}
	e.Timeout = timeout
	return e, nil
}

func newExec(argv []string, shell bool) (*Exec, error) {
	if len(argv) == 0 || strings.TrimSpace(argv[0]) == "" {
		return nil, errors.New("empty action")
	}
	if shell {
		line, err := shellLine(argv, runtime.GOOS == "windows")
		if err != nil {
			return nil, err
		}
		if runtime.GOOS == "windows" {
			argv = []string{"cmd", "/C", line}
		} else {
			argv = []string{"sh", "-c", line}
		}
	}
	if _, err := exec.LookPath(argv[0]); err != nil {
		return nil, fmt.Errorf("%w: %q (%w)", ErrNotFound, argv[0], errors.Unwrap(err))
	}
	return &Exec{Argv: argv}, nil
}

// ErrShellLine marks --shell words that cannot be joined into one command
// line without changing what they say (a usage error).
var ErrShellLine = errors.New("ambiguous --shell action")

// shellLine returns the one command line the shell runs for argv. One word
// is the line itself: drain run --shell -- 'systemctl stop app && echo ok'.
// Several words are joined with spaces only when that cannot change their
// meaning. A word with a blank, a quote or a character the shell treats
// specially ($, *, &&, |, ...) may have been quoted to be taken literally or
// left for the shell to read, and joining would silently pick the second:
// that is refused rather than guessed.
func shellLine(argv []string, windows bool) (string, error) {
	if len(argv) == 1 {
		return argv[0], nil
	}
	for _, w := range argv {
		if !plainWord(w, windows) {
			return "", fmt.Errorf("%w: %d words, and joining them into one command line would change %q", ErrShellLine, len(argv), w)
		}
	}
	return strings.Join(argv, " "), nil
}

// plainWord reports whether w means the same to the shell (sh, or cmd on
// Windows) as to exec: letters, digits and _@+=:,./- (and \ on Windows, %
// elsewhere).
func plainWord(w string, windows bool) bool {
	if w == "" {
		return false
	}
	for _, r := range w {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		case strings.ContainsRune("_@+=:,./-", r):
		case windows && r == '\\', !windows && r == '%':
		default:
			return false
		}
	}
	return true
}

// String renders the command line for display, with the user info of URLs
// in it redacted (curl http://user:pass@host/... is a common action).
func (e *Exec) String() string {
	parts := make([]string, len(e.Argv))
	for i, a := range e.Argv {
		if a == "" || strings.ContainsAny(a, " \t\"'") {
			a = fmt.Sprintf("%q", a)
		}
		parts[i] = redact.String(a)
	}
	return strings.Join(parts, " ")
}

// Result is how an action ended.
type Result struct {
	ExitCode int           // -1 when it did not exit normally
	Duration time.Duration //
	TimedOut bool          // killed after Timeout
	Tail     string        // last lines of its stderr, for the error message
}

// OutputGrace is how long Run forwards output once the action has exited:
// what it printed last, or a child it left behind, has this long to arrive.
var OutputGrace = 500 * time.Millisecond

// ErrFailed is returned (wrapped) when the action ran and did not succeed.
var ErrFailed = errors.New("action failed")

// Run starts the action, streams its output to stdout and stderr, and waits.
// On timeout or ctx cancellation the whole process tree is stopped.
func (e *Exec) Run(ctx context.Context, stdout, stderr io.Writer) (Result, error) {
	runCtx, cancel := ctx, context.CancelFunc(func() {})
	if e.Timeout > 0 {
		runCtx, cancel = context.WithTimeout(ctx, e.Timeout)
	}
	defer cancel()

	tail := &tailBuffer{max: 2048}
	// Not CommandContext: that kills only the direct child, at once; the
	// goroutine below stops the whole tree, politely first.
	cmd := exec.Command(e.Argv[0], e.Argv[1:]...) //nolint:noctx // see above
	proctree.Prepare(cmd)
	out, err := startOutput(cmd, stdout, io.MultiWriter(stderr, tail))
	if err != nil {
		return Result{ExitCode: -1}, fmt.Errorf("%w: %w", ErrFailed, err)
	}

	start := time.Now()
	traced := trace.Start(ctx, "exec", trace.Argv(e.Argv))
	err = cmd.Start()
	out.started()
	if err != nil {
		out.detach()
		traced(trace.Exit(err))
		return Result{ExitCode: -1}, fmt.Errorf("%w: start %s: %w", ErrFailed, e.Argv[0], err)
	}
	tree := proctree.Attach(cmd)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		select {
		case <-done:
			return
		case <-runCtx.Done():
		}
		tree.Terminate()
		select {
		case <-done:
		case <-time.After(KillGrace):
		}
		tree.Kill()
	}()
	err = cmd.Wait() // the action's own exit: the pipes are ours, exec does not wait on them
	close(done)
	<-stopped
	// A child the action left running (sh -c 'daemon &') may hold the output
	// open for as long as it lives: forward what comes within OutputGrace,
	// then stop, without failing the action or touching the child.
	out.wait(OutputGrace)
	tree.Close()

	res := Result{ExitCode: cmd.ProcessState.ExitCode(), Duration: time.Since(start), Tail: tail.String()}
	traced(trace.Exit(err))
	switch {
	case errors.Is(runCtx.Err(), context.DeadlineExceeded) && ctx.Err() == nil:
		res.TimedOut = true
		return res, fmt.Errorf("%w: timed out after %s; the process tree was killed", ErrFailed, e.Timeout)
	case ctx.Err() != nil:
		return res, fmt.Errorf("%w: interrupted; the process tree was stopped", ErrFailed)
	case err != nil:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if res.ExitCode >= 0 {
				return res, fmt.Errorf("%w: exit code %d", ErrFailed, res.ExitCode)
			}
			return res, fmt.Errorf("%w: %s", ErrFailed, ee.String())
		}
		return res, fmt.Errorf("%w: %w", ErrFailed, err)
	}
	return res, nil
}

// output copies an action's stdout and stderr from pipes of drain's own,
// rather than exec's: exec's Wait waits until every holder of the pipes has
// closed them (or WaitDelay expires, which it reports as a failure), and a
// child the action started in the background holds them as long as it runs.
type output struct {
	w      [2]*os.File // the write ends, the child's
	dst    [2]*switchWriter
	copied chan struct{}
}

func startOutput(cmd *exec.Cmd, stdout, stderr io.Writer) (*output, error) {
	o := &output{copied: make(chan struct{}, 2)}
	var files [2]*os.File // what the action writes to
	for i, dst := range []io.Writer{stdout, stderr} {
		if f, ok := dst.(*os.File); ok {
			// A file or terminal is handed to the action as it is (it may
			// want to know it writes to a terminal): nothing to copy.
			files[i] = f
			o.copied <- struct{}{}
			continue
		}
		r, w, err := os.Pipe()
		if err != nil {
			o.started()
			return nil, fmt.Errorf("output pipe: %w", err)
		}
		files[i], o.w[i], o.dst[i] = w, w, &switchWriter{w: dst}
		go func() {
			// Until the last writer closes: after detach, into io.Discard,
			// so a child left running never blocks on a full pipe nor dies
			// of a broken one.
			_, _ = io.Copy(o.dst[i], r)
			_ = r.Close()
			o.copied <- struct{}{}
		}()
	}
	cmd.Stdout, cmd.Stderr = files[0], files[1]
	return o, nil
}

// started closes drain's copies of the write ends once the child has its
// own (or failed to start), so that the copies end when the tree's do.
func (o *output) started() {
	for _, w := range o.w {
		if w != nil {
			_ = w.Close()
		}
	}
}

// wait waits up to grace for both copies to end, then detaches them.
func (o *output) wait(grace time.Duration) {
	timer := time.NewTimer(grace)
	defer timer.Stop()
	for range 2 {
		select {
		case <-o.copied:
		case <-timer.C:
			o.detach()
			return
		}
	}
}

// detach makes the copies write nowhere from now on: Run has returned, and
// its caller's writers are no longer the action's to use.
func (o *output) detach() {
	for _, d := range o.dst {
		if d != nil {
			d.set(io.Discard)
		}
	}
}

// switchWriter writes to w until set changes it; set returns once no write
// to the old w is under way.
type switchWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *switchWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.w.Write(p); err != nil {
		s.w = io.Discard // keep draining: the action must not get a broken pipe from us
	}
	return len(p), nil
}

func (s *switchWriter) set(w io.Writer) {
	s.mu.Lock()
	s.w = w
	s.mu.Unlock()
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(strings.TrimRight(string(t.b), "\r\n"), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}
