package trace

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// A line is one line whatever the answer holds, with a URL's user info
// masked and a balancer's or a program's text unable to drive a terminal
// or a CI runner.
func TestLineIsSafe(t *testing.T) {
	var b bytes.Buffer
	at := time.Date(2026, 12, 7, 16, 0, 0, 0, time.UTC)
	ctx := With(context.Background(), New(&b, func() time.Time { return at }))
	done := Start(ctx, "exec", Argv([]string{"curl", "http://ops:s3cret@h/x", "a b"}))
	done(Answer("\n::error::pwned\x1b[2J\nsecond line\nthird\n"))
	got := b.String()
	if strings.Count(got, "\n") != 1 || !strings.HasSuffix(got, "\n") {
		t.Fatalf("not one line: %q", got)
	}
	if !strings.HasPrefix(got, `16:00:00 exec curl http://xxxxx@h/x "a b" -> "::error::pwned\x1b[2J" (+2 lines) (`) {
		t.Errorf("line = %q", got)
	}
	if strings.Contains(got, "s3cret") || strings.Contains(got, "\x1b") {
		t.Errorf("secret or escape in %q", got)
	}
}

// Without a log in the context nothing is written and nothing fails.
func TestNoLogNoLine(t *testing.T) {
	Start(context.Background(), "haproxy", "show stat")("ok")
	if From(context.Background()) != nil {
		t.Fatal("a log from nowhere")
	}
}

func TestExit(t *testing.T) {
	if got := Exit(nil); got != "exit 0" {
		t.Errorf("Exit(nil) = %q", got)
	}
	if got := Exit(errors.New("exec: \"nope\": not found")); got != `error: exec: "nope": not found` {
		t.Errorf("Exit(not found) = %q", got)
	}
	if got := Answer("  "); got != "ok (empty answer)" {
		t.Errorf("Answer(blank) = %q", got)
	}
}
