package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/kballard/go-shellquote"

	"github.com/drain-cli/drain/internal/proctree"
	"github.com/drain-cli/drain/internal/trace"
)

func init() {
	Register(Type{
		Name: "exec", Syntax: "COMMAND", Example: "exec:/usr/local/bin/inflight --json",
		Summary:     "the one number a command prints (no shell)",
		DefaultName: execName, New: newExec,
	})
}

const (
	// maxExecOutput bounds what a command may print on stdout.
	maxExecOutput = 1 << 20
	// execWaitDelay bounds how long Read waits, once the command has exited
	// and its tree was killed, for its output to close: a process that left
	// the tree holding stdout must not hang the read.
	execWaitDelay = time.Second
)

// execSource runs a command, without a shell, that prints one number.
type execSource struct {
	path    string // the program, found at construction
	args    []string
	timeout time.Duration
}

func newExec(target string, opts Options) (Source, error) {
	argv, err := splitCommand(target, runtime.GOOS == "windows")
	switch {
	case errors.Is(err, shellquote.UnterminatedSingleQuoteError):
		return nil, errors.New("command has an unterminated ' quote")
	case errors.Is(err, shellquote.UnterminatedDoubleQuoteError):
		return nil, errors.New(`command has an unterminated " quote`)
	case errors.Is(err, shellquote.UnterminatedEscapeError):
		return nil, errors.New(`command ends with a lone \`)
	case err != nil:
		return nil, err
	case len(argv) == 0:
		return nil, errors.New("empty command")
	}
	// Looking the program up now makes a typo a usage error, reported
	// before anything is changed, rather than a source that never reads.
	path, err := exec.LookPath(argv[0])
	if err != nil {
		var ee *exec.Error
		switch {
		case errors.Is(err, exec.ErrNotFound):
			return nil, fmt.Errorf("program %q not found in PATH", argv[0])
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("program %q not found", argv[0])
		case errors.As(err, &ee):
			return nil, fmt.Errorf("program %q: %w", argv[0], ee.Err)
		}
		return nil, err
	}
	return &execSource{path: path, args: argv[1:], timeout: opts.ReadTimeout}, nil
}

// splitCommand splits a command line with POSIX shell quoting rules. On
// Windows a backslash is an ordinary character, so that C:\tools\count.exe
// needs no quoting: every backslash outside single quotes is doubled, which
// go-shellquote reads back as one.
func splitCommand(s string, windows bool) ([]string, error) {
	if windows && strings.Contains(s, `\`) {
		// With every backslash doubled there are no escapes left, so the
		// quote state is plain to follow.
		var b strings.Builder
		var quote byte // 0, '\'' or '"'
		for i := range len(s) {
			c := s[i]
			switch {
			case quote == 0 && (c == '\'' || c == '"'):
				quote = c
			case c == quote:
				quote = 0
			case c == '\\' && quote != '\'':
				b.WriteByte(c)
			}
			b.WriteByte(c)
		}
		s = b.String()
	}
	return shellquote.Split(s)
}

// Read runs the command and parses its output. A command that runs past the
// read timeout is killed, with everything it started: it runs as a process
// tree (a process group on Unix, a job object on Windows), and once the read
// is over, by timeout or not, nothing of that tree is left running; a source
// that left a process behind at every poll would pile them up.
func (s *execSource) Read(ctx context.Context) (float64, error) {
	runCtx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	stdout := &cappedBuffer{limit: maxExecOutput, failOnOverflow: true}
	stderr := &cappedBuffer{limit: 4 << 10}
	done := trace.Start(ctx, "exec", trace.Argv(append([]string{s.path}, s.args...)))
	err := runTree(runCtx, s.path, s.args, stdout, stderr)
	done(trace.Exit(err))
	switch {
	case stdout.overflow:
		return 0, fmt.Errorf("output larger than %d bytes", maxExecOutput)
	case err != nil && ctx.Err() != nil:
		return 0, ctx.Err()
	case err != nil && runCtx.Err() != nil:
		return 0, fmt.Errorf("timed out after %s (killed)", s.timeout)
	case err != nil:
		return 0, commandError(err, stderr.String())
	}
	out := strings.TrimSpace(stdout.String())
	if out == "" {
		return 0, errors.New("no output; want one number")
	}
	v, err := strconv.ParseFloat(out, 64)
	if err != nil {
		return 0, fmt.Errorf("output %q is not a number", clip(out, 40))
	}
	return finite(v)
}

// runTree runs path as a process tree, copying its output to stdout and
// stderr, and kills the tree when ctx ends or the program exits. The pipes
// are drain's own (not exec's), so that Wait returns when the program exits
// rather than when the last holder of its output lets go; the copies then
// end as the tree dies, or after execWaitDelay for a process that left it.
func runTree(ctx context.Context, path string, args []string, stdout, stderr io.Writer) error {
	cmd := exec.Command(path, args...) //nolint:noctx // ctx kills the whole tree below, not just the program
	proctree.Prepare(cmd)
	outR, outW, err := os.Pipe()
	if err != nil {
		return err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		_ = outR.Close()
		_ = outW.Close()
		return err
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Start()
	_ = outW.Close() // the child has its own copies
	_ = errW.Close()
	if err != nil {
		_ = outR.Close()
		_ = errR.Close()
		return err
	}
	tree := proctree.Attach(cmd)
	defer tree.Close()
	copied := make(chan struct{}, 2)
	for _, c := range []struct {
		r *os.File
		w io.Writer
	}{{outR, stdout}, {errR, stderr}} {
		go func() {
			// A write error (stdout over its cap) stops the copy; closing the
			// reader then gives the program a broken pipe.
			_, _ = io.Copy(c.w, c.r)
			_ = c.r.Close()
			copied <- struct{}{}
		}()
	}
	stop := context.AfterFunc(ctx, tree.Kill)
	err = cmd.Wait()
	stop()
	tree.Kill() // what the program left running: the read is over
	timer := time.NewTimer(execWaitDelay)
	defer timer.Stop()
	for range 2 {
		select {
		case <-copied:
		case <-timer.C:
			// A process that left the tree (setsid, a service) holds the
			// output: stop reading, so the read ends.
			_ = outR.Close()
			_ = errR.Close()
			<-copied
			if err == nil {
				err = errOutputHeld
			}
		}
	}
	return err
}

// errOutputHeld: the program exited but something outside its tree kept
// its output open.
var errOutputHeld = errors.New("exited, but a process it started kept its output open")

// commandError describes a failed run, with the first line of stderr.
func commandError(err error, stderr string) error {
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		err = fmt.Errorf("exit code %d", ee.ExitCode())
	case errors.As(err, &ee): // killed by a signal
		err = errors.New(ee.String())
	}
	for line := range strings.Lines(stderr) {
		if line = clip(line, 200); line != "" {
			return fmt.Errorf("%w: %s", err, line)
		}
	}
	return err
}

// cappedBuffer keeps the first limit bytes written to it. Past that it
// either fails the write, which makes exec stop reading and the program get
// a broken pipe, or silently drops the rest (for stderr, which is only a
// hint).
type cappedBuffer struct {
	buf            []byte
	limit          int
	failOnOverflow bool
	overflow       bool
}

var errOutputTooLarge = errors.New("output too large")

func (c *cappedBuffer) Write(p []byte) (int, error) {
	room := c.limit - len(c.buf)
	if len(p) <= room {
		c.buf = append(c.buf, p...)
		return len(p), nil
	}
	c.buf = append(c.buf, p[:room]...)
	c.overflow = true
	if c.failOnOverflow {
		return room, errOutputTooLarge
	}
	return len(p), nil
}

func (c *cappedBuffer) String() string { return string(c.buf) }

// execName is the command's base name.
func execName(t string) string {
	if f := strings.Fields(t); len(f) > 0 {
		base := path.Base(strings.ReplaceAll(f[0], `\`, "/"))
		return strings.TrimSuffix(strings.TrimSuffix(base, ".exe"), ".EXE")
	}
	return ""
}
