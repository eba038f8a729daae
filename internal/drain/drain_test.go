package drain

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/action"
	"github.com/drain-cli/drain/internal/rotation"
	"github.com/drain-cli/drain/internal/state"
)

// scripted is a source whose answers the test sets while the drain runs.
type scripted struct {
	mu    sync.Mutex
	val   float64
	err   error
	reads int
}

func (s *scripted) set(v float64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.val, s.err = v, err
}

func (s *scripted) Read(context.Context) (float64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	return s.val, s.err
}

type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) emit(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) find(kind string) (Event, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.events {
		if e.Event == kind {
			return e, true
		}
	}
	return Event{}, false
}

func newPlan(t *testing.T, src *scripted) (*Plan, string, *recorder) {
	t.Helper()
	dir := t.TempDir()
	page := filepath.Join(dir, "keepalive.htm")
	if err := os.WriteFile(page, []byte("OK\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rot, err := rotation.NewKeepalive(page, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	p := &Plan{
		Rotator: mustSet(t, rot), Store: state.Store{Dir: filepath.Join(dir, "state")},
		Sources:  []Watch{{Name: "test", Source: src}},
		Interval: 10 * time.Millisecond, Settle: 50 * time.Millisecond, Timeout: 5 * time.Second,
		ActionOut: io.Discard, ActionErr: io.Discard,
	}
	return p, page, rec
}

func mustSet(t *testing.T, ms ...rotation.Method) *rotation.Set {
	t.Helper()
	s, err := rotation.NewSet(ms...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func trueAction(t *testing.T) action.Action {
	t.Helper()
	name := "true"
	if runtime.GOOS == "windows" {
		t.Skip("uses a Unix true(1); the Windows path is covered by the Wine tests")
	}
	a, err := action.New([]string{name}, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestRunDrainsThenActs(t *testing.T) {
	src := &scripted{val: 3}
	p, page, rec := newPlan(t, src)
	p.Action = trueAction(t)
	go func() {
		time.Sleep(100 * time.Millisecond)
		src.set(0, nil)
	}()
	start := time.Now()
	oc := p.Run(context.Background(), rec.emit)
	if oc.Err != nil || oc.Result != ResultDrained || oc.Rotation != rotation.Out {
		t.Fatalf("outcome = %+v", oc)
	}
	if time.Since(start) < 150*time.Millisecond {
		t.Errorf("drained after %s, before the value fell (100ms) plus settle (50ms)", time.Since(start))
	}
	if exists(page) || !exists(page+".disabled") {
		t.Error("page should be renamed away after a successful run")
	}
	d, _ := rec.find(EvDrained)
	a, ok := rec.find(EvAction)
	if !ok || a.Time.Before(d.Time) {
		t.Errorf("action %v must start after drained %v", a.Time, d.Time)
	}
	r, err := rotation.LoadRecord(p.Store, p.Rotator)
	if err != nil || r == nil || r.Phase != state.PhaseDone || r.Result != ResultDrained {
		t.Errorf("state record = %+v, %v; want phase done, result drained", r, err)
	}
}

func TestUnknownSourceNeverDrains(t *testing.T) {
	src := &scripted{err: errors.New("connection refused")}
	p, page, rec := newPlan(t, src)
	p.Timeout = 200 * time.Millisecond
	p.Action = trueAction(t)
	p.AllowUnread = []string{"test"} // else refused before out (TestUnreadSourceRefusedBeforeOut)
	oc := p.Run(context.Background(), rec.emit)
	if oc.Result != ResultTimeout {
		t.Fatalf("outcome = %+v, want timeout", oc)
	}
	if _, ok := rec.find(EvAction); ok {
		t.Error("the action must not run when a source is unknown")
	}
	if oc.Rotation != rotation.In || !exists(page) {
		t.Errorf("after a timeout the server must be put back IN (rotation %s, page exists %v)", oc.Rotation, exists(page))
	}
	if src.reads < 3 {
		t.Errorf("only %d reads in 200ms at 10ms interval", src.reads)
	}
}

// A source that cannot be read before out stops the run before anything
// changes, as bad input, naming it; nothing runs (issue 23 item 15).
func TestUnreadSourceRefusedBeforeOut(t *testing.T) {
	src := &scripted{err: errors.New("connection refused")}
	p, page, rec := newPlan(t, src)
	p.Action = trueAction(t)
	oc := p.Run(context.Background(), rec.emit)
	if oc.Result != ResultError || !oc.Usage || !oc.Unchanged || oc.Rotation != rotation.In || !exists(page) {
		t.Fatalf("outcome = %+v, want a usage error with the server IN, unchanged", oc)
	}
	if oc.Err == nil || !strings.Contains(oc.Err.Error(), "test: connection refused") {
		t.Errorf("error %v should name the source and why", oc.Err)
	}
	if _, ok := rec.find(EvOut); ok {
		t.Error("the server was taken out")
	}
	if src.reads != readBeforeTries {
		t.Errorf("%d reads before the refusal, want %d", src.reads, readBeforeTries)
	}
}

// flaky fails its first failures reads, then answers 0.
type flaky struct {
	mu       sync.Mutex
	failures int
	reads    int
}

func (f *flaky) Read(context.Context) (float64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if f.reads <= f.failures {
		return 0, errors.New("timed out after 2s (killed)")
	}
	return 0, nil
}

// A source that fails its first read and then answers (a slow exec on a
// loaded machine) is not bad input: the run goes on (seen in CI-like load
// with exec:echo before the retry).
func TestSourceReadBeforeRetries(t *testing.T) {
	src := &flaky{failures: 2} // readBeforeTries is 3
	p, _, rec := newPlan(t, &scripted{})
	p.Sources = []Watch{{Name: "test", Source: src}}
	oc := p.Run(context.Background(), rec.emit)
	if oc.Usage {
		t.Fatalf("outcome = %+v: refused a source that answered on its try %d", oc, readBeforeTries)
	}
	if _, ok := rec.find(EvOut); !ok {
		t.Error("the server was not taken out")
	}
}

func TestFlappingSourceRestartsSettle(t *testing.T) {
	src := &scripted{val: 0}
	p, _, rec := newPlan(t, src)
	p.Settle = 300 * time.Millisecond
	stop := make(chan struct{})
	go func() { // busy for one read every 100ms for 600ms
		for i := 0; i < 6; i++ {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			src.set(1, nil)
			time.Sleep(25 * time.Millisecond)
			src.set(0, nil)
		}
	}()
	defer close(stop)
	start := time.Now()
	oc := p.Wait(context.Background(), rec.emit)
	if oc.Err != nil {
		t.Fatalf("outcome = %+v", oc)
	}
	// The last blip ends at ~625ms; 300ms of quiet must follow it.
	if el := time.Since(start); el < 900*time.Millisecond {
		t.Errorf("drained after %s: the settle window did not restart on a blip", el)
	}
}

func TestLBGraceIsAMinimum(t *testing.T) {
	src := &scripted{val: 0}
	p, _, rec := newPlan(t, src)
	p.LBGrace = 300 * time.Millisecond
	p.Settle = 0
	start := time.Now()
	if oc := p.Run(context.Background(), rec.emit); oc.Err != nil {
		t.Fatalf("outcome = %+v", oc)
	}
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Errorf("drained after %s, before lb-grace", el)
	}
	if _, ok := rec.find(EvDrained); !ok {
		t.Error("no drained event")
	}
}

func TestGraceEndWakesThePollEarly(t *testing.T) {
	src := &scripted{val: 0}
	p, _, rec := newPlan(t, src)
	p.Interval = 10 * time.Second // far longer than the grace
	p.LBGrace = 200 * time.Millisecond
	p.Settle = 0
	start := time.Now()
	if oc := p.Wait(context.Background(), rec.emit); oc.Err != nil {
		t.Fatalf("outcome = %+v", oc)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("drained after %s: the poll did not wake when the grace ended", el)
	}
}

func TestInterruptPutsBack(t *testing.T) {
	src := &scripted{val: 5}
	p, page, rec := newPlan(t, src)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	oc := p.Run(ctx, rec.emit)
	if oc.Result != ResultInterrupted || oc.Rotation != rotation.In || !exists(page) {
		t.Fatalf("outcome = %+v, page exists %v; want 130 and back IN", oc, exists(page))
	}
	if r, _ := rotation.LoadRecord(p.Store, p.Rotator); r != nil {
		t.Errorf("record left after putting back: %+v", r)
	}
}

func TestKeepOutLeavesOut(t *testing.T) {
	src := &scripted{val: 5}
	p, page, rec := newPlan(t, src)
	p.KeepOut = true
	p.Timeout = 100 * time.Millisecond
	oc := p.Run(context.Background(), rec.emit)
	if oc.Result != ResultTimeout || oc.Rotation != rotation.Out || exists(page) {
		t.Fatalf("outcome = %+v; want timeout and OUT", oc)
	}
	r, _ := rotation.LoadRecord(p.Store, p.Rotator)
	if r == nil || r.Result != ResultTimeout {
		t.Errorf("record = %+v, want one that says timeout", r)
	}
}

func TestForceRunsActionAfterTimeout(t *testing.T) {
	src := &scripted{val: 5}
	p, _, rec := newPlan(t, src)
	p.Timeout = 100 * time.Millisecond
	p.Force = true
	p.Action = trueAction(t)
	oc := p.Run(context.Background(), rec.emit)
	if oc.Err != nil || oc.Result != ResultForced || oc.Rotation != rotation.Out {
		t.Fatalf("outcome = %+v; want forced", oc)
	}
	if _, ok := rec.find(EvWarning); !ok {
		t.Error("forcing must warn")
	}
}

func TestActionFailureStaysOut(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses sh; the Windows path is covered by the Wine tests")
	}
	src := &scripted{val: 0}
	p, page, rec := newPlan(t, src)
	a, err := action.New([]string{"exit 7"}, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	p.Action = a
	oc := p.Run(context.Background(), rec.emit)
	if oc.Result != ResultActionFail || oc.Rotation != rotation.Out || exists(page) {
		t.Fatalf("outcome = %+v; want 4 and OUT", oc)
	}
}

func TestAlreadyOutIsLeftOut(t *testing.T) {
	src := &scripted{val: 5}
	p, page, rec := newPlan(t, src)
	if err := os.Rename(page, page+".disabled"); err != nil {
		t.Fatal(err)
	}
	p.Timeout = 50 * time.Millisecond
	oc := p.Run(context.Background(), rec.emit)
	if oc.Result != ResultTimeout || oc.Rotation != rotation.Out || exists(page) {
		t.Fatalf("outcome = %+v; a server out before the run must stay out", oc)
	}
	if e, _ := rec.find(EvOut); e.Changed == nil || *e.Changed {
		t.Errorf("out event should say nothing changed: %+v", e)
	}
}

func TestVerifyURLMustStopAnswering(t *testing.T) {
	src := &scripted{val: 0}
	p, page, rec := newPlan(t, src)
	// The probe URL answers 200 for 200ms after the rename (a load balancer
	// cache, say), then follows the file.
	var goneAt time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if exists(page) || time.Now().Before(goneAt) {
			return
		}
		http.NotFound(w, nil)
	}))
	defer srv.Close()
	goneAt = time.Now().Add(200 * time.Millisecond)
	p.Verify = &Verifier{URL: srv.URL, Client: srv.Client()}
	start := time.Now()
	if oc := p.Run(context.Background(), rec.emit); oc.Err != nil {
		t.Fatalf("outcome = %+v", oc)
	}
	if time.Since(start) < 200*time.Millisecond {
		t.Error("drained while the verify URL still answered 200")
	}
	if e, ok := rec.find(EvVerify); !ok || e.Message != "verify-url now answers 404" {
		t.Errorf("verify event = %+v", e)
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	src := &scripted{val: 2}
	p, page, rec := newPlan(t, src)
	p.DryRun = true
	oc := p.Run(context.Background(), rec.emit)
	if oc.Err != nil || oc.Result != ResultDryRun || !exists(page) || oc.Rotation != rotation.In {
		t.Fatalf("outcome = %+v", oc)
	}
	if e, ok := rec.find(EvPoll); !ok || len(e.Blocking) != 1 {
		t.Errorf("dry run poll = %+v, want the busy source reported", e)
	}
	if entries, _ := os.ReadDir(p.Store.Dir); len(entries) != 0 {
		t.Error("dry run wrote state")
	}
}

// stuckIn is a method whose In hangs until its context ends (an HAProxy
// instance that stopped answering).
type stuckIn struct{ rotation.Method }

func (s stuckIn) In(ctx context.Context, _ json.RawMessage) (bool, error) {
	<-ctx.Done()
	return false, ctx.Err()
}

// After a signal the restore is bounded by RestoreTimeout: a CI runner sends
// SIGKILL seconds after its SIGINT, Windows ends a closed console's process
// about 5 s after CTRL_CLOSE_EVENT. It used to wait up to 30 s.
func TestRestoreAfterInterruptIsBounded(t *testing.T) {
	src := &scripted{val: 5}
	p, _, rec := newPlan(t, src)
	p.Knobs.RestoreTimeout = 200 * time.Millisecond
	p.Rotator = mustSet(t, stuckIn{p.Rotator.Methods()[0]})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	oc := p.Run(ctx, rec.emit)
	if el := time.Since(start); el > 10*time.Second {
		t.Fatalf("interrupted run returned after %s; the restore must give up after RestoreTimeout", el)
	}
	if oc.Result != ResultInterrupted || oc.Rotation != rotation.Out {
		t.Fatalf("outcome = %+v; want 130 and OUT (the restore failed)", oc)
	}
	if w, ok := rec.find(EvWarning); !ok || !strings.Contains(w.Message, "could not put the server back") {
		t.Errorf("warning = %+v, want one saying the server could not be put back", w)
	}
}

// A signal that arrives while drain is starting (before out) ends it with
// nothing changed: it does not take the server out only to put it back.
func TestInterruptBeforeOutChangesNothing(t *testing.T) {
	src := &scripted{val: 0}
	p, page, rec := newPlan(t, src)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	oc := p.Run(ctx, rec.emit)
	if oc.Result != ResultInterrupted || oc.Rotation != rotation.In || !oc.Unchanged || !exists(page) {
		t.Fatalf("outcome = %+v; want 130, IN, unchanged", oc)
	}
	if _, ok := rec.find(EvOut); ok {
		t.Error("the server was taken out after the interrupt")
	}
}

// Right before the action, rotation and the verify URL are checked again:
// the action does not run when the server is back in, whichever says so.
func TestBackInBeforeTheActionIsNotActedOn(t *testing.T) {
	t.Run("verify URL answers 2xx again", func(t *testing.T) {
		var mu sync.Mutex
		answers := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			answers++
			// 1: before out (200), 2: the first poll (404: gone), then 200
			// again: something answers the probe though the page is renamed.
			if answers == 2 {
				w.WriteHeader(http.StatusNotFound)
			}
		}))
		defer srv.Close()
		p, page, rec := newPlan(t, &scripted{val: 0})
		p.Verify = &Verifier{URL: srv.URL, Client: srv.Client()}
		ran := filepath.Join(t.TempDir(), "ran")
		p.Action = touchAction(t, ran)
		oc := p.Run(context.Background(), rec.emit)
		if oc.Result != ResultError || oc.Rotation != rotation.In || exists(ran) {
			t.Fatalf("outcome = %+v, action ran %v; want exit 1, IN, not run", oc, exists(ran))
		}
		if exists(page) {
			t.Error("the page was put back: drain must report, not change, what it found")
		}
	})
	t.Run("content mode page restored by hand", func(t *testing.T) {
		src := &scripted{val: 3}
		p, page, rec := newPlan(t, src)
		down := "DOWN"
		rot, err := rotation.NewKeepalive(page, "", &down)
		if err != nil {
			t.Fatal(err)
		}
		p.Rotator = mustSet(t, rot)
		p.Timeout = time.Minute
		ran := filepath.Join(t.TempDir(), "ran")
		p.Action = touchAction(t, ran)
		go func() {
			for end := time.Now().Add(time.Minute); time.Now().Before(end); {
				if b, _ := os.ReadFile(page); string(b) == down {
					_ = os.WriteFile(page, []byte("OK\n"), 0o644)
					src.set(0, nil)
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
		oc := p.Run(context.Background(), rec.emit)
		if oc.Result != ResultError || oc.Rotation != rotation.In || exists(ran) {
			t.Fatalf("outcome = %+v, action ran %v; want exit 1, IN, not run", oc, exists(ran))
		}
		if !strings.Contains(oc.Err.Error(), "rotation is IN") {
			t.Errorf("error = %v, want it to say the rotation is IN", oc.Err)
		}
	})
}

func touchAction(t *testing.T, path string) action.Action {
	t.Helper()
	return ranAction{trueAction(t), path}
}

// ranAction records that it ran by creating its file.
type ranAction struct {
	action.Action
	path string
}

func (r ranAction) Run(context.Context, io.Writer, io.Writer) (action.Result, error) {
	_ = os.WriteFile(r.path, nil, 0o600)
	return action.Result{}, nil
}
