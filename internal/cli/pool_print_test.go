package cli

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/drain-cli/drain/internal/iostreams"
	"github.com/drain-cli/drain/internal/rotation"
)

// countingWriter counts the Write calls that reach it (each one a write
// system call on a terminal or a pipe).
type countingWriter struct {
	bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}

// TestPrintPoolWritesInFewCalls: the pool table of 5000 servers reaches
// stdout in a few large writes, not one per cell (issue 22: about 75 000
// write calls, a fifth of status --pool's CPU at 5000 servers).
func TestPrintPoolWritesInFewCalls(t *testing.T) {
	const n = 5000
	rep := poolReport{Pool: "web", Target: "haproxy:/run/haproxy.sock#web"}
	for i := 1; i <= n; i++ {
		rep.Members = append(rep.Members, poolRow{Member: rotation.Member{Name: fmt.Sprintf("s%d", i), InRotation: i%7 != 0, Admin: "enabled", Health: "up"}})
		if rep.Members[i-1].InRotation {
			rep.InRotation++
		}
	}
	ios, _, _ := iostreams.Test()
	w := &countingWriter{}
	ios.Out = w
	printPool(ios, rep)
	out := w.String()
	if lines := strings.Count(out, "\n"); lines != n+2 {
		t.Fatalf("%d lines, want %d (title, header, one per server)", lines, n+2)
	}
	if !strings.HasPrefix(out, "pool web  haproxy:/run/haproxy.sock#web  4286 of 5000 in rotation\n  SERVER  ") {
		t.Errorf("title and header: %q", out[:120])
	}
	if !strings.Contains(out, "\n  s4999   IN        enabled  up      -         -      -\n") {
		t.Errorf("row of s4999 not aligned as expected:\n%s", out[len(out)-400:])
	}
	// One write per 64 KiB at most, plus the last.
	if max := len(out)/(64<<10) + 2; w.writes > max {
		t.Errorf("%d write calls for %d bytes, want at most %d", w.writes, len(out), max)
	}
}
