package rotation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strings"
	"time"

	"github.com/drain-cli/drain/internal/redact"
	"github.com/drain-cli/drain/internal/trace"
)

// Commands run as argv, without a shell, by the methods built on the
// user's commands (exec, nginx-upstream's test and reload).

// runArgv runs argv, bounded by timeout (30 s when unset), and names how
// it failed with its output clipped.
func runArgv(ctx context.Context, timeout time.Duration, what string, argv []string) error {
	_, err := runArgvOutput(ctx, timeout, what, argv)
	return err
}

// runArgvOutput runs argv (no shell) and returns its standard output; an
// error names the command, how it ended (exit code, timeout, not found) and
// its output, clipped.
func runArgvOutput(ctx context.Context, timeout time.Duration, what string, argv []string) (string, error) {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := trace.Start(ctx, "exec", trace.Argv(argv))
	err := cmd.Run()
	done(trace.Exit(err))
	if err == nil {
		return stdout.String(), nil
	}
	shown := strings.Join(argv, " ")
	var ee *exec.ExitError
	var how string
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		how = fmt.Sprintf("timed out after %s", timeout)
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		how = fmt.Sprintf("exit code %d", ee.ExitCode())
	case errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist):
		how = "not found"
	default:
		how = err.Error()
	}
	out := strings.TrimSpace(stderr.String())
	if o := strings.TrimSpace(stdout.String()); o != "" {
		out = strings.TrimSpace(out + " " + o)
	}
	msg := fmt.Sprintf("%s `%s` failed: %s", what, shown, how)
	if out != "" {
		msg += ": " + clipOutput(out, 300)
	}
	// A URL's user info in the command or its output is never shown.
	return stdout.String(), errors.New(redact.String(msg))
}

// clipOutput puts a command's output on one line of at most limit runes.
func clipOutput(s string, limit int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) > limit {
		return string(r[:limit]) + "…"
	}
	return s
}
