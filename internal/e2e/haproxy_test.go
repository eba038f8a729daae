//go:build !windows

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/testbed"
)

// lbPair is two real HAProxy instances in front of two real nginx backends.
type lbPair struct {
	a, b     *testbed.Nginx
	lb1, lb2 *testbed.HAProxy
	dir      string
	drain    string // the built binary
}

func startLBPair(t *testing.T) *lbPair {
	t.Helper()
	return startLBPairCheck(t, testbed.FastCheck)
}

// startLBPairCheck is startLBPair with the LBs' health check c.
func startLBPairCheck(t *testing.T, c testbed.Check) *lbPair {
	t.Helper()
	requireServers(t, "nginx", "haproxy")
	p := &lbPair{dir: t.TempDir()}
	// nginx workers drop root privileges: let them into the test directory.
	must(t, os.Chmod(filepath.Dir(p.dir), 0o755))
	var err error
	for _, n := range []struct {
		dst  **testbed.Nginx
		name string
	}{{&p.a, "A"}, {&p.b, "B"}} {
		*n.dst, err = testbed.StartNginx(filepath.Join(p.dir, n.name), n.name)
		must(t, err)
		t.Cleanup((*n.dst).Kill)
	}
	for i, dst := range []**testbed.HAProxy{&p.lb1, &p.lb2} {
		*dst, err = testbed.StartHAProxyCheck(filepath.Join(p.dir, fmt.Sprintf("lb%d", i+1)), c, p.a, p.b)
		must(t, err)
		t.Cleanup((*dst).Kill)
	}
	p.drain = buildDrain(t)
	return p
}

// runUnderLoad starts the load through both LBs, lets slow downloads get in
// flight on A (1.5 s), runs drain with args and the action that fast-stops
// A (SIGTERM), lets traffic go on through B for a second and stops the
// load: drain's stdout and stderr, when it started, and every request.
func (p *lbPair) runUnderLoad(t *testing.T, args []string) (stdout []byte, stderr string, started time.Time, results []testbed.Result) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	load := p.load(ctx)
	time.Sleep(1500 * time.Millisecond) // slow downloads in flight on A

	args = append(args, "--", "kill", "-TERM", fmt.Sprint(p.a.Pid()))
	started = time.Now()
	cmd := exec.Command(p.drain, args...)
	var se bytes.Buffer
	cmd.Stderr = &se
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("drain run: %v\nstdout:\n%s\nstderr:\n%s", err, out, se.String())
	}
	time.Sleep(time.Second) // traffic goes on through B
	stop()
	return out, se.String(), started, load.Wait()
}

func (p *lbPair) load(ctx context.Context) *testbed.Load {
	return testbed.StartLoad(ctx, []string{p.lb1.URL(""), p.lb2.URL("")}, 6, 40)
}

// drainThroughHAProxy: load runs through a pair of real HAProxy LBs; drain
// takes backend A out (rotation flags given), waits on A's nginx and both
// LBs' view of A, then fast-stops A with SIGTERM. No client request may
// fail or be cut, A's last request must end before the action starts, and
// the server state must be reported as it is.
func drainThroughHAProxy(t *testing.T, p *lbPair, rotation []string, lbGrace string) []testbed.Result {
	args := append([]string{
		"run", "--output", "json", "--state-dir", filepath.Join(p.dir, "state"),
		"--source", "nginx:" + p.a.URL("/nginx_status"),
		"--source", "haproxy:" + p.lb1.Server(p.a),
		"--source", "haproxy:" + p.lb2.StatsCSV() + "#web/a",
		"--lb-grace", lbGrace, "--settle", "500ms", "--interval", "100ms", "--timeout", "30s",
	}, rotation...)
	out, _, outAt, results := p.runUnderLoad(t, args)

	actionStart := drainedThenActed(t, out)
	select {
	case <-p.a.Exited():
	case <-time.After(5 * time.Second):
		t.Error("backend A still running 5 s after the action")
	}

	var failed, viaA, viaB, inFlightOnA int
	var lastA time.Time
	for _, r := range results {
		if !r.OK() {
			failed++
			t.Errorf("request failed or cut: %s", r)
		}
		switch r.Backend {
		case "A":
			viaA++
			if r.End.After(lastA) {
				lastA = r.End
			}
			if r.Slow && r.Start.Before(outAt) && r.End.After(outAt) {
				inFlightOnA++
			}
		case "B":
			viaB++
		}
	}
	t.Logf("%d requests (%d via A, %d via B, %d slow ones in flight on A at out), %d failed; A's last ended %s, action started %s (+%s)",
		len(results), viaA, viaB, inFlightOnA, failed, lastA.Format(time.StampMilli), actionStart.Format(time.StampMilli), actionStart.Sub(lastA).Round(time.Millisecond))
	if inFlightOnA == 0 || viaB == 0 {
		t.Error("the load did not have downloads in flight on A at out and traffic on B: the test proves nothing")
	}
	if !actionStart.After(lastA) {
		t.Errorf("action started at %s, before A's last request ended at %s", actionStart.Format(time.StampMilli), lastA.Format(time.StampMilli))
	}
	return results
}

// drainStatus runs drain status with the rotation flags and returns its
// status event.
func drainStatus(t *testing.T, p *lbPair, rotation []string) map[string]any {
	t.Helper()
	out, _ := exec.Command(p.drain, append([]string{"status", "--output", "json", "--state-dir", filepath.Join(p.dir, "state")}, rotation...)...).Output()
	var rep map[string]any
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("drain status: %q: %v", out, err)
	}
	return rep
}

func TestHAProxyKeepaliveDrain(t *testing.T) {
	p := startLBPair(t)
	rot := []string{"--keepalive", p.a.Keepalive(), "--verify-url", p.a.URL("/keepalive.htm")}
	// Checks every 200 ms, down after 2: 1 s is the probe time with margin.
	drainThroughHAProxy(t, p, rot, "1s")
	for i, lb := range []*testbed.HAProxy{p.lb1, p.lb2} {
		if st, err := lb.ServerStatus(p.a); err != nil || !strings.HasPrefix(st, "DOWN") {
			t.Errorf("lb%d sees A as %q (%v), want DOWN", i+1, st, err)
		}
	}
	if rep := drainStatus(t, p, rot[:2]); rep["rotation"] != "OUT" {
		t.Errorf("drain status: %v, want OUT", rep)
	}
}

func TestHAProxyAPIDrain(t *testing.T) {
	p := startLBPair(t)
	rot := []string{"--haproxy", p.lb1.Server(p.a), "--haproxy", "unix:" + p.lb2.Server(p.a)}
	drainThroughHAProxy(t, p, rot, "0")
	for i, lb := range []*testbed.HAProxy{p.lb1, p.lb2} {
		if d, err := lb.AdminDrained(p.a); err != nil || !d {
			t.Errorf("lb%d: A not in drain (%v)", i+1, err)
		}
		if d, err := lb.AdminDrained(p.b); err != nil || d {
			t.Errorf("lb%d: B in drain (%v)", i+1, err)
		}
	}
	if rep := drainStatus(t, p, rot); rep["rotation"] != "OUT" {
		t.Errorf("drain status: %v, want OUT", rep)
	}
	// Back in: ready on both LBs, read back.
	out, err := exec.Command(p.drain, append([]string{"in", "--state-dir", filepath.Join(p.dir, "state")}, rot...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("drain in: %v\n%s", err, out)
	}
	for i, lb := range []*testbed.HAProxy{p.lb1, p.lb2} {
		if d, err := lb.AdminDrained(p.a); err != nil || d {
			t.Errorf("lb%d: A still in drain after in (%v)", i+1, err)
		}
	}
	if rep := drainStatus(t, p, rot); rep["rotation"] != "IN" {
		t.Errorf("drain status after in: %v, want IN", rep)
	}
}

// One LB refuses (a server name it does not know): nothing may stay changed
// on the other, and the error must name the failing LB.
func TestHAProxyAPIAllOrNothing(t *testing.T) {
	p := startLBPair(t)
	bad := p.lb2.Sock + "#web/nosuch"
	cmd := exec.Command(p.drain, "out", "--state-dir", filepath.Join(p.dir, "state"),
		"--haproxy", p.lb1.Server(p.a), "--haproxy", bad)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errorsAs(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("drain out: %v, want exit 2\n%s", err, out)
	}
	if !strings.Contains(string(out), "haproxy "+bad) || !strings.Contains(string(out), `no server "nosuch"`) {
		t.Errorf("error does not name the failing LB:\n%s", out)
	}
	if d, err := p.lb1.AdminDrained(p.a); err != nil || d {
		t.Errorf("lb1 left A in drain (%v)", err)
	}
}

// TestHAProxyHarnessDetectsCuts is the control: stopping A under the same
// load without drain must show failed or cut requests.
func TestHAProxyHarnessDetectsCuts(t *testing.T) {
	p := startLBPair(t)
	ctx, stop := context.WithCancel(context.Background())
	load := p.load(ctx)
	time.Sleep(1500 * time.Millisecond)
	must(t, p.a.Cmd.Process.Signal(os.Interrupt)) // SIGTERM-like fast stop
	time.Sleep(500 * time.Millisecond)
	stop()
	failed := 0
	for _, r := range load.Wait() {
		if !r.OK() {
			failed++
		}
	}
	if failed == 0 {
		t.Fatal("stopping A under load cut nothing: the harness cannot see dropped requests")
	}
	t.Logf("%d requests failed or were cut without drain", failed)
}
