package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func errorsAs(err error, target any) bool { return err != nil && errors.As(err, target) }

// parseEvents reads drain's --output json stdout, one event per line.
func parseEvents(t *testing.T, out []byte) []event {
	t.Helper()
	var events []event
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("stdout line is not JSON: %q", sc.Text())
		}
		events = append(events, e)
	}
	return events
}

// drainedThenActed checks a drain run's NDJSON: the last event is a drained
// result with the server OUT and exit 0, and the action started. It returns
// when the action started.
func drainedThenActed(t *testing.T, out []byte) time.Time {
	t.Helper()
	events := parseEvents(t, out)
	var actionStart time.Time
	for _, e := range events {
		if e.Event == "action" && e.Message == "started" {
			actionStart = e.Time
		}
	}
	last := events[len(events)-1]
	if last.Event != "result" || last.Result != "drained" || last.Rotation != "OUT" || last.ExitCode == nil || *last.ExitCode != 0 {
		t.Errorf("result event = %+v", last)
	}
	if actionStart.IsZero() {
		t.Fatal("no action start event")
	}
	return actionStart
}
