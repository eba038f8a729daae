package sink

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/iostreams"
)

// TestLinesHeartbeatThroughAPipe (issue 19): in plain mode a wait on a
// value that does not change used to print one line and then nothing until
// it ended (CI systems kill jobs that print nothing). With a heartbeat of
// 200 ms injected through the options (the default is 30 s), lines keep
// coming through a real pipe while the value stays the same, each saying
// what it waits on, the values and the time left; they stop when the wait
// ends.
func TestLinesHeartbeatThroughAPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ios, _, _ := iostreams.Test()
	ios.ErrOut = w
	const beat = 200 * time.Millisecond
	l := NewLinesWith(ios, "run", LinesOptions{Heartbeat: beat})

	type line struct {
		at   time.Time
		text string
	}
	lines := make(chan line, 100)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- line{time.Now(), sc.Text()}
		}
		close(lines)
	}()

	start := time.Now()
	l.Event(twoSources(1, 3)) // busy, and it stays so
	first := <-lines
	if !strings.Contains(first.text, "waiting on") || strings.Contains(first.text, "still waiting") {
		t.Fatalf("first line %q, want the poll", first.text)
	}
	// The same poll again and again, as the drain sends it every interval:
	// no new line by itself, only the heartbeat.
	stopPolls := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for {
			select {
			case <-stopPolls:
				return
			case <-time.After(50 * time.Millisecond):
				l.Event(twoSources(1, 3))
			}
		}
	}()
	var beats []line
	deadline := time.After(30 * time.Second) // generous: a loaded machine
	for len(beats) < 3 {
		select {
		case ln := <-lines:
			beats = append(beats, ln)
		case <-deadline:
			t.Fatalf("only %d heartbeat lines in 30 s: %+v", len(beats), beats)
		}
	}
	close(stopPolls)
	<-polled
	for _, b := range beats {
		for _, want := range []string{"still waiting on prom:http://127.0.0.1:9100/metrics", "=3 (>0)", "s left"} {
			if !strings.Contains(b.text, want) {
				t.Errorf("heartbeat %q lacks %q", b.text, want)
			}
		}
	}
	// Not before the heartbeat is due: at least beat after the line before
	// (the upper bound is the machine's load, not asserted).
	prev := first.at
	for _, b := range beats {
		if gap := b.at.Sub(prev); gap < beat-20*time.Millisecond {
			t.Errorf("heartbeat %v after the line before, want at least %v", gap, beat)
		}
		prev = b.at
	}
	if time.Since(start) < 3*beat {
		t.Errorf("3 heartbeats in %v: faster than one per %v", time.Since(start), beat)
	}

	// The wait ends: the heartbeat stops.
	l.Event(drain.Event{Event: drain.EvDrained, Elapsed: 2, Message: "all sources idle"})
	<-lines
	l.Event(result(0, drain.ResultDrained, "OUT"))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case ln := <-lines:
		t.Errorf("a line after the wait ended: %q", ln.text)
	case <-time.After(3 * beat):
	}
	_ = w.Close()
}

// TestHeartbeatText: what the line says, with and without a timeout.
func TestHeartbeatText(t *testing.T) {
	e := twoSources(1, 3) // 59 s left at the poll
	got := heartbeatText(e, 4*time.Second)
	if !strings.HasPrefix(got, "still waiting on prom:") || !strings.HasSuffix(got, "; 55s left") || !strings.Contains(got, "=3 (>0)") {
		t.Errorf("heartbeat %q", got)
	}
	e.Remaining = nil
	if got := heartbeatText(e, time.Second); !strings.HasSuffix(got, "; no timeout") {
		t.Errorf("without a timeout: %q", got)
	}
	e.Remaining = secsPtr(1)
	if got := heartbeatText(e, time.Minute); !strings.HasSuffix(got, "; 0s left") {
		t.Errorf("past the timeout: %q", got)
	}
}

// TestDefaultHeartbeatIs30s: the documented default.
func TestDefaultHeartbeatIs30s(t *testing.T) {
	ios, _, _ := iostreams.Test()
	if l := NewLines(ios, "run", nil); l.heartbeat != 30*time.Second || DefaultHeartbeat != 30*time.Second {
		t.Errorf("default heartbeat %v", l.heartbeat)
	}
}
