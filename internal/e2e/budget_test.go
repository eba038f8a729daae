//go:build !windows

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/testbed"
)

// pool3 is a real HAProxy backend of three real nginx servers (a, b, c),
// with c already out (drain): two in rotation.
type pool3 struct {
	lb    *testbed.HAProxy
	drain string
	dir   string
}

func startPool3(t *testing.T) *pool3 {
	t.Helper()
	requireServers(t, "nginx", "haproxy")
	p := &pool3{dir: t.TempDir()}
	must(t, os.Chmod(filepath.Dir(p.dir), 0o755))
	var ns []*testbed.Nginx
	for _, name := range []string{"A", "B", "C"} {
		n, err := testbed.StartNginx(filepath.Join(p.dir, name), name)
		must(t, err)
		t.Cleanup(n.Kill)
		ns = append(ns, n)
	}
	lb, err := testbed.StartHAProxy(filepath.Join(p.dir, "lb"), ns...)
	must(t, err)
	t.Cleanup(lb.Kill)
	p.lb = lb
	if out, err := lb.Cmd("set server web/c state drain"); err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("take c out: %q %v", out, err)
	}
	p.drain = buildDrain(t)
	return p
}

func (p *pool3) server(name string) string { return p.lb.Sock + "#web/" + name }

// inRotation reads the backend from HAProxy itself: the servers whose admin
// state is ready (no drain or maint bit) and that are running by its checks.
func (p *pool3) inRotation() (map[string]bool, error) {
	out, err := p.lb.Cmd("show servers state web")
	if err != nil {
		return nil, err
	}
	in := map[string]bool{}
	rows := 0
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 7 || f[1] != "web" {
			continue
		}
		rows++
		var op, adm int
		if _, err := fmt.Sscan(f[5], &op); err != nil {
			return nil, err
		}
		if _, err := fmt.Sscan(f[6], &adm); err != nil {
			return nil, err
		}
		in[f[3]] = op == 2 && adm&(0x01|0x02|0x04|0x08|0x10|0x20) == 0
	}
	if rows != 3 {
		return nil, fmt.Errorf("show servers state: %d rows: %q", rows, out)
	}
	return in, nil
}

func count(in map[string]bool) int {
	n := 0
	for _, v := range in {
		if v {
			n++
		}
	}
	return n
}

// sampler reads the pool from HAProxy every 10 ms until stopped, and
// keeps the fewest servers it saw in rotation.
type sampler struct {
	stop    chan struct{}
	done    chan struct{}
	fewest  int
	samples int
	err     error
}

func (p *pool3) sample() *sampler { return sampleFewest(p.inRotation) }

// sampleFewest reads a pool's view (in: name -> in rotation, from the
// balancer itself) every 10 ms until stopped, keeping the fewest in
// rotation.
func sampleFewest(inRotation func() (map[string]bool, error)) *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{}), fewest: 99}
	go func() {
		defer close(s.done)
		deadline := time.Now().Add(2 * time.Minute) // bounded whatever happens
		for time.Now().Before(deadline) {
			in, err := inRotation()
			if err != nil {
				s.err = err
				return
			}
			s.samples++
			s.fewest = min(s.fewest, count(in))
			select {
			case <-s.stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return s
}

func (s *sampler) end(t *testing.T) int {
	t.Helper()
	close(s.stop)
	<-s.done
	if s.err != nil {
		t.Fatalf("sampling the pool: %v", s.err)
	}
	t.Logf("%d samples of the pool during the race, fewest in rotation %d", s.samples, s.fewest)
	return s.fewest
}

type result struct {
	name   string
	code   int
	stdout string
	stderr string
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// runDrain runs the drain binary bin with args (env nil: this process's
// environment) and returns its exit code and output.
func runDrain(ctx context.Context, bin string, env []string, args ...string) result {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	return result{code: exitCode(err), stdout: so.String(), stderr: se.String()}
}

// raceAll runs run for every name at the same moment, each within 90 s,
// and waits for all: the results in the order of names, named.
func raceAll(names []string, run func(ctx context.Context, name string) result) []result {
	start := make(chan struct{})
	res := make([]result, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			<-start
			res[i] = run(ctx, name)
			res[i].name = name
		}()
	}
	close(start)
	wg.Wait()
	return res
}

// race starts one drain per server at the same moment and waits for all.
func (p *pool3) race(t *testing.T, argsFor func(name string) []string, names ...string) []result {
	t.Helper()
	return raceAll(names, func(ctx context.Context, name string) result {
		return runDrain(ctx, p.drain, nil, argsFor(name)...)
	})
}

func (p *pool3) outArgs(stateDir string, extra ...string) func(string) []string {
	return func(name string) []string {
		sd := stateDir
		if sd == "" { // "another machine": a state directory of its own
			sd = filepath.Join(p.dir, "state-"+name)
		}
		return append([]string{"out", "--haproxy", p.server(name), "--min-in-rotation", "1", "--state-dir", sd, "--reason", "race " + name}, extra...)
	}
}

// winnerAndLoser checks that exactly one drain got the slot (exit 0) and the
// other was refused (exit 5) with the documented line, and returns them.
func winnerAndLoser(t *testing.T, res []result) (result, result) {
	t.Helper()
	return oneWinner(t, "", res, func(loser string) string {
		return fmt.Sprintf("refused: taking %s out would leave 0 in rotation, the budget is 1", loser)
	})
}

// oneWinner checks that exactly one drain of a race got the slot (exit 0)
// and the other was refused (exit 5) with want(its name) on stderr and
// the documented final line, and returns them; at begins each message
// ("round 2: ").
func oneWinner(t *testing.T, at string, res []result, want func(loser string) string) (result, result) {
	t.Helper()
	var win, lose []result
	for _, r := range res {
		switch r.code {
		case 0:
			win = append(win, r)
		case 5:
			lose = append(lose, r)
		default:
			t.Errorf("%s%s: exit %d\n%s%s", at, r.name, r.code, r.stdout, r.stderr)
		}
	}
	if len(win) != 1 || len(lose) != 1 {
		t.Fatalf("%swant one winner and one refused, got %d and %d: %+v", at, len(win), len(lose), res)
	}
	w := want(lose[0].name)
	if !strings.Contains(lose[0].stderr, w) || strings.TrimSpace(lose[0].stdout) != "refused by the disruption budget: nothing was changed; server is IN rotation" {
		t.Errorf("%srefused drain's output lacks %q or its final line:\n%s%s", at, w, lose[0].stderr, lose[0].stdout)
	}
	return win[0], lose[0]
}

func startEtcd(t *testing.T) *testbed.Etcd {
	t.Helper()
	requireServers(t, "etcd")
	e, err := testbed.StartEtcd(filepath.Join(t.TempDir(), "etcd"))
	must(t, err)
	t.Cleanup(e.Kill)
	return e
}

// Two drains on "two machines" (state directories of their own, so only
// etcd is shared) race for the last free slot of a real HAProxy pool of
// three with one out and --min-in-rotation 1: HAProxy never shows fewer
// than one in rotation, exactly one gets the slot, the other is refused
// (exit 5) with nothing changed, and etcd records who took the winner out.
func TestBudgetRaceEtcd(t *testing.T) {
	p := startPool3(t)
	e := startEtcd(t)
	for round := range 3 { // a few rounds: the race is decided by timing
		s := p.sample()
		res := p.race(t, p.outArgs("", "--lock", "etcd:"+e.URL), "a", "b")
		if fewest := s.end(t); fewest < 1 {
			t.Fatalf("round %d: HAProxy had %d in rotation during the race, the budget is 1", round, fewest)
		}
		win, lose := winnerAndLoser(t, res)
		in, err := p.inRotation()
		must(t, err)
		if in[win.name] || !in[lose.name] || count(in) != 1 {
			t.Fatalf("round %d: after the race: %v (winner %s)", round, in, win.name)
		}
		rec := etcdGet(t, e, "/drain/pools/")
		if !strings.Contains(rec, `"server":"`+win.name+`"`) || !strings.Contains(rec, "race "+win.name) {
			t.Errorf("round %d: etcd has no out record for %s: %s", round, win.name, rec)
		}
		// Put the winner back for the next round (drain in, its own state
		// dir): in removes the out record.
		out, err := exec.Command(p.drain, "in", "--haproxy", p.server(win.name), "--state-dir", filepath.Join(p.dir, "state-"+win.name), "--lock", "etcd:"+e.URL).CombinedOutput()
		if err != nil {
			t.Fatalf("drain in %s: %v\n%s", win.name, err, out)
		}
		if rec := etcdGet(t, e, "/drain/pools/"); strings.Contains(rec, "/out/") {
			t.Errorf("round %d: out record left after drain in: %s", round, rec)
		}
	}
}

// etcdGet lists the keys and values under prefix (etcdctl, the official
// command-line client, as an independent reader).
func etcdGet(t *testing.T, e *testbed.Etcd, prefix string) string {
	t.Helper()
	bin, err := testbed.Find("etcdctl")
	if err != nil {
		t.Skip("etcdctl not installed (etcd-client)")
	}
	cmd := exec.Command(bin, "--endpoints", e.URL, "get", "--prefix", prefix)
	cmd.Env = append(os.Environ(), "ETCDCTL_API=3")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("etcdctl get: %v\n%s", err, out)
	}
	return string(out)
}

// The loser waits its turn instead (--wait-turn): it goes only once the
// winner is back in, and the pool never drops below the budget.
func TestBudgetRaceEtcdWaitTurn(t *testing.T) {
	p := startPool3(t)
	e := startEtcd(t)
	s := p.sample()
	done := make(chan []result, 1)
	go func() {
		done <- p.race(t, p.outArgs("", "--lock", "etcd:"+e.URL, "--wait-turn", "60s", "--interval", "200ms"), "a", "b")
	}()
	// Whoever got the slot first: put it back once the other is waiting.
	deadline := time.Now().Add(60 * time.Second)
	var first string
	for first == "" && time.Now().Before(deadline) {
		in, err := p.inRotation()
		must(t, err)
		for _, n := range []string{"a", "b"} {
			if !in[n] {
				first = n
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if first == "" {
		t.Fatal("neither drain took its server out")
	}
	time.Sleep(time.Second) // the other is waiting now
	if in, _ := p.inRotation(); count(in) != 1 {
		t.Fatalf("while one waits: %v", in)
	}
	out, err := exec.Command(p.drain, "in", "--haproxy", p.server(first), "--state-dir", filepath.Join(p.dir, "state-"+first)).CombinedOutput()
	if err != nil {
		t.Fatalf("drain in %s: %v\n%s", first, err, out)
	}
	var res []result
	select {
	case res = <-done:
	case <-time.After(80 * time.Second):
		t.Fatal("the waiting drain never went")
	}
	if fewest := s.end(t); fewest < 1 {
		t.Fatalf("HAProxy had %d in rotation, the budget is 1", fewest)
	}
	waited := false
	for _, r := range res {
		if r.code != 0 {
			t.Fatalf("%s: exit %d\n%s", r.name, r.code, r.stderr)
		}
		waited = waited || strings.Contains(r.stderr, "waiting for a turn: 0 of 3 in rotation without "+r.name+", budget 1")
	}
	if !waited {
		t.Errorf("no drain said what it waited for:\n%+v", res)
	}
	if in, _ := p.inRotation(); in[first] == false || count(in) != 1 {
		t.Errorf("at the end: %v (the first, %s, was put back; the second went)", in, first)
	}
}

// etcd not running at the start: exit 1 before anything changes, one line
// naming the endpoint, a hint, and the final line says IN.
func TestBudgetEtcdUnreachable(t *testing.T) {
	p := startPool3(t)
	addr, err := testbed.FreeAddr()
	must(t, err)
	cmd := exec.Command(p.drain, p.outArgs("", "--lock", "etcd:http://"+addr)("a")...)
	out, err := cmd.CombinedOutput()
	if code := exitCode(err); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	if !strings.Contains(string(out), "etcd http://"+addr+" unreachable") || !strings.Contains(string(out), "hint: nothing was changed") || !strings.Contains(string(out), "failed: nothing was changed; server is IN rotation") {
		t.Errorf("output:\n%s", out)
	}
	if in, _ := p.inRotation(); !in["a"] || count(in) != 2 {
		t.Errorf("rotation changed: %v", in)
	}
}

// etcd killed while a drain waits for its turn: the next check cannot take
// the lock, the drain ends with exit 1, nothing changed.
func TestBudgetEtcdKilledWhileWaiting(t *testing.T) {
	p := startPool3(t)
	e := startEtcd(t)
	cmd, so, se := p.startWaiting(t, "waiting for a turn: 1 of 3 in rotation without a, budget 2", "--lock", "etcd:"+e.URL)
	e.Kill()
	errc := make(chan error, 1)
	go func() { errc <- cmd.Wait() }()
	select {
	case err := <-errc:
		if code := exitCode(err); code != 1 {
			t.Fatalf("exit %d, want 1\n%s", code, se.String())
		}
	case <-time.After(40 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("drain went on waiting with etcd gone:\n%s", se.String())
	}
	if !strings.Contains(se.String(), "unreachable") || !strings.Contains(so.String(), "nothing was changed; server is IN rotation") {
		t.Errorf("output:\n%s", se.String())
	}
	if in, _ := p.inRotation(); !in["a"] || count(in) != 2 {
		t.Errorf("rotation changed: %v", in)
	}
}

// Without etcd, two drains on one machine (one state directory) race for
// the last slot: the machine-wide pool lock lets exactly one through.
func TestBudgetRaceLocal(t *testing.T) {
	p := startPool3(t)
	sd := filepath.Join(p.dir, "state")
	for round := range 3 {
		s := p.sample()
		res := p.race(t, p.outArgs(sd), "a", "b")
		if fewest := s.end(t); fewest < 1 {
			t.Fatalf("round %d: HAProxy had %d in rotation during the race, the budget is 1", round, fewest)
		}
		win, _ := winnerAndLoser(t, res)
		out, err := exec.Command(p.drain, "in", "--haproxy", p.server(win.name), "--state-dir", sd).CombinedOutput()
		if err != nil {
			t.Fatalf("drain in: %v\n%s", err, out)
		}
	}
}

// startWaiting starts drain out of a with --wait-turn 60s, --interval
// 200ms, --min-in-rotation 2 and extra: with a and b in, taking a out would
// leave 1, so a waits for a turn; it returns once stderr says want.
func (p *pool3) startWaiting(t *testing.T, want string, extra ...string) (cmd *exec.Cmd, stdout, stderr *syncBuf) {
	t.Helper()
	args := p.outArgs("", append(extra, "--wait-turn", "60s", "--interval", "200ms")...)("a")
	for i, a := range args {
		if a == "--min-in-rotation" {
			args[i+1] = "2"
		}
	}
	cmd = exec.Command(p.drain, args...)
	var so, se syncBuf
	cmd.Stdout, cmd.Stderr = &so, &se
	must(t, cmd.Start())
	waitForText(t, &se, want)
	return cmd, &so, &se
}

// Ctrl-C while waiting for a turn: exit 130, nothing changed, IN.
func TestBudgetWaitTurnInterrupted(t *testing.T) {
	p := startPool3(t)
	cmd, so, se := p.startWaiting(t, "waiting for a turn")
	must(t, cmd.Process.Signal(syscall.SIGINT))
	err := cmd.Wait()
	if code := exitCode(err); code != 130 {
		t.Fatalf("exit %d, want 130\n%s", code, se.String())
	}
	if !strings.Contains(so.String(), "interrupted: nothing was changed; server is IN rotation") {
		t.Errorf("output:\n%s%s", se.String(), so.String())
	}
	if in, _ := p.inRotation(); !in["a"] || count(in) != 2 {
		t.Errorf("rotation changed: %v", in)
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitForText(t *testing.T, b *syncBuf, text string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(b.String(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("never said %q:\n%s", text, b.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Refused with --output json: the result event says refused, exit code 5,
// rotation IN; stdout holds only events.
func TestBudgetRefusedJSON(t *testing.T) {
	p := startPool3(t)
	if out, err := p.lb.Cmd("set server web/b state maint"); err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("b to maint: %q %v", out, err)
	}
	cmd := exec.Command(p.drain, append(p.outArgs("")("a"), "--output", "json")...)
	var se bytes.Buffer
	cmd.Stderr = &se
	out, err := cmd.Output()
	if code := exitCode(err); code != 5 {
		t.Fatalf("exit %d, want 5\n%s%s", code, out, se.String())
	}
	evs := parseEvents(t, out)
	last := evs[len(evs)-1]
	if last.Event != "result" || last.Result != "refused" || last.ExitCode == nil || *last.ExitCode != 5 || last.Rotation != "IN" {
		t.Fatalf("result event %+v", last)
	}
	if in, _ := p.inRotation(); !in["a"] {
		t.Errorf("a changed: %v", in)
	}
}

// A host killed mid-drain (SIGKILL while it waits): its server stays out of
// rotation, and the next host's budget counts it as out: refused at once, or
// after waiting its turn in vain. Once the killed host's server is put back
// ('drain in' undoes the record the killed run left), the next host goes.
func TestBudgetHostKilledMidDrain(t *testing.T) {
	p := startPool3(t) // a and b in rotation, c out: budget 1 leaves one slot
	sdA, sdB := filepath.Join(p.dir, "state-a"), filepath.Join(p.dir, "state-b")
	run := exec.Command(p.drain, "run", "--haproxy", p.server("a"), "--min-in-rotation", "1",
		"--state-dir", sdA, "--source", "exec:echo 5", "--interval", "200ms", "--timeout", "60s",
		"--output", "json", "--", "true")
	var so, se syncBuf
	run.Stdout, run.Stderr = &so, &se
	must(t, run.Start())
	waitForText(t, &so, `"event":"poll"`)
	must(t, run.Process.Kill())
	_ = run.Wait()
	in, err := p.inRotation()
	must(t, err)
	if in["a"] || !in["b"] || count(in) != 1 {
		t.Fatalf("after the kill HAProxy has %v in rotation, want only b (a stays out)", in)
	}

	out := func(extra ...string) result {
		args := append([]string{"out", "--haproxy", p.server("b"), "--min-in-rotation", "1", "--state-dir", sdB}, extra...)
		cmd := exec.Command(p.drain, args...)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		return result{name: "b", code: exitCode(err), stdout: o.String(), stderr: e.String()}
	}
	for _, extra := range [][]string{nil, {"--wait-turn", "2s", "--interval", "200ms"}} {
		r := out(extra...)
		if r.code != 5 || !strings.Contains(r.stderr+r.stdout, "would leave 0 in rotation, the budget is 1") {
			t.Fatalf("b out %v: exit %d, want 5 refused\n%s%s", extra, r.code, r.stderr, r.stdout)
		}
		if len(extra) > 0 && !strings.Contains(r.stderr+r.stdout, "waiting for a turn") {
			t.Errorf("b out --wait-turn did not say it waited:\n%s%s", r.stderr, r.stdout)
		}
		if in, _ := p.inRotation(); !in["b"] {
			t.Fatalf("refused, but b is out of rotation: %v", in)
		}
	}

	back, err := exec.Command(p.drain, "in", "--haproxy", p.server("a"), "--state-dir", sdA).CombinedOutput()
	if err != nil || !strings.Contains(string(back), "IN rotation") {
		t.Fatalf("drain in for the killed host: %v\n%s", err, back)
	}
	if r := out(); r.code != 0 {
		t.Fatalf("b out after a is back: exit %d\n%s%s", r.code, r.stderr, r.stdout)
	}
}
