package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/kballard/go-shellquote"
)

func init() { register("exec", newExec) }

const (
	// maxExecOutput bounds what a command may print on stdout.
	maxExecOutput = 1 << 20
	// execWaitDelay bounds how long Read waits, once the command has exited
	// or been killed, for its output to close: a background child that
	// inherited stdout must not hang the read.
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
// read timeout is killed.
func (s *execSource) Read(ctx context.Context) (float64, error) {
	runCtx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, s.path, s.args...)
	stdout := &cappedBuffer{limit: maxExecOutput, failOnOverflow: true}
	stderr := &cappedBuffer{limit: 4 << 10}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = execWaitDelay
	err := cmd.Run()
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

// commandError describes a failed run, with the first line of stderr.
func commandError(err error, stderr string) error {
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		err = fmt.Errorf("exit code %d", ee.ExitCode())
	case errors.As(err, &ee): // killed by a signal
		err = errors.New(ee.String())
	case errors.Is(err, exec.ErrWaitDelay):
		err = errors.New("exited, but a child process kept its output open")
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
