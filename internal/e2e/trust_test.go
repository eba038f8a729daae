//go:build !windows

package e2e

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/apachebm"
	"github.com/drain-cli/drain/internal/apachetest"
	"github.com/drain-cli/drain/internal/testbed"
)

// TestVerifyURLHTTPSUsesTLSSettings: --verify-url over https trusts
// --ca-file and honours --insecure, as every other client of drain does; a
// server whose certificate nothing vouches for is refused before anything
// changes, one line naming the certificate.
func TestVerifyURLHTTPSUsesTLSSettings(t *testing.T) {
	dir := t.TempDir()
	page := filepath.Join(dir, "keepalive.htm")
	must(t, os.WriteFile(page, []byte("ok\n"), 0o644))
	// The balancer's probe of the page, over https: 200 while the page is
	// there, 404 once it is renamed away.
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if _, err := os.Stat(page); err != nil {
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	ca := filepath.Join(dir, "ca.pem")
	must(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644))
	bin := buildDrain(t)
	state := filepath.Join(dir, "state")
	run := func(verb string, args ...string) (string, string, int) {
		t.Helper()
		return runBin(t, bin, append([]string{verb, "--state-dir", state, "--keepalive", page, "--verify-url", srv.URL + "/keepalive.htm", "--interval", "50ms", "--timeout", "10s"}, args...)...)
	}
	for _, tls := range [][]string{{"--ca-file", ca}, {"--insecure"}} {
		if out, e, code := run("out", tls...); code != 0 || !strings.Contains(e+out, "verify-url answers 404") {
			t.Fatalf("out %v: exit %d\n%s%s", tls, code, out, e)
		}
		if _, err := os.Stat(page); err == nil {
			t.Fatalf("out %v: the page is still there", tls)
		}
		if out, e, code := run("in", append([]string{"--wait-healthy"}, tls...)...); code != 0 {
			t.Fatalf("in %v: exit %d\n%s%s", tls, code, out, e)
		}
	}
	out, e, code := run("out")
	if code != 2 || !strings.Contains(e, "certificate") || !strings.Contains(e, "nothing") {
		t.Errorf("out without --ca-file: exit %d\n%s%s", code, out, e)
	}
	if _, err := os.Stat(page); err != nil {
		t.Errorf("out without --ca-file changed the page: %v", err)
	}
}

// runBin runs the drain binary bin and returns its stdout, stderr and exit
// code.
func runBin(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// restarter restarts a real HAProxy with its configuration and no
// server-state file, as a config deploy does: every server comes back
// ready, whatever the runtime API had set.
type restarter struct {
	lb   *testbed.HAProxy
	kill func() // ends the HAProxy running now
}

func newRestarter(lb *testbed.HAProxy) *restarter { return &restarter{lb: lb, kill: lb.Kill} }

func (r *restarter) restart(t *testing.T) {
	t.Helper()
	r.kill()
	bin, err := testbed.Find("haproxy")
	must(t, err)
	cmd := exec.Command(bin, "-db", "-f", filepath.Join(r.lb.Dir, "haproxy.cfg"))
	must(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	r.kill = func() { _ = cmd.Process.Kill(); <-done }
	t.Cleanup(r.kill)
	deadline := time.Now().Add(15 * time.Second)
	for {
		if st, err := r.lb.ServerStatus(&testbed.Nginx{Name: "a"}); err == nil && st == "UP" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("haproxy restarted but server a not UP in 15 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// actionProbe is an action that, when it starts, writes a marker and waits
// (bounded) until the test has looked at the balancer: seen is called then,
// and what it answers is kept (true: the server was in rotation while the
// action ran).
type actionProbe struct {
	marker, goOn string
	ran          chan bool
}

func newActionProbe(t *testing.T, inRotation func() bool) *actionProbe {
	t.Helper()
	dir := t.TempDir()
	p := &actionProbe{marker: filepath.Join(dir, "started"), goOn: filepath.Join(dir, "go"), ran: make(chan bool, 1)}
	stop := make(chan struct{})
	done := make(chan struct{})
	t.Cleanup(func() { close(stop); <-done })
	go func() {
		defer close(done)
		for {
			if _, err := os.Stat(p.marker); err == nil {
				p.ran <- inRotation()
				_ = os.WriteFile(p.goOn, nil, 0o644)
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return p
}

// args is the action: write the marker, wait for the test (10 s at most).
func (p *actionProbe) args() []string {
	return []string{"--", "sh", "-c", `: > "$1"; i=0; while [ ! -e "$2" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done`, "sh", p.marker, p.goOn}
}

// inRotationDuringAction says whether the action ran and, if so, whether
// the server was in rotation then.
func (p *actionProbe) inRotationDuringAction() (ran, in bool) {
	select {
	case in := <-p.ran:
		return true, in
	default:
		return false, false
	}
}

// lastLine is the final line of a drain command (its stderr's last line
// when stdout is empty).
func lastLine(out, errOut string) string {
	s := strings.TrimSpace(out)
	if s == "" {
		s = strings.TrimSpace(errOut)
	}
	lines := strings.Split(s, "\n")
	return lines[len(lines)-1]
}

// farmWithAOut is a real HAProxy farm of a and b (checks every 100 ms)
// with a taken out by drain out on the runtime API: the farm, a's rotation
// spec, and whether HAProxy has a drained now.
func farmWithAOut(t *testing.T) (f *farm, rot string, drained func() bool) {
	t.Helper()
	f = startFarm(t, testbed.Check{Inter: 100 * time.Millisecond, Fall: 1, Rise: 1}, "a", "b")
	rot = "haproxy:" + f.lb.Sock + "#web/a"
	drained = func() bool {
		d, err := f.lb.AdminDrained(&testbed.Nginx{Name: "a"})
		must(t, err)
		return d
	}
	if out, e, code := f.run(t, "out", "--rotate", rot); code != 0 || !drained() {
		t.Fatalf("out: exit %d\n%s%s", code, out, e)
	}
	return f, rot, drained
}

// TestRecordOutHAProxyRestarted: a record says the server is out, but
// HAProxy was restarted (no server-state file) and has it ready and UP. out
// takes it out again through the budget (refused when the budget says no),
// run never runs its action while HAProxy sends the server traffic, and an
// HAProxy that cannot be read stops run before the action; every final line
// says what HAProxy says.
func TestRecordOutHAProxyRestarted(t *testing.T) {
	f, rot, drained := farmWithAOut(t)
	lb := newRestarter(f.lb)
	lb.restart(t)
	if drained() {
		t.Fatal("after the restart HAProxy still has a drained: the test proves nothing")
	}

	// out, budget 2 of 2: taking a out would leave 1. Refused, a stays in.
	out, e, code := f.run(t, "out", "--rotate", rot, "--min-in-rotation", "2")
	if code != 5 || drained() || !strings.Contains(lastLine(out, e), "IN") {
		t.Errorf("out under a budget the record would have skipped: exit %d, drained %v\n%s%s", code, drained(), out, e)
	}
	// out without a budget: taken out again, for real, said so.
	out, e, code = f.run(t, "out", "--rotate", rot)
	if code != 0 || !drained() || !strings.Contains(e, "taken out of rotation") || !strings.Contains(lastLine(out, e), "OUT") {
		t.Fatalf("out again: exit %d, drained %v\n%s%s", code, drained(), out, e)
	}

	// run after another restart: the action runs only once a is out again.
	lb.restart(t)
	probe := newActionProbe(t, func() bool { return !drained() })
	out, e, code = f.run(t, append([]string{"run", "--rotate", rot, "--lb-grace", "300ms", "--interval", "50ms", "--timeout", "20s"}, probe.args()...)...)
	ran, in := probe.inRotationDuringAction()
	if code != 0 || !ran || in || !strings.Contains(lastLine(out, e), "OUT") {
		t.Fatalf("run after a restart: exit %d, action ran %v, a in rotation during the action %v\n%s%s", code, ran, in, out, e)
	}

	// HAProxy unreachable: the record says out, nothing says where the
	// server stands: the action is not run, the final line says so.
	lb.kill()
	probe = newActionProbe(t, func() bool { return true })
	out, e, code = f.run(t, append([]string{"run", "--rotate", rot, "--lb-grace", "300ms", "--interval", "50ms", "--timeout", "5s"}, probe.args()...)...)
	if ran, _ := probe.inRotationDuringAction(); ran || code != 1 || !strings.Contains(lastLine(out, e), "rotation state not known") || !strings.Contains(e, "action was NOT run") {
		t.Errorf("run with HAProxy unreachable: exit %d, action ran %v\n%s%s", code, ran, out, e)
	}
}

// TestRecordOutKeepalivePageRecreated: a record says the keep-alive page
// is out, but a deploy re-created it, so HAProxy's check passes and it
// sends A traffic. run takes it out again (the re-created page is the same
// page as the copy out renamed away: it is removed, the copy stays), runs
// the action only once HAProxy has A down, and in puts the original copy
// back exactly, leaving no disabled file. A re-created page that differs
// from the copy is refused with one line, nothing changed, nothing run.
func TestRecordOutKeepalivePageRecreated(t *testing.T) {
	p := startLBPair(t)
	state := filepath.Join(p.dir, "state")
	page := p.a.Keepalive()
	orig, err := os.ReadFile(page)
	must(t, err)
	drain := func(args ...string) (string, string, int) {
		t.Helper()
		return runBin(t, p.drain, append([]string{args[0], "--state-dir", state, "--keepalive", page}, args[1:]...)...)
	}
	upOnLB := func() bool {
		st, err := p.lb1.ServerStatus(p.a)
		must(t, err)
		return strings.HasPrefix(st, "UP")
	}
	waitUp := func(want bool) {
		t.Helper()
		waitFor(t, func() bool { return upOnLB() == want })
	}
	if out, e, code := drain("out"); code != 0 {
		t.Fatalf("out: exit %d\n%s%s", code, out, e)
	}
	waitUp(false)
	// The deploy puts the same page back: HAProxy's check passes again.
	must(t, os.WriteFile(page, orig, 0o644))
	waitUp(true)

	probe := newActionProbe(t, upOnLB)
	out, e, code := drain(append([]string{"run", "--lb-grace", "1s", "--interval", "50ms", "--timeout", "20s"}, probe.args()...)...)
	ran, in := probe.inRotationDuringAction()
	if code != 0 || !ran || in || !strings.Contains(lastLine(out, e), "OUT") {
		t.Fatalf("run over a re-created page: exit %d, action ran %v, A up on HAProxy during the action %v\n%s%s", code, ran, in, out, e)
	}
	if out, e, code := drain("in"); code != 0 {
		t.Fatalf("in: exit %d\n%s%s", code, out, e)
	}
	if b, err := os.ReadFile(page); err != nil || !bytes.Equal(b, orig) {
		t.Errorf("after in the page is %q (%v), want the original %q", b, err, orig)
	}
	if _, err := os.Stat(page + ".disabled"); err == nil {
		t.Error("after in a disabled copy is left beside the page")
	}

	// A deploy re-creates another page: drain will not choose, nor clobber.
	if out, e, code := drain("out"); code != 0 {
		t.Fatalf("out: exit %d\n%s%s", code, out, e)
	}
	waitUp(false)
	must(t, os.WriteFile(page, []byte("new release\n"), 0o644))
	waitUp(true)
	probe = newActionProbe(t, upOnLB)
	out, e, code = drain(append([]string{"run", "--lb-grace", "1s", "--interval", "50ms", "--timeout", "20s"}, probe.args()...)...)
	if ran, _ := probe.inRotationDuringAction(); ran || code != 2 || !strings.Contains(e, "differs") || !strings.Contains(lastLine(out, e), "IN") {
		t.Errorf("run over a different re-created page: exit %d, action ran %v\n%s%s", code, ran, out, e)
	}
	if b, _ := os.ReadFile(page); string(b) != "new release\n" {
		t.Errorf("the re-created page was changed: %q", b)
	}
	if b, _ := os.ReadFile(page + ".disabled"); !bytes.Equal(b, orig) {
		t.Errorf("the copy out renamed away was changed: %q", b)
	}
}

// TestRecordOutApacheRestarted: a record says A is out of a real Apache
// balancer, but Apache restarted (balancer-manager state is runtime only)
// and sends A traffic again: run takes A out again and runs its action
// only while Apache has A drained.
func TestRecordOutApacheRestarted(t *testing.T) {
	r := startRotateBed(t, "apache2")
	ap := apachetest.Start(t, "", apachetest.Member{URL: r.a.URL("")}, apachetest.Member{URL: r.b.URL("")})
	target := ap.Manager() + "#web/" + r.a.URL("")
	rot := []string{"--rotate", "apache:" + target}
	drained := func() bool { return strings.Contains(apacheStatusWords(t, ap.Manager(), r.a.URL("")), "Drn") }
	if out, e, code := r.cmd(t, append([]string{"out"}, rot...)...); code != 0 || !drained() {
		t.Fatalf("out: exit %d\n%s%s", code, out, e)
	}
	// A restart (SIGHUP: Apache re-reads its configuration) forgets it.
	pid, err := os.ReadFile(filepath.Join(ap.Dir, "httpd.pid"))
	must(t, err)
	must(t, exec.Command("kill", "-HUP", strings.TrimSpace(string(pid))).Run())
	deadline := time.Now().Add(15 * time.Second)
	for {
		if st, err := (&apachebm.Client{URL: ap.Manager()}).Get(context.Background()); err == nil && len(st) > 0 && !drained() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("after the restart Apache still has A drained: the test proves nothing")
		}
		time.Sleep(100 * time.Millisecond)
	}
	probe := newActionProbe(t, func() bool { return !drained() })
	out, e, code := r.cmd(t, append(append([]string{"run", "--lb-grace", "300ms", "--interval", "50ms", "--timeout", "20s"}, rot...), probe.args()...)...)
	ran, in := probe.inRotationDuringAction()
	if code != 0 || !ran || in || !strings.Contains(lastLine(out, e), "OUT") {
		t.Fatalf("run after an Apache restart: exit %d, action ran %v, A in rotation during the action %v\n%s%s", code, ran, in, out, e)
	}
}

// unwritable makes dir unwritable to this process, root included, until
// the test ends: chmod for other users; for root an immutable directory
// (chattr +i), or else a read-only bind mount of it.
func unwritable(t *testing.T, dir string) {
	t.Helper()
	var undo func() error
	switch {
	case os.Geteuid() != 0:
		must(t, os.Chmod(dir, 0o555))
		undo = func() error { return os.Chmod(dir, 0o755) }
	case exec.Command("chattr", "+i", dir).Run() == nil:
		undo = func() error { return exec.Command("chattr", "-i", dir).Run() }
	case exec.Command("mount", "--bind", dir, dir).Run() == nil:
		if out, err := exec.Command("mount", "-o", "remount,ro,bind", dir).CombinedOutput(); err != nil {
			_ = exec.Command("umount", dir).Run()
			t.Fatalf("read-only bind mount of %s: %v %s", dir, err, out)
		}
		undo = func() error { return exec.Command("umount", dir).Run() }
	default:
		if os.Getenv("DRAIN_E2E") == "require" {
			t.Fatal("cannot make a directory unwritable to root here (no chattr +i, no bind mount)")
		}
		t.Skip("cannot make a directory unwritable to root here (no chattr +i, no bind mount)")
	}
	done := false
	restore := func() {
		if !done {
			done = true
			must(t, undo())
		}
	}
	t.Cleanup(restore)
	if f, err := os.CreateTemp(dir, "probe"); err == nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		t.Fatalf("%s is still writable: the test proves nothing", dir)
	}
	writableAgain[dir] = restore
}

// writableAgain undoes unwritable before the test ends, by directory.
var writableAgain = map[string]func(){}

// TestInCannotDeleteRecord: drain in with the state directory unwritable
// (so the record cannot be marked nor deleted) never leaves a record that
// says OUT while the real HAProxy has the server IN: it refuses before the
// change, the server stays out, the final line says OUT; once the directory
// is writable again, in puts it back and removes the record.
func TestInCannotDeleteRecord(t *testing.T) {
	f, rot, drained := farmWithAOut(t)
	records, err := filepath.Glob(filepath.Join(f.state, "*.json"))
	must(t, err)
	if len(records) != 1 {
		t.Fatalf("records after out: %v", records)
	}
	unwritable(t, f.state)
	out, e, code := f.run(t, "in", "--rotate", rot)
	_, recErr := os.Stat(records[0])
	if recErr == nil && !drained() {
		t.Fatalf("in with an unwritable state directory left the record saying OUT while HAProxy has a IN: exit %d\n%s%s", code, out, e)
	}
	t.Logf("in with an unwritable state directory: exit %d\n%s%s", code, out, e)
	if code != 1 || !drained() || !strings.Contains(lastLine(out, e), "OUT") || !strings.Contains(e, "state") {
		t.Errorf("in with an unwritable state directory: exit %d, drained %v\n%s%s", code, drained(), out, e)
	}
	writableAgain[f.state]()
	if out, e, code := f.run(t, "in", "--rotate", rot); code != 0 || drained() {
		t.Fatalf("in once writable: exit %d, drained %v\n%s%s", code, drained(), out, e)
	}
	if _, err := os.Stat(records[0]); err == nil {
		t.Error("in left the record")
	}
}

// TestSourceUnreadableBeforeOut: every source is read once before anything
// changes; one that cannot be read (a typo'd port: nothing listens; an
// exporter that answers 500) is refused, exit 2, the page untouched, each
// named. --allow-unread-source NAME (or DRAIN_ALLOW_UNREAD_SOURCE) lets a
// source that answers only once the server is out through; a name that is
// no source's is exit 2.
func TestSourceUnreadableBeforeOut(t *testing.T) {
	dir := t.TempDir()
	page := filepath.Join(dir, "keepalive.htm")
	must(t, os.WriteFile(page, []byte("ok\n"), 0o644))
	// The exporter answers 500 while the page is there (the server in
	// rotation), its count once it is out.
	exporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if _, err := os.Stat(page); err == nil {
			http.Error(w, "not ready", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte(`{"inflight": 0}`))
	}))
	t.Cleanup(exporter.Close)
	closed, err := testbed.FreeAddr() // nothing listens there
	must(t, err)
	bin := buildDrain(t)
	state := filepath.Join(dir, "state")
	marker := filepath.Join(dir, "acted")
	run := func(env []string, args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"run", "--state-dir", state, "--keepalive", page, "--interval", "50ms", "--settle", "100ms", "--timeout", "10s"}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return out.String(), errb.String(), ee.ExitCode()
		}
		must(t, err)
		return out.String(), errb.String(), 0
	}
	act := []string{"--", "touch", marker}
	sources := []string{"--source", "typo=nginx:http://" + closed + "/nginx_status", "--source", "exporter=json:" + exporter.URL + "#inflight"}

	out, e, code := run(nil, append(sources, act...)...)
	if code != 2 || !strings.Contains(e, "typo") || !strings.Contains(e, "exporter") || !strings.Contains(e, "500") || !strings.Contains(lastLine(out, e), "IN") {
		t.Errorf("unreadable sources: exit %d\n%s%s", code, out, e)
	}
	if _, err := os.Stat(page); err != nil {
		t.Fatalf("the page was taken out although a source could not be read: %v", err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the action ran")
	}

	// The exporter answers only once out: allowed by name; the typo still
	// stops the run.
	out, e, code = run(nil, append(append(sources, "--allow-unread-source", "exporter"), act...)...)
	if code != 2 || !strings.Contains(errLine(e), "typo") || strings.Contains(errLine(e), "exporter") {
		t.Errorf("typo with the exporter allowed: exit %d\n%s%s", code, out, e)
	}
	out, e, code = run([]string{"DRAIN_ALLOW_UNREAD_SOURCE=exporter"}, append([]string{"--source", "exporter=json:" + exporter.URL + "#inflight"}, act...)...)
	if code != 0 || !strings.Contains(lastLine(out, e), "OUT") {
		t.Fatalf("exporter allowed by DRAIN_ALLOW_UNREAD_SOURCE: exit %d\n%s%s", code, out, e)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the action did not run: %v", err)
	}
	if out, e, code := runBin(t, bin, "in", "--state-dir", state, "--keepalive", page); code != 0 {
		t.Fatalf("in: exit %d\n%s%s", code, out, e)
	}

	// A name that is no source's: exit 2, nothing changed.
	out, e, code = run(nil, append(append(sources, "--allow-unread-source", "exportr"), act...)...)
	if code != 2 || !strings.Contains(e, "exportr") {
		t.Errorf("--allow-unread-source naming no source: exit %d\n%s%s", code, out, e)
	}
	if _, err := os.Stat(page); err != nil {
		t.Errorf("the page was changed: %v", err)
	}
}

// errLine is drain's error line ("drain: ...") in its stderr.
func errLine(stderr string) string {
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, " drain: ") || strings.HasPrefix(l, "drain: ") {
			return l
		}
	}
	return ""
}

// TestRecordOutOneOfTwoHAProxyRestarted: a server out on two real HAProxy
// instances (--haproxy twice: one method each); one restarts (the server
// ready there), the other still has it drained. run drains it again where
// it is back and acts only while both have it drained; in then puts it back
// on both: the instance still out keeps the earlier out's entry (changed),
// not "already out before out".
func TestRecordOutOneOfTwoHAProxyRestarted(t *testing.T) {
	p := startLBPair(t)
	state := filepath.Join(p.dir, "state")
	rot := []string{"--haproxy", p.lb1.Server(p.a), "--haproxy", p.lb2.Server(p.a)}
	drain := func(args ...string) (string, string, int) {
		t.Helper()
		return runBin(t, p.drain, append(append([]string{args[0], "--state-dir", state}, rot...), args[1:]...)...)
	}
	drainedOn := func(lb *testbed.HAProxy) bool {
		d, err := lb.AdminDrained(p.a)
		must(t, err)
		return d
	}
	if out, e, code := drain("out"); code != 0 || !drainedOn(p.lb1) || !drainedOn(p.lb2) {
		t.Fatalf("out: exit %d\n%s%s", code, out, e)
	}
	newRestarter(p.lb1).restart(t)
	if drainedOn(p.lb1) || !drainedOn(p.lb2) {
		t.Fatal("after restarting LB 1: want A ready there, drained on LB 2")
	}
	probe := newActionProbe(t, func() bool { return !drainedOn(p.lb1) || !drainedOn(p.lb2) })
	out, e, code := drain(append([]string{"run", "--lb-grace", "300ms", "--interval", "50ms", "--settle", "100ms", "--timeout", "20s"}, probe.args()...)...)
	ran, in := probe.inRotationDuringAction()
	if code != 0 || !ran || in {
		t.Fatalf("run with A back on LB 1: exit %d, action ran %v, A ready on an LB during the action %v\n%s%s", code, ran, in, out, e)
	}
	if out, e, code := drain("in"); code != 0 || drainedOn(p.lb1) || drainedOn(p.lb2) {
		t.Fatalf("in: exit %d, drained on LB 1 %v, on LB 2 %v\n%s%s", code, drainedOn(p.lb1), drainedOn(p.lb2), out, e)
	}
}
