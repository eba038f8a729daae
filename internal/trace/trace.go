// Package trace is the log of --verbose: one line for each call drain makes
// to another server or program (an HTTP request, a HAProxy runtime API
// command, an etcd call, a program or a PowerShell script it runs), when it
// ends: what was asked, how it ended, how long it took.
//
// The CLI puts the log in the command's context (With), as net/http/httptrace
// carries its hooks; the packages that talk to the outside call Start where
// they do. Without a log in the context nothing is written and Start costs a
// context lookup.
//
// A line is made safe in one place, Line: the user info of every URL is
// masked (redact) and text from outside (a balancer's answer, a command
// line) is one line with its control characters and CI commands escaped.
// Callers never pass a header, a request body, an environment variable's
// value or a token: only what they would show in an error.
package trace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/drain-cli/drain/internal/redact"
	"github.com/drain-cli/drain/internal/untrusted"
)

// Log writes the lines of one command, one whole line per write: calls
// made at once (sources polled in parallel) do not interleave.
type Log struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
}

// New returns a log that writes to w, with the time of day from now.
func New(w io.Writer, now func() time.Time) *Log {
	if now == nil {
		now = time.Now
	}
	return &Log{w: w, now: now}
}

// Line writes one line: "15:04:05 KIND WHAT -> RESULT (TOOK)".
func (l *Log) Line(kind, what, result string, took time.Duration) {
	if l == nil {
		return
	}
	line := fmt.Sprintf("%s %s %s -> %s (%s)", l.now().Format("15:04:05"), kind, what, result, took.Round(time.Millisecond))
	line = untrusted.Line(redact.String(line)) + "\n"
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = io.WriteString(l.w, line)
}

type key struct{}

// With returns ctx carrying l (nil: ctx as it is).
func With(ctx context.Context, l *Log) context.Context {
	if l == nil {
		return ctx
	}
	return context.WithValue(ctx, key{}, l)
}

// From returns the log ctx carries, or nil.
func From(ctx context.Context) *Log {
	if ctx == nil {
		return nil
	}
	l, _ := ctx.Value(key{}).(*Log)
	return l
}

// Start begins one call of kind (haproxy, exec, powershell) described by
// what; the function it returns writes its line with the result. Without a
// log in ctx it does nothing.
func Start(ctx context.Context, kind, what string) func(result string) {
	l := From(ctx)
	if l == nil {
		return func(string) {}
	}
	start := time.Now()
	return func(result string) { l.Line(kind, what, result, time.Since(start)) }
}

// Exit is how a program ended, for its line: "exit 0", "exit 3",
// "error: ...".
func Exit(err error) string {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "exit 0"
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return fmt.Sprintf("exit %d", ee.ExitCode())
	}
	return "error: " + err.Error()
}

// Argv shows a command line: each argument quoted when it holds a blank or
// a quote, so that the line reads as it was run.
func Argv(argv []string) string {
	parts := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\"'") {
			a = fmt.Sprintf("%q", a)
		}
		parts[i] = a
	}
	return strings.Join(parts, " ")
}

// Answer sums up an answer for its line: its first line, clipped, and how
// many more there are ("ok (empty answer)" when there is none).
func Answer(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "ok (empty answer)"
	}
	first, rest, _ := strings.Cut(s, "\n")
	first = strings.TrimSpace(first)
	if r := []rune(first); len(r) > 80 {
		first = string(r[:79]) + "…"
	}
	if n := strings.Count(rest, "\n"); rest != "" {
		return fmt.Sprintf("%q (+%d lines)", first, n+1)
	}
	return fmt.Sprintf("%q", first)
}
