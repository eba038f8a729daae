//go:build !windows

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/apachebm"
	"github.com/drain-cli/drain/internal/apachetest"
	"github.com/drain-cli/drain/internal/nginxlbtest"
	"github.com/drain-cli/drain/internal/testbed"
)

// rotateBed is two real nginx backends (A, B) and the drain binary.
type rotateBed struct {
	a, b  *testbed.Nginx
	dir   string
	drain string
	env   []string
}

func startRotateBed(t *testing.T, servers ...string) *rotateBed {
	t.Helper()
	requireServers(t, append([]string{"nginx"}, servers...)...)
	r := &rotateBed{dir: t.TempDir(), env: os.Environ()}
	must(t, os.Chmod(filepath.Dir(r.dir), 0o755)) // nginx workers drop root
	var err error
	r.a, err = testbed.StartNginx(filepath.Join(r.dir, "A"), "A")
	must(t, err)
	t.Cleanup(r.a.Kill)
	r.b, err = testbed.StartNginx(filepath.Join(r.dir, "B"), "B")
	must(t, err)
	t.Cleanup(r.b.Kill)
	r.drain = buildDrain(t)
	return r
}

// cmd runs drain with the bed's state directory; it returns stdout, stderr
// and the exit code.
func (r *rotateBed) cmd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	verb := args[0]
	c := exec.Command(r.drain, append([]string{verb, "--state-dir", filepath.Join(r.dir, "state")}, args[1:]...)...)
	c.Env = r.env
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	code := 0
	var ee *exec.ExitError
	if errorsAs(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// runUnderLoad runs `drain run` with the rotation arguments while a load
// goes through the balancer at lbURL, stopping A with SIGTERM as the action.
// No request may fail or be cut, and A's last request must end before the
// action starts.
func (r *rotateBed) runUnderLoad(t *testing.T, lbURL string, extra ...string) {
	t.Helper()
	r.runUnderLoadTimed(t, lbURL, []string{"--settle", "500ms", "--interval", "100ms"}, extra...)
}

// runUnderLoadTimed is runUnderLoad with the timing flags given (none:
// drain's defaults); it returns drain's NDJSON events.
func (r *rotateBed) runUnderLoadTimed(t *testing.T, lbURL string, timing []string, extra ...string) string {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	load := testbed.StartLoad(ctx, []string{lbURL}, 6, 40)
	time.Sleep(1500 * time.Millisecond) // slow downloads in flight on A
	args := append([]string{"run", "--output", "json", "--source", "nginx:" + r.a.URL("/nginx_status"), "--timeout", "60s"}, timing...)
	args = append(args, extra...)
	args = append(args, "--", "kill", "-TERM", fmt.Sprint(r.a.Pid()))
	out, stderr, code := r.cmd(t, args...)
	if code != 0 {
		t.Fatalf("drain run: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	time.Sleep(time.Second) // traffic goes on through B
	stop()
	results := load.Wait()
	actionStart := drainedThenActed(t, []byte(out))
	var viaA, viaB, inFlightOnA int
	var lastA time.Time
	outAt := time.Time{}
	for _, e := range parseEvents(t, []byte(out)) {
		if e.Event == "out" && outAt.IsZero() {
			outAt = e.Time
		}
	}
	for _, res := range results {
		if !res.OK() {
			t.Errorf("request failed or cut: %s", res)
		}
		switch res.Backend {
		case "A":
			viaA++
			if res.End.After(lastA) {
				lastA = res.End
			}
			if res.Slow && res.Start.Before(outAt) && res.End.After(outAt) {
				inFlightOnA++
			}
		case "B":
			viaB++
		}
	}
	t.Logf("%d requests (%d via A, %d via B, %d slow ones in flight on A at out); A's last ended %s, action started %s",
		len(results), viaA, viaB, inFlightOnA, lastA.Format(time.StampMilli), actionStart.Format(time.StampMilli))
	if inFlightOnA == 0 || viaB == 0 {
		t.Error("the load had no downloads in flight on A at out, or no traffic on B: the test proves nothing")
	}
	if !actionStart.After(lastA) {
		t.Errorf("action started at %s, before A's last request ended at %s", actionStart.Format(time.StampMilli), lastA.Format(time.StampMilli))
	}
	t.Logf("A's last request ended %s before the action", actionStart.Sub(lastA).Round(time.Millisecond))
	return out
}

func (r *rotateBed) status(t *testing.T, rot ...string) string {
	t.Helper()
	out, _, _ := r.cmd(t, append([]string{"status", "--output", "json"}, rot...)...)
	var rep map[string]any
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("drain status: %q: %v", out, err)
	}
	s, _ := rep["rotation"].(string)
	return s
}

func apacheStatusWords(t *testing.T, manager, worker string) string {
	t.Helper()
	c := apachebm.Client{URL: manager}
	bs, err := c.Get(context.Background())
	must(t, err)
	for _, b := range bs {
		if w, ok := b.Worker(worker); ok {
			return w.Status
		}
	}
	t.Fatalf("no worker %s", worker)
	return ""
}

// TestApacheRotateRun: drain run takes backend A out of a real Apache
// balancer (drain mode through balancer-manager), waits on A's nginx and on
// Apache's own Busy count for A, stops A; in gives back the flags exactly.
func TestApacheRotateRun(t *testing.T) {
	r := startRotateBed(t, "apache2")
	ap := apachetest.Start(t, "", apachetest.Member{URL: r.a.URL("")}, apachetest.Member{URL: r.b.URL("")})
	target := ap.Manager() + "#web/" + r.a.URL("")
	rot := []string{"--rotate", "apache:" + target}
	before := apacheStatusWords(t, ap.Manager(), r.a.URL(""))
	r.runUnderLoad(t, ap.URL(""), append(rot, "--source", "apache-balancer:"+target)...)
	if w := apacheStatusWords(t, ap.Manager(), r.a.URL("")); !strings.Contains(w, "Drn") {
		t.Errorf("after run, Apache shows A as %q", w)
	}
	if st := r.status(t, rot...); st != "OUT" {
		t.Errorf("drain status: %s, want OUT", st)
	}
	if out, stderr, code := r.cmd(t, append([]string{"in"}, rot...)...); code != 0 {
		t.Fatalf("drain in: exit %d\n%s%s", code, out, stderr)
	}
	if w := apacheStatusWords(t, ap.Manager(), r.a.URL("")); w != before {
		t.Errorf("after in, Apache shows A as %q, before out %q", w, before)
	}
	if st := r.status(t, rot...); st != "IN" {
		t.Errorf("drain status: %s, want IN", st)
	}
}

// TestApacheFastDefaults: a real Apache balancer as the rotation (drain
// mode) and as the balancer-side source (its Busy count for A, and its
// Elected count, the requests it sent A, as the arrivals counter), under
// load, with no timing flag: 0 failed or cut requests, A stopped after its
// last request, and no settle window (Apache shows A drained and its
// Elected count stays still).
func TestApacheFastDefaults(t *testing.T) {
	r := startRotateBed(t, "apache2")
	ap := apachetest.Start(t, "", apachetest.Member{URL: r.a.URL("")}, apachetest.Member{URL: r.b.URL("")})
	target := ap.Manager() + "#web/" + r.a.URL("")
	out := r.runUnderLoadTimed(t, ap.URL(""), nil, "--rotate", "apache:"+target, "--source", "apache-balancer:"+target)
	var drained fastEvent
	for _, l := range strings.Split(out, "\n") {
		var e fastEvent
		if json.Unmarshal([]byte(l), &e) == nil && e.Event == "drained" {
			drained = e
		}
	}
	if drained.Settle == nil || *drained.Settle != 0 || !strings.Contains(drained.Rule, "no settle window") {
		t.Errorf("drained %+v, want no settle window (Apache's Elected count still)", drained)
	}
}

// TestNginxUpstreamRotateRun: drain run takes backend A out of a real nginx
// load balancer through its upstream file (down, nginx -t, graceful reload,
// with nginx's default commands found on PATH), stops A; no request fails;
// in puts back the file's exact bytes.
func TestNginxUpstreamRotateRun(t *testing.T) {
	r := startRotateBed(t)
	pool := fmt.Sprintf("# web pool\nserver %s weight=1;  # A\nserver %s max_fails=0;\n", r.a.Addr, r.b.Addr)
	lb := nginxlbtest.Start(t, pool)
	// drain runs `nginx -t` and `nginx -s reload` as a deploy would; a
	// wrapper first on PATH points them at this instance.
	bin := filepath.Join(r.dir, "bin")
	must(t, os.MkdirAll(bin, 0o755))
	real, err := nginxlbtest.Binary()
	must(t, err)
	wrapper := fmt.Sprintf("#!/bin/sh\nexec %s \"$@\" %s\n", real, strings.Join(lb.Args(), " "))
	must(t, os.WriteFile(filepath.Join(bin, "nginx"), []byte(wrapper), 0o755))
	r.env = append(r.env, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	rot := []string{"--rotate", "nginx-upstream:" + lb.Upstream + "#" + r.a.Addr}
	// The reload is asynchronous: the old workers take new connections
	// until they get the master's signal; 1 s of grace covers it.
	old := lb.Workers()
	r.runUnderLoad(t, lb.URL(""), append(rot, "--lb-grace", "1s")...)
	lb.WaitReloaded(t, old) // the workers of before out are gone: nginx reloaded
	got, _ := os.ReadFile(lb.Upstream)
	if want := strings.Replace(pool, "weight=1;", "weight=1 down;", 1); string(got) != want {
		t.Errorf("upstream file after run:\n%s\nwant:\n%s", got, want)
	}
	if st := r.status(t, rot...); st != "OUT" {
		t.Errorf("drain status: %s, want OUT", st)
	}
	if out, stderr, code := r.cmd(t, append([]string{"in"}, rot...)...); code != 0 {
		t.Fatalf("drain in: exit %d\n%s%s", code, out, stderr)
	}
	if got, _ := os.ReadFile(lb.Upstream); string(got) != pool {
		t.Errorf("upstream file after in:\n%s\nwant the original:\n%s", got, pool)
	}
}

// TestRotatePartialFailure: a keep-alive page and an Apache or nginx
// balancer change together; when the balancer's change fails, the page is
// put back and the run reports the server IN.
func TestRotatePartialFailure(t *testing.T) {
	r := startRotateBed(t, "apache2")
	page := r.a.Keepalive()
	// Apache behind a proxy that drops the Referer: it answers 200 and
	// ignores the change (AH10187), which drain reads back.
	ap := apachetest.Start(t, "", apachetest.Member{URL: r.a.URL("")}, apachetest.Member{URL: r.b.URL("")})
	up, _ := url.Parse("http://" + ap.Addr)
	rp := httputil.NewSingleHostReverseProxy(up)
	strip := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		req.Header.Del("Referer")
		rp.ServeHTTP(w, req)
	}))
	defer strip.Close()
	apacheRot := "apache:" + strip.URL + "/balancer-manager#web/" + r.a.URL("")

	pool := fmt.Sprintf("server %s;\nserver %s;\n", r.a.Addr, r.b.Addr)
	lb := nginxlbtest.Start(t, pool)
	must(t, os.WriteFile(lb.Conf, append(must1(os.ReadFile(lb.Conf)), "bogus_directive on;\n"...), 0o644))
	bin := filepath.Join(r.dir, "bin")
	must(t, os.MkdirAll(bin, 0o755))
	real, err := nginxlbtest.Binary()
	must(t, err)
	must(t, os.WriteFile(filepath.Join(bin, "nginx"), []byte(fmt.Sprintf("#!/bin/sh\nexec %s \"$@\" %s\n", real, strings.Join(lb.Args(), " "))), 0o755))
	r.env = append(r.env, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	nginxRot := "nginx-upstream:" + lb.Upstream + "#" + r.a.Addr

	for _, tc := range []struct{ name, rot, want string }{
		{"apache ignores the change", apacheRot, "Apache ignored the change"},
		{"nginx -t fails", nginxRot, "configuration test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := r.cmd(t, "out", "--keepalive", page, "--rotate", tc.rot)
			if code != 1 || !strings.Contains(stderr, tc.want) {
				t.Errorf("drain out: exit %d, want 1 and %q\n%s%s", code, tc.want, out, stderr)
			}
			if _, err := os.Stat(page); err != nil {
				t.Errorf("keep-alive page not put back: %v", err)
			}
			if got, _ := os.ReadFile(lb.Upstream); string(got) != pool {
				t.Errorf("upstream file changed:\n%s", got)
			}
			if st := r.status(t, "--keepalive", page); st != "IN" {
				t.Errorf("drain status: %s, want IN", st)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if last := lines[len(lines)-1]; !strings.Contains(last, "IN rotation") {
				t.Errorf("last line %q does not say IN", last)
			}
		})
	}
	if w := apacheStatusWords(t, ap.Manager(), r.a.URL("")); strings.Contains(w, "Drn") {
		t.Errorf("Apache shows A as %q", w)
	}
}

func must1[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
