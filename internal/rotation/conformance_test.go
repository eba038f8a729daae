package rotation_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/budget"
	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/rotation"
	"github.com/drain-cli/drain/internal/state"
)

// The rotation conformance suite: every method runs the same cases against
// its real server (HAProxy, Apache, real files and processes) or its
// documented stand-in (F5, AWS ELB, ARR, NLB), through rotation.Set and a
// real state.Store as the engine uses them. A method joins by one line in
// harnesses (conformance_harness_test.go, or conformance_unix_test.go for
// servers that run on Linux only).
//
// A case a method cannot claim is skipped by what the method is: the pool
// cases by rotation.Pooler, the rest by the harness hooks (a keep-alive page
// has no balancer to refuse). A hook a method's kind requires (a second
// pool for a Pooler) is a failure when missing, not a skip.

// harness is one method in the suite.
type harness struct {
	typ   string
	start func(t *testing.T) *bed // a fresh server or stand-in for one case
}

// bed is one running balancer (or stand-in) with a pool of at least two
// servers, 0 and 1, both in rotation at start.
type bed struct {
	opts rotation.Options
	// spec is TYPE:TARGET of server i of the pool.
	spec func(i int) string
	// view is server i as the balancer itself shows it, field by field
	// (its own words: HAProxy's admin state, Apache's status flags, the
	// files and what a real HTTP probe of the page gets).
	view func(t *testing.T, i int) map[string]string
	// byHand takes server i out as an operator would, without drain.
	byHand func(t *testing.T, i int)
	// otherPool is TYPE:TARGET of a server of another pool on the same
	// kind of balancer; required of a Pooler.
	otherPool func(t *testing.T) string
	// forget makes the balancer lose its runtime state (a restart, a
	// reset, a redeploy): every server back as configured, in rotation.
	// nil: the balancer keeps its state (not claimed).
	forget func(t *testing.T)
	// refuse makes the balancer refuse or stop answering until restore is
	// called; an error must contain names (what names the balancer). nil:
	// there is no balancer to refuse (a keep-alive page).
	refuse func(t *testing.T) (names string, restore func())
	// v1 places in store a record of the release before (from
	// testdata/v1records) for server i, having made the change that release
	// made; nil: the type did not exist then.
	v1 func(t *testing.T, store state.Store, i int)
}

var ctx = context.Background()

func TestConformance(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, b *bed)
	}{
		{"out status in undo exact", caseOutIn},
		{"already out by hand", caseAlreadyOut},
		{"already in", caseAlreadyIn},
		{"balancer forgot between out and in", caseForgot},
		{"pool view and pool identity", casePool},
		{"two outs of one pool at once", caseConcurrentOuts},
		{"two drains race for the last slot of a budget", caseBudgetRace},
		{"refused or unreachable balancer", caseRefused},
		{"record of the previous release", caseV1},
	}
	for _, h := range harnesses() {
		t.Run(h.typ, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) { c.run(t, h.start(t)) })
			}
		})
	}
}

// TestConformanceCoversEveryType: every registered rotation type is in the
// suite on this OS, or listed with the reason it is not.
func TestConformanceCoversEveryType(t *testing.T) {
	in := map[string]bool{}
	for _, h := range harnesses() {
		in[h.typ] = true
	}
	for _, name := range rotation.TypeNames() {
		if in[name] {
			continue
		}
		if why, ok := notInSuite[name]; ok {
			t.Logf("%s: not in the suite here: %s", name, why)
			continue
		}
		t.Errorf("rotation type %s is not in the conformance suite: add its harness line (conformance_harness_test.go)", name)
	}
	for _, h := range pendingHarnesses {
		typ, target, err := rotation.ParseSpec(h.typ + ":/placeholder#127.0.0.1:1")
		if err != nil {
			t.Fatalf("pending harness %s: %v", h.typ, err)
		}
		m, err := typ.New(target, rotation.Options{})
		if err != nil {
			t.Logf("pending harness %s: not built from a placeholder target (%v)", h.typ, err)
			continue
		}
		if _, ok := m.(poolIDer); ok {
			t.Errorf("%s now names its pool (PoolID): move its line from pendingHarnesses into serverHarnesses and drop it from notInSuite", h.typ)
		}
	}
}

func (b *bed) method(t *testing.T, i int) rotation.Method {
	t.Helper()
	m, err := rotation.NewMethod(b.spec(i), b.opts)
	if err != nil {
		t.Fatalf("%s: %v", b.spec(i), err)
	}
	return m
}

// run is one server's drain: its Set and a real record store.
type run struct {
	set   *rotation.Set
	store state.Store
	rec   *state.Record // the record this run's out made, as the engine holds it
}

func (b *bed) run(t *testing.T, i int) *run {
	t.Helper()
	s, err := rotation.NewSet(b.method(t, i))
	if err != nil {
		t.Fatal(err)
	}
	return &run{set: s, store: state.Store{Dir: t.TempDir()}}
}

// out is the engine's out: a record saved before the change.
func (r *run) out(c context.Context) (bool, error) {
	r.rec = &state.Record{Reason: "conformance", By: state.Who(), PID: os.Getpid(), Since: time.Now().UTC(), Phase: state.PhaseOut, Command: "out"}
	return r.set.Out(c, r.rec, func(rec *state.Record) error { return rotation.SaveRecord(r.store, rec) })
}

// in is the engine's in: the record read back from the store, then
// deleted.
func (r *run) in(t *testing.T) (bool, error) {
	t.Helper()
	rec, err := rotation.LoadRecord(r.store, r.set)
	if err != nil {
		t.Fatalf("load record: %v", err)
	}
	changed, err := r.set.In(ctx, rec)
	if err == nil && rec != nil {
		if derr := rotation.DeleteRecord(r.store, r.set, rec); derr != nil {
			t.Fatalf("delete record: %v", derr)
		}
	}
	return changed, err
}

func (r *run) status(t *testing.T) rotation.Status {
	t.Helper()
	st, err := r.set.Status(ctx)
	if err != nil {
		t.Fatalf("status: %s %v", st, err)
	}
	return st
}

// sameView fails with each field that differs.
func sameView(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	keys := map[string]bool{}
	for k := range got {
		keys[k] = true
	}
	for k := range want {
		keys[k] = true
	}
	var ks []string
	for k := range keys {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var diffs []string
	for _, k := range ks {
		g, gok := got[k]
		w, wok := want[k]
		if g != w || gok != wok {
			diffs = append(diffs, fmt.Sprintf("%s: %q, want %q", k, g, w))
		}
	}
	if len(diffs) > 0 {
		t.Errorf("%s: the balancer's view differs:\n  %s", what, strings.Join(diffs, "\n  "))
	}
}

func differs(a, b map[string]string) bool {
	if len(a) != len(b) {
		return true
	}
	for k, v := range a {
		if b[k] != v {
			return true
		}
	}
	return false
}

// out, status OUT, in, status IN; after in the balancer shows the server
// exactly as before out, field by field.
func caseOutIn(t *testing.T, b *bed) {
	r := b.run(t, 0)
	before := b.view(t, 0)
	other := b.view(t, 1)
	if st := r.status(t); st != rotation.In {
		t.Fatalf("status at start: %s", st)
	}
	changed, err := r.out(ctx)
	if err != nil || !changed {
		t.Fatalf("out: changed=%v %v", changed, err)
	}
	if st := r.status(t); st != rotation.Out {
		t.Errorf("status after out: %s", st)
	}
	if out := b.view(t, 0); !differs(out, before) {
		t.Errorf("out changed nothing the balancer shows: %v", out)
	}
	sameView(t, "server 1 after server 0's out", b.view(t, 1), other)
	changed, err = r.in(t)
	if err != nil || !changed {
		t.Fatalf("in: changed=%v %v", changed, err)
	}
	if st := r.status(t); st != rotation.In {
		t.Errorf("status after in: %s", st)
	}
	sameView(t, "after in", b.view(t, 0), before)
	sameView(t, "server 1 after server 0's in", b.view(t, 1), other)
}

// A server out by hand: out says changed=false and records that, and in
// leaves it out as the operator left it.
func caseAlreadyOut(t *testing.T, b *bed) {
	b.byHand(t, 0)
	byHand := b.view(t, 0)
	r := b.run(t, 0)
	if st := r.status(t); st != rotation.Out {
		t.Fatalf("status after out by hand: %s", st)
	}
	changed, err := r.out(ctx)
	if err != nil || changed {
		t.Fatalf("out of a server out by hand: changed=%v %v, want false", changed, err)
	}
	sameView(t, "after out", b.view(t, 0), byHand)
	if rec, err := rotation.LoadRecord(r.store, r.set); err != nil || rec != nil && rec.Entries[0].Changed {
		t.Fatalf("record after an out that changed nothing: %+v %v", rec, err)
	}
	// The run's own in, with what its out recorded: the entry unchanged.
	changed, err = r.set.In(ctx, r.rec)
	if err != nil || changed {
		t.Fatalf("in: changed=%v %v, want false (left out)", changed, err)
	}
	if st := r.status(t); st != rotation.Out {
		t.Errorf("status after in: %s, want OUT (left as the operator left it)", st)
	}
	sameView(t, "after in", b.view(t, 0), byHand)
}

// in of a server that is in (no record): changed=false, nothing changes.
func caseAlreadyIn(t *testing.T, b *bed) {
	before := b.view(t, 0)
	r := b.run(t, 0)
	changed, err := r.in(t)
	if err != nil || changed {
		t.Fatalf("in of a server in rotation: changed=%v %v, want false", changed, err)
	}
	if st := r.status(t); st != rotation.In {
		t.Errorf("status: %s", st)
	}
	sameView(t, "after in", b.view(t, 0), before)
}

// The balancer restarted (or was reset) between out and in: in still
// leaves the server as before out, and says it had nothing to change.
func caseForgot(t *testing.T, b *bed) {
	if b.forget == nil {
		t.Skip("this balancer keeps its state: nothing to forget")
	}
	before := b.view(t, 0)
	r := b.run(t, 0)
	if changed, err := r.out(ctx); err != nil || !changed {
		t.Fatalf("out: changed=%v %v", changed, err)
	}
	b.forget(t)
	if st, err := r.set.Status(ctx); st != rotation.In {
		t.Fatalf("status after the balancer forgot: %s %v, want IN (the balancer is the truth)", st, err)
	}
	changed, err := r.in(t)
	if err != nil || changed {
		t.Fatalf("in after the balancer forgot: changed=%v %v, want false (already in)", changed, err)
	}
	if st := r.status(t); st != rotation.In {
		t.Errorf("status after in: %s", st)
	}
	sameView(t, "after in", b.view(t, 0), before)
}

type poolIDer interface{ PoolID() string }

// The pool as the balancer lists it: both servers, this one marked, in
// rotation until out; one pool identity for two servers of the pool,
// another for another pool.
func casePool(t *testing.T, b *bed) {
	m0, m1 := b.method(t, 0), b.method(t, 1)
	p0, ok := m0.(rotation.Pooler)
	if !ok {
		t.Skip(m0.Type() + " has no pool view (not a rotation.Pooler)")
	}
	if b.otherPool == nil {
		t.Fatal("a Pooler's harness must name a server of another pool (otherPool)")
	}
	pi0, ok0 := m0.(poolIDer)
	pi1, ok1 := m1.(poolIDer)
	if !ok0 || !ok1 {
		t.Fatalf("%s lists its pool but does not name it (PoolID): its budget lock would be per server", m0.Type())
	}
	id := pi0.PoolID()
	if id == "" || id != pi1.PoolID() {
		t.Errorf("two servers of one pool: PoolID %q and %q, want one", id, pi1.PoolID())
	}
	if id == rotation.Key(m0) || id == rotation.Key(m1) {
		t.Errorf("PoolID %q names a server, not the pool", id)
	}
	other, err := rotation.NewMethod(b.otherPool(t), b.opts)
	if err != nil {
		t.Fatal(err)
	}
	if oid := other.(poolIDer).PoolID(); oid == id {
		t.Errorf("two pools: one PoolID %q", oid)
	}

	self := func(p rotation.Pool) (me, them []rotation.Member) {
		for _, mb := range p.Members {
			if mb.Self {
				me = append(me, mb)
			} else {
				them = append(them, mb)
			}
		}
		return me, them
	}
	pool, err := p0.Pool(ctx)
	if err != nil {
		t.Fatal(err)
	}
	me, them := self(pool)
	if len(me) != 1 || !me[0].InRotation || len(them) == 0 {
		t.Fatalf("pool %+v: want this server once, in rotation, and others", pool)
	}
	pool1, err := m1.(rotation.Pooler).Pool(ctx)
	if err != nil {
		t.Fatal(err)
	}
	me1, _ := self(pool1)
	if len(me1) != 1 || me1[0].Name == me[0].Name || len(pool1.Members) != len(pool.Members) {
		t.Errorf("server 1's view of the pool %+v: want the same pool, another member marked", pool1)
	}
	r := b.run(t, 0)
	if changed, err := r.out(ctx); err != nil || !changed {
		t.Fatalf("out: %v %v", changed, err)
	}
	pool, err = p0.Pool(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if me, _ := self(pool); len(me) != 1 || me[0].InRotation {
		t.Errorf("pool after out: %+v: this server still in rotation", me)
	}
	if _, err := r.in(t); err != nil {
		t.Fatal(err)
	}
}

// Two drains take two servers of one pool out at the same moment: both
// changes are kept (neither overwrites the other), and both come back.
func caseConcurrentOuts(t *testing.T, b *bed) {
	before := []map[string]string{b.view(t, 0), b.view(t, 1)}
	rs := []*run{b.run(t, 0), b.run(t, 1)}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	changed := make([]bool, 2)
	start := make(chan struct{})
	for i := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			changed[i], errs[i] = rs[i].out(ctx)
		}()
	}
	close(start)
	wg.Wait()
	for i := range rs {
		if errs[i] != nil || !changed[i] {
			t.Errorf("out of server %d: changed=%v %v", i, changed[i], errs[i])
		}
	}
	for i, r := range rs {
		if st := r.status(t); st != rotation.Out {
			t.Errorf("server %d after both outs: %s, want OUT (a change lost)", i, st)
		}
	}
	for i, r := range rs {
		if _, err := r.in(t); err != nil {
			t.Errorf("in of server %d: %v", i, err)
		}
	}
	for i := range rs {
		sameView(t, fmt.Sprintf("server %d after both ins", i), b.view(t, i), before[i])
	}
}

// Two drains of two servers of one pool, on one machine, race for the
// last slot of a budget (--min-in-rotation: every other server in rotation
// must stay): the pool lock, named by PoolID, lets exactly one through and
// the other is refused with nothing changed.
func caseBudgetRace(t *testing.T, b *bed) {
	m0 := b.method(t, 0)
	p0, ok := m0.(rotation.Pooler)
	if !ok {
		t.Skip(m0.Type() + " has no pool view: no budget")
	}
	pool, err := p0.Pool(ctx)
	if err != nil {
		t.Fatal(err)
	}
	inRotation := func(p rotation.Pool) int {
		n := 0
		for _, mb := range p.Members {
			if mb.InRotation {
				n++
			}
		}
		return n
	}
	n := inRotation(pool)
	if n < 3 {
		t.Fatalf("the harness's pool has %d in rotation: the race needs 3 or more", n)
	}
	store := state.Store{Dir: t.TempDir()} // one machine
	for round := range 3 {                 // the race is decided by timing: a few rounds
		rs := []*run{b.run(t, 0), b.run(t, 1)}
		errs := make([]error, 2)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, r := range rs {
			pools := &budget.Pools{}
			pools.Add(r.set.Methods()[0])
			g := &budget.Guard{
				Pooler: pools, Pools: pools.IDs(), Min: n - 1, Interval: 100 * time.Millisecond, LockWait: 30 * time.Second,
				Locks: []budget.Locker{&budget.Local{Store: store, Me: budget.Me("out", fmt.Sprint(i), "conformance")}},
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				turn, err := g.Enter(ctx, func(drain.Event) {})
				if err != nil {
					errs[i] = err
					return
				}
				changed, err := r.out(ctx)
				turn.Leave(changed && err == nil)
				if err == nil && !changed {
					err = errors.New("out changed nothing")
				}
				errs[i] = err
			}()
		}
		close(start)
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, drain.ErrRefused):
				t.Errorf("round %d: drain %d: %v, want taken out or refused", round, i, err)
			}
		}
		if won != 1 {
			t.Errorf("round %d: %d drains passed the budget, want 1 (the pool lock must be one for the pool: PoolID)", round, won)
		}
		pool, err = p0.Pool(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := inRotation(pool); got != n-1 && won == 1 {
			t.Errorf("round %d: after the race %d in rotation, want %d (one out)", round, got, n-1)
		}
		for i, r := range rs {
			if _, err := r.in(t); err != nil {
				t.Fatalf("round %d: in of server %d: %v", round, i, err)
			}
		}
	}
}

// A balancer that refuses or does not answer: out fails, the error names
// the balancer, nothing changed (seen once it answers again), and status
// is an error, not a guess.
func caseRefused(t *testing.T, b *bed) {
	if b.refuse == nil {
		t.Skip("no balancer to refuse (the method changes local files)")
	}
	before := b.view(t, 0)
	r := b.run(t, 0)
	names, restore := b.refuse(t)
	changed, err := r.out(ctx)
	if err == nil || changed {
		restore()
		t.Fatalf("out with the balancer refusing: changed=%v err=%v, want an error", changed, err)
	}
	if !strings.Contains(err.Error(), names) {
		t.Errorf("error %q does not name the balancer (%s)", err, names)
	}
	if errors.Is(err, rotation.ErrConfig) {
		t.Errorf("a refusing balancer is not a usage error: %v", err)
	}
	// Status says what it can read, or fails; it never claims a change.
	if st, err := r.set.Status(ctx); err == nil && st != rotation.In {
		t.Errorf("status with the balancer refusing: %s and no error", st)
	}
	restore()
	sameView(t, "after the failed out", b.view(t, 0), before)
	if st := r.status(t); st != rotation.In {
		t.Errorf("status after the failed out: %s", st)
	}
	if rec, err := rotation.LoadRecord(r.store, r.set); err != nil || rec != nil && rec.Entries[0].Changed && len(rec.Entries[0].Undo) == 0 {
		t.Errorf("record after the failed out: %+v %v", rec, err)
	}
}

// A record written by the release before: status reads OUT, in undoes it
// exactly.
func caseV1(t *testing.T, b *bed) {
	if b.v1 == nil {
		t.Skip("the release before had no such method: no record of it to read")
	}
	before := b.view(t, 0)
	r := b.run(t, 0)
	b.v1(t, r.store, 0)
	rec, err := rotation.LoadRecord(r.store, r.set)
	if err != nil || rec == nil {
		t.Fatalf("the v1 record is not found: %+v %v", rec, err)
	}
	r.set.Adopt(rec)
	if st := r.status(t); st != rotation.Out {
		t.Errorf("status with a v1 record: %s", st)
	}
	changed, err := r.in(t)
	if err != nil || !changed {
		t.Fatalf("in from a v1 record: changed=%v %v", changed, err)
	}
	sameView(t, "after in", b.view(t, 0), before)
	if rec, err := rotation.LoadRecord(r.store, r.set); rec != nil || err != nil {
		t.Errorf("record left after in: %+v %v", rec, err)
	}
}

// front is an HTTP front for a balancer's API that can be made to refuse:
// it forwards every request (Host kept, for signed requests) to the real
// server or stand-in, or answers 503 while refusing.
type front struct {
	mu       sync.Mutex
	refusing bool
}

func (f *front) set(v bool) { f.mu.Lock(); f.refusing = v; f.mu.Unlock() }

func (f *front) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		refusing := f.refusing
		f.mu.Unlock()
		if refusing {
			http.Error(w, "refused by the test", http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r)
	})
}
