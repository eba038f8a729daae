package drain

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/action"
)

// listing is a source that also lists its requests in flight, like the
// IIS sources (a source.RequestLister).
type listing struct {
	*scripted
	list func(context.Context) ([]Request, error)
}

func (l listing) Requests(ctx context.Context) ([]Request, error) { return l.list(ctx) }

// lists makes the plan's one source list its requests with f.
func lists(p *Plan, f func(context.Context) ([]Request, error)) {
	p.Sources[0].Source = listing{p.Sources[0].Source.(*scripted), f}
}

// warning is an action that warns before it runs (an action.Warner).
type warning struct {
	action.Action
	msg string
}

func (w warning) Warn(context.Context, []string) string { return w.msg }

// slowWait sets when p lists the requests in flight (a zero is "at once").
func slowWait(p *Plan, after, every time.Duration) {
	p.Knobs.SlowWait, p.Knobs.SlowWaitEvery = max(after, time.Nanosecond), max(every, time.Nanosecond)
}

func TestInFlightListedWhenSlowAndAtTimeout(t *testing.T) {
	src := &scripted{val: 2}
	p, _, rec := newPlan(t, src)
	slowWait(p, 100*time.Millisecond, 80*time.Millisecond)
	p.Timeout = 400 * time.Millisecond
	var calls atomic.Int32
	lists(p, func(context.Context) ([]Request, error) {
		calls.Add(1)
		var rs []Request
		for i, s := range []float64{1, 42, 3, 318, 9, 7, 0.5} {
			rs = append(rs, Request{Verb: "GET", URL: "/r" + string(rune('a'+i)), Client: "10.0.0.5", Elapsed: s})
		}
		return rs, nil
	})
	oc := p.Wait(context.Background(), rec.emit)
	if oc.Result != ResultTimeout {
		t.Fatalf("outcome = %+v", oc)
	}
	var polls, listed int
	for _, e := range rec.events {
		if e.Event != EvPoll {
			continue
		}
		polls++
		if len(e.Requests) > 0 {
			listed++
			if time.Duration(float64(e.Elapsed)*float64(time.Second)) < p.Knobs.SlowWait {
				t.Errorf("requests listed at %vs, before SlowWait", e.Elapsed)
			}
		}
	}
	// About 40 polls in 400ms; listing is on a slower clock: at 100ms, 180ms,
	// 260ms, 340ms and the timeout poll (timing on a busy machine: a range).
	if n := int(calls.Load()); n < 2 || n > 7 || n != listed {
		t.Errorf("InFlight called %d times, %d polls listed requests (of %d polls)", n, listed, polls)
	}
	to, _ := rec.find(EvTimeout)
	if len(to.Requests) != DefaultKnobs.ListLongest || to.RequestCount != 7 || to.Requests[0].URL != "/rd" || to.Requests[1].URL != "/rb" {
		t.Errorf("timeout requests = %+v (count %d), want the 5 longest, longest first", to.Requests, to.RequestCount)
	}
	want := "not drained within 400ms: still waiting on test=2 (threshold 0); still executing: GET /rd 5m18s from 10.0.0.5, GET /rb 42s from 10.0.0.5"
	if !strings.HasPrefix(oc.Err.Error(), want) || to.Message != oc.Err.Error() {
		t.Errorf("err = %q\nwant prefix %q", oc.Err, want)
	}
}

func TestInFlightNotCalledWhenQuickOrQuiet(t *testing.T) {
	src := &scripted{val: 0}
	p, _, rec := newPlan(t, src)
	slowWait(p, time.Hour, time.Hour)
	var calls atomic.Int32
	lists(p, func(context.Context) ([]Request, error) { calls.Add(1); return nil, nil })
	if oc := p.Wait(context.Background(), rec.emit); oc.Err != nil {
		t.Fatalf("outcome = %+v", oc)
	}
	if calls.Load() != 0 {
		t.Errorf("InFlight called %d times on a quick, quiet drain", calls.Load())
	}
}

func TestInFlightErrorWarnsOnce(t *testing.T) {
	src := &scripted{val: 1}
	p, _, rec := newPlan(t, src)
	slowWait(p, 0, 0)
	p.Timeout = 100 * time.Millisecond
	lists(p, func(context.Context) ([]Request, error) { return nil, errors.New("Request Monitor not installed") })
	if oc := p.Wait(context.Background(), rec.emit); oc.Result != ResultTimeout || oc.Err.Error() != "not drained within 100ms: still waiting on test=1 (threshold 0)" {
		t.Fatalf("outcome = %+v", oc)
	}
	n := 0
	for _, e := range rec.events {
		if e.Event == EvWarning && strings.Contains(e.Message, "cannot list the requests in flight: Request Monitor not installed") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d warnings, want exactly 1", n)
	}
}

func TestPreActionWarningComesBeforeTheAction(t *testing.T) {
	src := &scripted{val: 0}
	p, _, rec := newPlan(t, src)
	p.Action = warning{trueAction(t), "will drop 3 sessions"}
	if oc := p.Run(context.Background(), rec.emit); oc.Err != nil {
		t.Fatalf("outcome = %+v", oc)
	}
	w, ok := rec.find(EvWarning)
	a, _ := rec.find(EvAction)
	if !ok || w.Message != "will drop 3 sessions" || a.Time.Before(w.Time) {
		t.Errorf("warning %+v must come before the action %+v", w, a)
	}
}
