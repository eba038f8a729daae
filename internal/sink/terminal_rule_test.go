package sink

import (
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/iostreams"
)

// TestTerminalSaysTheSettleRule: with --settle not given, the live view
// shows the window that applied at the poll (0 here, not the configured
// 5 s) and the rule that chose it, escaped like any outside text.
func TestTerminalSaysTheSettleRule(t *testing.T) {
	ios, _, errOut := iostreams.Test()
	ios.SetTTY(true, false)
	ios.SetSize(func() (int, int) { return 200, 24 })
	term := NewTerminal(ios, "run", TerminalOptions{Settle: 5 * time.Second, Timeout: time.Minute})
	e := twoSources(2, 1)
	zero := drain.Seconds(0)
	e.Settle = &zero
	e.Rule = "no settle window: the load balancer stopped sending (admin drain, health up\x1b[2J) and its arrivals counter did not move"
	term.Event(e)
	if err := term.Close(); err != nil {
		t.Fatal(err)
	}
	text := strings.Join(screen(errOut.String()), "\n")
	if !strings.Contains(text, "no settle window: the load balancer stopped sending") || strings.Contains(text, "settle 0s/5s") {
		t.Fatalf("want the rule and no 5 s settle progress:\n%s", text)
	}
	if strings.Contains(errOut.String(), "\x1b[2J") {
		t.Fatal("an escape from the balancer's words reached the terminal")
	}
}
