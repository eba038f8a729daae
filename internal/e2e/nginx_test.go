// Package e2e drives the built drain binary against real servers. The tests
// need nginx; without it they skip with the reason, unless DRAIN_E2E=require
// (set by .ci/run) turns a missing nginx into a failure.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/testbed"
)

// requireServers skips (or, with DRAIN_E2E=require, fails) when a server
// binary the test drives is not installed.
func requireServers(t *testing.T, names ...string) {
	t.Helper()
	for _, name := range names {
		if _, err := testbed.Find(name); err != nil {
			if os.Getenv("DRAIN_E2E") == "require" {
				t.Fatalf("%s not found and DRAIN_E2E=require: install it (apt-get install nginx-light haproxy)", name)
			}
			t.Skipf("%s not installed; scripts/test.sh installs it and sets DRAIN_E2E=require", name)
		}
	}
}

// startNginx starts one real nginx on 127.0.0.1 (the shared testbed): a
// keep-alive page, stub_status, and a slow download (limit_rate).
func startNginx(t *testing.T) *testbed.Nginx {
	t.Helper()
	if runtime.GOOS == "windows" {
		// Under Wine, /usr/sbin/nginx is visible as Z:\usr\sbin\nginx but
		// cannot run; Windows is driven end to end by TestWineRunWaitsOnPDH.
		t.Skip("the nginx end-to-end tests need Linux nginx")
	}
	requireServers(t, "nginx")
	n, err := testbed.StartNginx(t.TempDir(), "A")
	must(t, err)
	t.Cleanup(n.Kill)
	return n
}

// download is one client request and how it ended.
type download struct {
	bytes int
	err   error
	end   time.Time
}

// startDownloads begins count slow downloads, staggered, and returns a func
// that waits for all of them (bounded by the client timeout).
func startDownloads(n *testbed.Nginx, count int, stagger time.Duration) func() []download {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	res := make([]download, count)
	var wg sync.WaitGroup
	for i := range count {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * stagger)
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, n.URL("/big.bin"), http.NoBody)
			resp, err := client.Do(req)
			if err != nil {
				res[i] = download{err: err, end: time.Now()}
				return
			}
			b, err := io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("HTTP %s", resp.Status)
			}
			res[i] = download{bytes: int(b), err: err, end: time.Now()}
		}()
	}
	return func() []download { wg.Wait(); return res }
}

func buildDrain(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "drain")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/drain-cli/drain/cmd/drain").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type event struct {
	Time     time.Time `json:"time"`
	Event    string    `json:"event"`
	Message  string    `json:"message"`
	Result   string    `json:"result"`
	Rotation string    `json:"rotation"`
	ExitCode *int      `json:"exit_code"`
}

// TestNginxDrainEndToEnd: slow downloads are in flight through a real nginx;
// drain takes it out by its keep-alive page, waits on stub_status, then stops
// nginx with SIGTERM (a fast shutdown that cuts whatever is in flight). Every
// download must complete, and the stop must come after the last one ended.
func TestNginxDrainEndToEnd(t *testing.T) {
	n := startNginx(t)
	drain := buildDrain(t)
	wait := startDownloads(n, 3, 400*time.Millisecond)
	time.Sleep(200 * time.Millisecond)

	cmd := exec.Command(drain, "run", "--output", "json",
		"--state-dir", filepath.Join(n.Dir, "state"),
		"--keepalive", n.Keepalive(),
		"--verify-url", n.URL("/keepalive.htm"),
		"--source", "nginx:"+n.URL("/nginx_status"),
		"--lb-grace", "500ms", "--settle", "500ms", "--interval", "100ms", "--timeout", "60s",
		"--", "kill", "-TERM", fmt.Sprint(n.Pid()))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("drain run: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
	}
	downloads := wait()

	actionStart := drainedThenActed(t, out)
	var lastEnd time.Time
	for i, d := range downloads {
		if d.err != nil || d.bytes != testbed.BigSize {
			t.Errorf("download %d: %d of %d bytes, err %v: drain let the stop cut a request", i, d.bytes, testbed.BigSize, d.err)
		}
		if d.end.After(lastEnd) {
			lastEnd = d.end
		}
	}
	if !actionStart.After(lastEnd) {
		t.Errorf("action started at %s, before the last download ended at %s", actionStart.Format(time.StampMilli), lastEnd.Format(time.StampMilli))
	}
	t.Logf("last download ended %s, action started %s (+%s)", lastEnd.Format(time.StampMilli), actionStart.Format(time.StampMilli), actionStart.Sub(lastEnd).Round(time.Millisecond))
	if _, err := os.Stat(filepath.Join(n.Root, "keepalive.htm.disabled")); err != nil {
		t.Error("keep-alive page was not renamed away")
	}
}

// TestNginxHarnessDetectsCuts is the control: stopping nginx at once with the
// same load must cut downloads, or the test above could not fail.
func TestNginxHarnessDetectsCuts(t *testing.T) {
	n := startNginx(t)
	wait := startDownloads(n, 2, 0)
	time.Sleep(500 * time.Millisecond)
	must(t, n.Cmd.Process.Signal(os.Interrupt))
	cut := 0
	for _, d := range wait() {
		if d.err != nil || d.bytes != testbed.BigSize {
			cut++
		}
	}
	if cut == 0 {
		t.Fatal("stopping nginx mid-download cut nothing: the harness cannot see dropped requests")
	}
}

// TestNginxTimeoutPutsBack: a download longer than the timeout keeps nginx
// busy; drain must exit 3, not run the action, and put the page back.
func TestNginxTimeoutPutsBack(t *testing.T) {
	n := startNginx(t)
	drain := buildDrain(t)
	wait := startDownloads(n, 1, 0)
	time.Sleep(200 * time.Millisecond)
	marker := filepath.Join(n.Dir, "stopped")
	cmd := exec.Command(drain, "run",
		"--state-dir", filepath.Join(n.Dir, "state"),
		"--keepalive", n.Keepalive(),
		"--source", "nginx:"+n.URL("/nginx_status"),
		"--interval", "100ms", "--timeout", "1s", "--", "touch", marker)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errorsAs(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("drain run: %v, want exit 3\n%s", err, out)
	}
	if !strings.Contains(string(out), "NOT drained: timed out; server is IN rotation") {
		t.Errorf("output does not end with the rotation state:\n%s", out)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the action ran after a timeout")
	}
	if _, err := os.Stat(n.Keepalive()); err != nil {
		t.Error("keep-alive page not put back after the timeout")
	}
	for _, d := range wait() {
		if d.err != nil || d.bytes != testbed.BigSize {
			t.Errorf("download cut: %+v", d)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
