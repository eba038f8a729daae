package drain

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/source"
)

// TestArrivalsBreakSettle: a server whose in-flight gauge reads 0 at every
// poll but whose request counter rises (short requests between polls) is not
// drained until the counter stops rising and a whole settle window passes
// after that; without the total it is drained at once. A real HTTP metrics
// page, the real prom source.
func TestArrivalsBreakSettle(t *testing.T) {
	var scrapes atomic.Int64
	const busyScrapes = 5 // the counter rises on the first five reads
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := scrapes.Add(1)
		total := min(n, busyScrapes) * 3
		fmt.Fprintf(w, "# TYPE inflight gauge\ninflight 0\n# TYPE requests_total counter\nrequests_total %d\n", total)
	}))
	defer srv.Close()

	run := func(spec string) ([]Event, Outcome) {
		scrapes.Store(0)
		s, err := source.ParseSpec(spec)
		if err != nil {
			t.Fatal(err)
		}
		src, err := source.New(s, source.Options{})
		if err != nil {
			t.Fatal(err)
		}
		p := &Plan{Sources: []Watch{{Name: s.String(), Source: src}}, Interval: 20 * time.Millisecond, Settle: 150 * time.Millisecond, Timeout: 20 * time.Second}
		var mu sync.Mutex
		var evs []Event
		oc := p.Wait(context.Background(), func(e Event) { mu.Lock(); evs = append(evs, e); mu.Unlock() })
		return evs, oc
	}

	evs, oc := run("prom:" + srv.URL + "/metrics#inflight#total=requests_total")
	if oc.Result != ResultDrained {
		t.Fatalf("outcome %+v", oc)
	}
	var arrivals int
	var lastArrival, drained Seconds = -1, -1
	for _, e := range evs {
		switch e.Event {
		case EvPoll:
			for _, b := range e.Blocking {
				if strings.HasSuffix(b, ": 3 new requests since the last poll") {
					arrivals++
					lastArrival = e.Elapsed
				}
			}
			if e.Sources[0].Total == nil {
				t.Errorf("a poll without the total: %+v", e.Sources[0])
			}
		case EvDrained:
			drained = e.Elapsed
		}
	}
	if arrivals != busyScrapes-1 {
		t.Errorf("%d polls blocked by arrivals, want %d (every read after the first while the counter rose)", arrivals, busyScrapes-1)
	}
	// Quiet starts at the first poll without arrivals, after the last one
	// with: the settle window is whole after it.
	if drained-lastArrival < 0.15 {
		t.Errorf("drained %vs after the last arrival, before a whole settle window", drained-lastArrival)
	}
	if n := scrapes.Load(); n <= busyScrapes {
		t.Errorf("drained after %d reads, while the counter still rose", n)
	}

	// Without #total= the same server reads quiet from the first poll.
	evs, oc = run("prom:" + srv.URL + "/metrics#inflight")
	if oc.Result != ResultDrained {
		t.Fatalf("outcome %+v", oc)
	}
	for _, e := range evs {
		if e.Event == EvPoll && len(e.Blocking) > 0 && !strings.HasPrefix(e.Blocking[0], "settle") {
			t.Errorf("blocked without a total: %q", e.Blocking)
		}
	}
}
