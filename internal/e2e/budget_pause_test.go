//go:build !windows

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/haproxy"
)

// The pool lock under pauses, lost writes and a dead etcd member (issue 23,
// items 14, 19, 20, 22 and Ctrl-Z), with real drains (the built binary), a
// real HAProxy and a real etcd.

// sockProxy stands in front of HAProxy's runtime socket at the socket's own
// path (the real socket is renamed beside it, so every drain names the same
// pool and takes the same lock): it passes commands through, holds a
// command the test picks until released (a change on its way to the
// balancer while its drain is paused), or passes it at once and answers it
// late (a balancer that applied a change but answered after the drain gave
// up).
type sockProxy struct {
	real    string
	ln      net.Listener
	hold    func(cmd string) bool
	delay   func(cmd string) time.Duration
	held    chan string // a held command arrived
	wg      sync.WaitGroup
	mu      sync.Mutex
	release chan struct{} // closed: the commands held until now go on
}

// let lets the commands held until now go on; later ones are held again.
func (sp *sockProxy) let() {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	close(sp.release)
	sp.release = make(chan struct{})
}

func (sp *sockProxy) gate() chan struct{} {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.release
}

// proxySocket starts the proxy: hold and delay (nil: none) pick the
// commands it holds or answers late.
func (p *pool3) proxySocket(t *testing.T, hold func(cmd string) bool, delay func(cmd string) time.Duration) *sockProxy {
	t.Helper()
	real := p.lb.Sock + ".real"
	must(t, os.Rename(p.lb.Sock, real))
	ln, err := net.Listen("unix", p.lb.Sock)
	must(t, err)
	sp := &sockProxy{
		real: real, ln: ln, held: make(chan string, 16), release: make(chan struct{}),
		hold: hold, delay: delay,
	}
	if sp.hold == nil {
		sp.hold = func(string) bool { return false }
	}
	if sp.delay == nil {
		sp.delay = func(string) time.Duration { return 0 }
	}
	sp.wg.Add(1)
	go sp.serve()
	t.Cleanup(func() {
		_ = ln.Close()
		sp.let()
		sp.wg.Wait()
	})
	return sp
}

func (sp *sockProxy) serve() {
	defer sp.wg.Done()
	for {
		c, err := sp.ln.Accept()
		if err != nil {
			return
		}
		sp.wg.Add(1)
		go func() {
			defer sp.wg.Done()
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(2 * time.Minute)) // bounded whatever happens
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil {
				return
			}
			cmd := strings.TrimSpace(line)
			if sp.hold(cmd) {
				g := sp.gate()
				sp.held <- cmd
				<-g
			}
			up, err := net.DialTimeout("unix", sp.real, 5*time.Second)
			if err != nil {
				return
			}
			defer up.Close()
			_ = up.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(up, line); err != nil {
				return
			}
			answer, _ := io.ReadAll(up)
			if d := sp.delay(cmd); d > 0 {
				time.Sleep(d)
			}
			_, _ = c.Write(answer)
		}()
	}
}

// timedSampler reads the pool from HAProxy every 10 ms and keeps when it
// last asked and was told fewer than min in rotation.
type timedSampler struct {
	stop      chan struct{}
	done      chan struct{}
	min       int
	lastBelow time.Time
	below     int
	samples   int
	err       error
}

func (p *pool3) sampleBelow(min int) *timedSampler {
	s := &timedSampler{stop: make(chan struct{}), done: make(chan struct{}), min: min}
	go func() {
		defer close(s.done)
		deadline := time.Now().Add(3 * time.Minute)
		for time.Now().Before(deadline) {
			asked := time.Now() // what HAProxy answers is its state at or after this
			in, err := p.inRotation()
			if err != nil {
				s.err = err
				return
			}
			s.samples++
			if count(in) < s.min {
				s.below++
				s.lastBelow = asked
			}
			select {
			case <-s.stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return s
}

func (s *timedSampler) end(t *testing.T) {
	t.Helper()
	close(s.stop)
	<-s.done
	if s.err != nil {
		t.Fatalf("sampling HAProxy: %v", s.err)
	}
	t.Logf("%d samples, %d below the budget of %d (last %v)", s.samples, s.below, s.min, s.lastBelow.Format(time.StampMilli))
}

// startDrain starts the built drain with its output kept.
func startDrain(t *testing.T, bin string, args ...string) (*exec.Cmd, *syncBuf, *syncBuf) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var so, se syncBuf
	cmd.Stdout, cmd.Stderr = &so, &se
	must(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
	})
	return cmd, &so, &se
}

func waitExit(t *testing.T, cmd *exec.Cmd, limit time.Duration) int {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- cmd.Wait() }()
	select {
	case err := <-errc:
		return exitCode(err)
	case <-time.After(limit):
		_ = cmd.Process.Kill()
		<-errc
		t.Fatalf("drain (pid %d) still running after %s", cmd.Process.Pid, limit)
	}
	return -1
}

// waitEtcdKeyGone polls etcd until no key under prefix ends in suffix.
func waitEtcdKeyGone(t *testing.T, p *pool3, eURL, prefix, suffix string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		out := etcdGetURL(t, eURL, prefix)
		gone := true
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "/") && strings.HasSuffix(l, suffix) {
				gone = false
			}
		}
		if gone {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("etcd still has %s*%s after %s:\n%s", prefix, suffix, limit, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func etcdGetURL(t *testing.T, url, prefix string) string {
	t.Helper()
	bin, err := exec.LookPath("etcdctl")
	if err != nil {
		t.Skip("etcdctl not installed (etcd-client)")
	}
	cmd := exec.Command(bin, "--endpoints", url, "get", "--prefix", prefix)
	cmd.Env = append(os.Environ(), "ETCDCTL_API=3")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("etcdctl get: %v\n%s", err, out)
	}
	return string(out)
}

// holdA makes the proxy hold drain A's change of web/a out of rotation
// until let go (putting it back is never held).
func holdA(cmd string) bool {
	return strings.HasPrefix(cmd, "set server web/a state ") && !strings.HasSuffix(cmd, " ready")
}

// startHolder starts drain A with the budget and the etcd lock, and stops
// it (SIGSTOP) once its change of web/a is on its way, held by the proxy:
// A holds the pool lock, its lease no longer renewed.
func startHolder(t *testing.T, p *pool3, sp *sockProxy, etcdURL string, args ...string) (*exec.Cmd, *syncBuf, *syncBuf) {
	t.Helper()
	if len(args) == 0 {
		args = p.outArgs("", "--lock", "etcd:"+etcdURL)("a")
	}
	a, so, se := startDrain(t, p.drain, args...)
	select {
	case <-sp.held:
	case <-time.After(30 * time.Second):
		t.Fatalf("drain A never sent its change:\n%s", se.String())
	}
	if !strings.Contains(se.String(), "budget ok") {
		t.Fatalf("A changes without a budget check:\n%s", se.String())
	}
	must(t, a.Process.Signal(syscall.SIGSTOP))
	return a, so, se
}

// Item 20: a drain waiting for the lock behind a holder that is stopped
// (SIGSTOP, a VM pause) keeps its own lease alive while it waits, and gets
// its turn once the holder's lease expires, well within --wait-turn 60s
// (it used to fail after ~10.7 s: its own lease, granted before the wait,
// had expired: ".../v3/kv/txn: not found (is this etcd's client URL?)").
func TestBudgetEtcdWaiterOutlivesStoppedHolder(t *testing.T) {
	p := startPool3(t)
	e := startEtcd(t)
	sp := p.proxySocket(t, holdA, nil)
	a, _, _ := startHolder(t, p, sp, e.URL)
	start := time.Now()
	b, bo, be := startDrain(t, p.drain, p.outArgs("", "--lock", "etcd:"+e.URL, "--wait-turn", "60s", "--interval", "200ms")("b")...)
	code := waitExit(t, b, 70*time.Second)
	took := time.Since(start)
	if code != 0 {
		t.Fatalf("waiter: exit %d after %s, want 0 (its turn once A's lease expired)\n%s%s", code, took.Round(time.Millisecond), be.String(), bo.String())
	}
	if !strings.Contains(be.String(), "waiting for the pool lock (etcd") || !strings.Contains(be.String(), "pid "+strconv.Itoa(a.Process.Pid)) {
		t.Errorf("the waiter did not say who it waited for:\n%s", be.String())
	}
	if took < 5*time.Second {
		t.Errorf("the waiter went after %s, before A's lease could expire", took)
	}
	in, err := p.inRotation()
	must(t, err)
	if in["b"] || !in["a"] {
		t.Errorf("HAProxy: %v, want b out and a (held, its drain stopped) in", in)
	}
	_ = a.Process.Kill()
}

// Item 19: drain A passes the budget under the etcd lock, then is stopped
// before its change reaches HAProxy, past its lease. B takes the lock, sees
// a still in, and takes b out (legitimately). A wakes, its change lands:
// 0 of 3 in rotation, below the budget of 1. A reads the pool back after
// its change, puts a back (its action never runs), and exits 5; HAProxy,
// sampled every 10 ms, is never below the budget after A's undo.
func TestBudgetEtcdPausedHolderUndone(t *testing.T) {
	p := startPool3(t)
	e := startEtcd(t)
	sp := p.proxySocket(t, holdA, nil)
	acted := filepath.Join(p.dir, "a-acted")
	args := []string{
		"run", "--haproxy", p.server("a"), "--min-in-rotation", "1", "--lock", "etcd:" + e.URL,
		"--state-dir", filepath.Join(p.dir, "state-a"), "--reason", "paused a",
		"--source", "exec:echo 0", "--interval", "200ms", "--lb-grace", "0s", "--timeout", "60s", "--", "touch", acted,
	}
	a, ao, ae := startHolder(t, p, sp, e.URL, args...)
	waitEtcdKeyGone(t, p, e.URL, "/drain/pools/", "/lock", 40*time.Second) // A's lease expired
	out, err := exec.Command(p.drain, p.outArgs("", "--lock", "etcd:"+e.URL)("b")...).CombinedOutput()
	if err != nil {
		t.Fatalf("B: %v\n%s", err, out)
	}
	s := p.sampleBelow(1)
	sp.let() // A's change lands: a out, 0 of 3 in rotation
	deadline := time.Now().Add(20 * time.Second)
	for {
		in, err := p.inRotation()
		must(t, err)
		if !in["a"] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("A's held change never landed: %v", in)
		}
		time.Sleep(10 * time.Millisecond)
	}
	must(t, a.Process.Signal(syscall.SIGCONT)) // and A wakes
	code := waitExit(t, a, 60*time.Second)
	exited := time.Now()
	time.Sleep(time.Second) // and sample on a little
	s.end(t)
	t.Logf("A:\n%s%s", ae.String(), ao.String())
	if code != 5 {
		t.Errorf("A: exit %d, want 5 (refused: put back)", code)
	}
	if _, err := os.Stat(acted); err == nil {
		t.Errorf("A's action ran with the pool below the budget\n%s", ae.String())
	}
	if !s.lastBelow.IsZero() && s.lastBelow.After(exited) {
		t.Errorf("HAProxy below the budget at %s, after A ended at %s", s.lastBelow.Format(time.StampMilli), exited.Format(time.StampMilli))
	}
	in, err := p.inRotation()
	must(t, err)
	if !in["a"] || in["b"] || count(in) != 1 {
		t.Errorf("at the end HAProxy has %v, want a back in and b out", in)
	}
	if !strings.Contains(ao.String(), "server is IN rotation") {
		t.Errorf("A's final line does not say IN:\n%s", ao.String())
	}
	if rec := etcdGetURL(t, e.URL, "/drain/pools/"); strings.Contains(rec, "/out/a") {
		t.Errorf("etcd still says A took a out:\n%s", rec)
	}
}

// Item 22: HAProxy applies the change but answers after the drain's
// timeout: the drain says OUT (exit 1), and etcd has its out record, so
// 'status --pool --lock etcd:' on another machine names the owner.
func TestBudgetEtcdLateAnswerRecorded(t *testing.T) {
	p := startPool3(t)
	e := startEtcd(t)
	p.proxySocket(t, nil, func(cmd string) time.Duration {
		if strings.HasPrefix(cmd, "set server web/a state ") {
			return 4 * time.Second // past 2 x --read-timeout 1s
		}
		return 0
	})
	cmd := exec.Command(p.drain, p.outArgs("", "--lock", "etcd:"+e.URL, "--read-timeout", "1s")("a")...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	code := exitCode(cmd.Run())
	if code != 1 || !strings.Contains(so.String(), "OUT") {
		t.Fatalf("exit %d, want 1 saying OUT\n%s%s", code, se.String(), so.String())
	}
	if in, _ := p.inRotation(); in["a"] {
		t.Fatalf("a is in rotation: the change did not land: %v", in)
	}
	st, err := exec.Command(p.drain, "status", "--pool", "haproxy:"+p.lb.Sock+"#web", "--lock", "etcd:"+e.URL, "--output", "json").CombinedOutput()
	if err != nil {
		t.Fatalf("status --pool: %v\n%s", err, st)
	}
	if !strings.Contains(string(st), `"from":"etcd"`) || !strings.Contains(string(st), "race a") {
		t.Errorf("status --pool --lock names no owner for a:\n%s\netcd: %s", st, etcdGetURL(t, e.URL, "/drain/"))
	}
}

// Item 14: --lock etcd:DEAD,LIVE with DEAD taking connections and never
// answering: the drain uses LIVE, keeps the lock, and is done in a few
// seconds (it said "etcd lock lost" after 13 s, exit 1).
func TestBudgetEtcdDeadFirstEndpoint(t *testing.T) {
	p := startPool3(t)
	e := startEtcd(t)
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer dead.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := dead.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // never answered
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
	}()
	lock := "etcd:http://" + dead.Addr().String() + "," + e.URL
	for _, rt := range []string{"5s", "2s"} {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		out, err := exec.CommandContext(ctx, p.drain, p.outArgs("", "--lock", lock, "--read-timeout", rt)("a")...).CombinedOutput()
		cancel()
		took := time.Since(start)
		t.Logf("--read-timeout %s: out took %s", rt, took.Round(time.Millisecond))
		if code := exitCode(err); code != 0 || strings.Contains(string(out), "lost") {
			t.Fatalf("--read-timeout %s: exit %d after %s\n%s", rt, code, took, out)
		}
		if limit := 8 * time.Second; took > limit {
			t.Errorf("--read-timeout %s: out took %s with a live endpoint, want under %s", rt, took, limit)
		}
		back, err := exec.Command(p.drain, "in", "--haproxy", p.server("a"), "--state-dir", filepath.Join(p.dir, "state-a"), "--lock", lock, "--read-timeout", rt).CombinedOutput()
		if err != nil {
			t.Fatalf("in: %v\n%s", err, back)
		}
		if rec := etcdGetURL(t, e.URL, "/drain/pools/"); strings.Contains(rec, "/out/") {
			t.Errorf("out record left after in: %s", rec)
		}
	}
}

// procState is the state letter of a process (R, S, T: stopped, ...).
func procState(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		t.Fatalf("stat %q", s)
	}
	return s[i+2 : i+3]
}

func waitState(t *testing.T, pid int, want string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for procState(t, pid) != want {
		if time.Now().After(deadline) {
			t.Fatalf("pid %d in state %s after %s, want %s", pid, procState(t, pid), limit, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Ctrl-Z (SIGTSTP) while drain holds the pool lock for its check and
// change: the stop waits until the change is done and the lock let go (a
// stop there could outlast the lease); anywhere else drain stops at once.
func TestBudgetCtrlZDeferredWhileLockHeld(t *testing.T) {
	p := startPool3(t)
	e := startEtcd(t)
	sp := p.proxySocket(t, holdA, nil)
	a, ao, ae := startDrain(t, p.drain, p.outArgs("", "--lock", "etcd:"+e.URL)("a")...)
	select {
	case <-sp.held:
	case <-time.After(30 * time.Second):
		t.Fatalf("drain A never sent its change:\n%s", ae.String())
	}
	must(t, a.Process.Signal(syscall.SIGTSTP))
	waitForText(t, ae, "Ctrl-Z: the pool lock is held")
	if st := procState(t, a.Process.Pid); st == "T" {
		t.Fatalf("drain stopped holding the pool lock:\n%s", ae.String())
	}
	sp.let() // the change lands, drain confirms it and lets go
	waitState(t, a.Process.Pid, "T", 20*time.Second)
	if rec := etcdGetURL(t, e.URL, "/drain/pools/"); strings.Contains(rec, "/lock\n") {
		t.Errorf("stopped with the pool lock still in etcd:\n%s", rec)
	}
	if in, _ := p.inRotation(); in["a"] {
		t.Errorf("stopped before the change: %v", in)
	}
	must(t, a.Process.Signal(syscall.SIGCONT))
	if code := waitExit(t, a, 30*time.Second); code != 0 {
		t.Fatalf("A: exit %d\n%s%s", code, ae.String(), ao.String())
	}

	// Elsewhere (a run waiting for its sources) Ctrl-Z stops at once.
	b, bo, be := startDrain(t, p.drain, "run", "--haproxy", p.server("b"), "--state-dir", filepath.Join(p.dir, "state-b"),
		"--source", "exec:echo 5", "--interval", "200ms", "--timeout", "60s", "--", "true")
	waitForText(t, be, "taken out of rotation")
	must(t, b.Process.Signal(syscall.SIGTSTP))
	waitState(t, b.Process.Pid, "T", 10*time.Second)
	must(t, b.Process.Signal(syscall.SIGCONT))
	must(t, b.Process.Signal(syscall.SIGINT))
	if code := waitExit(t, b, 30*time.Second); code != 130 || !strings.Contains(bo.String(), "server is IN rotation") {
		t.Fatalf("B: exit %d\n%s%s", code, be.String(), bo.String())
	}

	// Ctrl-Z deferred, then Ctrl-C: the interrupt wins, drain ends (it
	// never stops halfway through putting things back).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	out, err := haproxy.Command(ctx, haproxy.Addr{Network: "unix", Address: sp.real}, "set server web/a state ready") // past the proxy
	cancel()
	if err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("a back in: %q %v", out, err)
	}
	a2, ao2, ae2 := startDrain(t, p.drain, p.outArgs(filepath.Join(p.dir, "state-a2"), "--lock", "etcd:"+e.URL)("a")...)
	select {
	case <-sp.held:
	case <-time.After(30 * time.Second):
		t.Fatalf("drain A never sent its change:\n%s", ae2.String())
	}
	must(t, a2.Process.Signal(syscall.SIGTSTP))
	waitForText(t, ae2, "Ctrl-Z: the pool lock is held")
	must(t, a2.Process.Signal(syscall.SIGINT))
	code := waitExit(t, a2, 30*time.Second)
	if code == 0 || !strings.Contains(ao2.String(), "server is IN rotation") {
		t.Errorf("A interrupted during its change: exit %d\n%s%s", code, ae2.String(), ao2.String())
	}
}

// Item 19 with --wait-turn: the paused drain that finds the pool below the
// budget after its change puts its server back and waits for a turn again;
// once B's server is back it goes (exit 0), the pool never below the
// budget after its undo.
func TestBudgetEtcdPausedHolderWaitsAgain(t *testing.T) {
	p := startPool3(t)
	e := startEtcd(t)
	var once atomic.Bool // only A's first change is held
	sp := p.proxySocket(t, func(cmd string) bool { return holdA(cmd) && once.CompareAndSwap(false, true) }, nil)
	a, ao, ae := startHolder(t, p, sp, e.URL, p.outArgs("", "--lock", "etcd:"+e.URL, "--wait-turn", "60s", "--interval", "200ms")("a")...)
	waitEtcdKeyGone(t, p, e.URL, "/drain/pools/", "/lock", 40*time.Second)
	if out, err := exec.Command(p.drain, p.outArgs("", "--lock", "etcd:"+e.URL)("b")...).CombinedOutput(); err != nil {
		t.Fatalf("B: %v\n%s", err, out)
	}
	sp.let()
	deadline := time.Now().Add(20 * time.Second)
	for {
		in, err := p.inRotation()
		must(t, err)
		if !in["a"] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("A's held change never landed: %v", in)
		}
		time.Sleep(10 * time.Millisecond)
	}
	must(t, a.Process.Signal(syscall.SIGCONT))
	waitForText(t, ae, "waiting for a turn: 0 of 3 in rotation without a, budget 1")
	s := p.sampleBelow(1)
	if in, _ := p.inRotation(); !in["a"] || count(in) != 1 {
		t.Fatalf("while A waits again HAProxy has %v, want a back in", in)
	}
	if out, err := exec.Command(p.drain, "in", "--haproxy", p.server("b"), "--state-dir", filepath.Join(p.dir, "state-b"), "--lock", "etcd:"+e.URL).CombinedOutput(); err != nil {
		t.Fatalf("in b: %v\n%s", err, out)
	}
	code := waitExit(t, a, 60*time.Second)
	s.end(t)
	if code != 0 {
		t.Fatalf("A: exit %d, want 0 (its turn once b was back)\n%s%s", code, ae.String(), ao.String())
	}
	if s.below > 0 {
		t.Errorf("HAProxy below the budget %d times while A waited again and went", s.below)
	}
	if in, _ := p.inRotation(); in["a"] || !in["b"] || count(in) != 1 {
		t.Errorf("at the end HAProxy has %v, want a out, b in", in)
	}
	if rec := etcdGetURL(t, e.URL, "/drain/pools/"); !strings.Contains(rec, "/out/a") || strings.Contains(rec, "/out/b") {
		t.Errorf("etcd records:\n%s", rec)
	}
}
