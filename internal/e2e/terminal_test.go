//go:build !windows

package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The live view in a real terminal: tmux runs the built drain in a pane of
// a fixed size against a metrics page with two Prometheus sources whose
// values the test lowers; the pane is captured while drain waits and at the
// end. Needs tmux; without it the test skips, unless DRAIN_E2E=require.

// metricsServer serves two series whose values the test sets.
func metricsServer(t *testing.T) (url string, api, worker *atomic.Int64) {
	api, worker = &atomic.Int64{}, &atomic.Int64{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "# TYPE http_requests_in_flight gauge\nhttp_requests_in_flight %d\n", api.Load())
		fmt.Fprintf(w, "# TYPE worker_jobs_running gauge\nworker_jobs_running{queue=\"mail\"} %d\nworker_jobs_running{queue=\"sms\"} 0\n", worker.Load())
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/metrics", api, worker
}

// tmuxPane runs script in a detached tmux session of the given size on a
// private server socket; the session stays after the script ends.
type tmuxPane struct {
	t      *testing.T
	socket string
}

func newPane(t *testing.T, width, height int, script string) *tmuxPane {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("DRAIN_E2E") == "require" {
			t.Fatal("tmux not found and DRAIN_E2E=require: install it (apt-get install tmux)")
		}
		t.Skip("tmux not installed; scripts/test.sh installs it and sets DRAIN_E2E=require")
	}
	p := &tmuxPane{t: t, socket: fmt.Sprintf("drain-e2e-%d-%d", os.Getpid(), time.Now().UnixNano())}
	// The pane's shell exits when the script does; sleeping keeps the last
	// screen to capture (the server is killed at cleanup).
	p.tmux("-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", fmt.Sprint(width), "-y", fmt.Sprint(height),
		"sh", "-c", script+`; echo "DONE:$?"; exec sleep 120`)
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", p.socket, "kill-server").Run() })
	return p
}

func (p *tmuxPane) tmux(args ...string) string {
	p.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", p.socket}, args...)...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// capture is the pane's visible screen, wrapped lines joined (-J), so a line
// drawn wider than the pane shows as one long line.
func (p *tmuxPane) capture() []string {
	s := strings.TrimRight(p.tmux("capture-pane", "-p", "-J", "-t", "t"), "\n")
	return strings.Split(s, "\n")
}

// waitFor captures until ok holds for the screen (20 s at most).
func (p *tmuxPane) waitFor(what string, ok func(screen string) bool) []string {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		lines := p.capture()
		if ok(strings.Join(lines, "\n")) {
			return lines
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("pane never showed %s; last screen:\n%s", what, strings.Join(lines, "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func drainScript(t *testing.T, bin, metrics string) string {
	dir := t.TempDir()
	page := filepath.Join(dir, "keepalive.htm")
	must(t, os.WriteFile(page, []byte("OK"), 0o644))
	return fmt.Sprintf("DRAIN_STATE_DIR=%s %s run --keepalive %s --source 'api=prom:%s#http_requests_in_flight' --source 'prom:%s#worker_jobs_running{queue=\"mail\"}' --interval 200ms --lb-grace 1s --settle 1s --timeout 2m -- true",
		filepath.Join(dir, "state"), bin, page, metrics, metrics)
}

// checkWidth checks that the live view's lines fit the terminal (other
// lines, such as a long path in the out line, may wrap: they are never
// redrawn).
func checkWidth(t *testing.T, lines []string, width int) {
	t.Helper()
	in := false
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "drain run: waiting"):
			in = true
		case strings.HasPrefix(l, "… "):
		case !in:
			continue
		}
		if strings.HasPrefix(l, "  waiting on:") || strings.HasPrefix(l, "  nothing blocks") {
			in = false
		}
		if n := len([]rune(l)); n > width {
			t.Errorf("line of %d columns in a %d-column terminal: %q", n, width, l)
		}
	}
}

func TestLiveViewInATerminal(t *testing.T) {
	bin := buildDrain(t)
	metrics, api, worker := metricsServer(t)
	api.Store(3)
	worker.Store(2)
	p := newPane(t, 80, 24, drainScript(t, bin, metrics))

	busy := p.waitFor("both sources busy", func(s string) bool {
		return strings.Contains(s, "waiting on: api, worker_jobs_running{queue=mail}")
	})
	checkWidth(t, busy, 80)
	screen := strings.Join(busy, "\n")
	for _, want := range []string{"OUT ", "drain run: waiting", "SOURCE", "VALUE", "LIMIT", "STATE", "QUIET", "lb-grace", "settle 0s/1s", "timeout"} {
		if !strings.Contains(screen, want) {
			t.Errorf("view lacks %q:\n%s", want, screen)
		}
	}
	if !hasRow(busy, "api", "3", "busy") || !hasRow(busy, "worker_jobs_running{que…", "2", "busy") {
		t.Errorf("want a busy row per source, by name:\n%s", screen)
	}
	if strings.Contains(screen, "prom:http") {
		t.Errorf("the view shows specs instead of names:\n%s", screen)
	}

	api.Store(0)
	one := p.waitFor("api quiet, the worker still blocking", func(s string) bool {
		return strings.Contains(s, "waiting on: worker_jobs_running{queue=mail}")
	})
	if !hasRow(one, "api", "0", "quiet") {
		t.Errorf("api should be quiet now:\n%s", strings.Join(one, "\n"))
	}
	checkWidth(t, one, 80)

	worker.Store(0)
	end := p.waitFor("the end", func(s string) bool { return strings.Contains(s, "DONE:") })
	screen = strings.Join(end, "\n")
	checkWidth(t, end, 80)
	// A clean final state: the last frame once (redraws left nothing
	// behind), then the outcome and the final line.
	if c := strings.Count(screen, "SOURCE"); c != 1 {
		t.Errorf("want the last frame once on screen, found %d:\n%s", c, screen)
	}
	if c := strings.Count(screen, "drain run: waiting"); c != 1 {
		t.Errorf("want one view head on screen, found %d:\n%s", c, screen)
	}
	iFrame, iDrained, iFinal := strings.Index(screen, "SOURCE"), strings.Index(screen, "drained after"), strings.Index(screen, "drained; server is OUT of rotation")
	if iFrame < 0 || iDrained < iFrame || iFinal < iDrained {
		t.Errorf("want the last frame, then drained, then the final line:\n%s", screen)
	}
	if !strings.Contains(screen, "DONE:0") {
		t.Errorf("drain did not exit 0:\n%s", screen)
	}
}

func TestLiveViewOneLineOnATinyTerminal(t *testing.T) {
	bin := buildDrain(t)
	metrics, api, worker := metricsServer(t)
	api.Store(3)
	worker.Store(2)
	p := newPane(t, 30, 5, drainScript(t, bin, metrics))
	lines := p.waitFor("the one-line view", func(s string) bool { return strings.Contains(s, "… api=3") })
	checkWidth(t, lines, 30)
	screen := strings.Join(lines, "\n")
	if strings.Contains(screen, "SOURCE") || strings.Count(screen, "… ") != 1 {
		t.Errorf("want one live line on a 30x5 terminal:\n%s", screen)
	}
	api.Store(0)
	worker.Store(0)
	end := p.waitFor("the end", func(s string) bool { return strings.Contains(s, "DONE:") })
	if !strings.Contains(strings.Join(end, "\n"), "DONE:0") {
		t.Errorf("drain did not exit 0:\n%s", strings.Join(end, "\n"))
	}
}

// A terminal made tiny mid-run: the view turns into one line and no piece
// of the old frame is left in sight.
func TestLiveViewResizedTinyMidRun(t *testing.T) {
	bin := buildDrain(t)
	metrics, api, worker := metricsServer(t)
	api.Store(3)
	worker.Store(2)
	p := newPane(t, 80, 24, drainScript(t, bin, metrics))
	p.waitFor("the full view", func(s string) bool { return strings.Contains(s, "SOURCE") })
	p.tmux("resize-window", "-t", "t", "-x", "30", "-y", "5")
	lines := p.waitFor("the one-line view after the resize", func(s string) bool {
		return strings.Contains(s, "… api=3") && !strings.Contains(s, "SOURCE")
	})
	checkWidth(t, lines, 30)
	if c := strings.Count(strings.Join(lines, "\n"), "… "); c != 1 {
		t.Errorf("want one live line after the resize, found %d:\n%s", c, strings.Join(lines, "\n"))
	}
	api.Store(0)
	worker.Store(0)
	end := p.waitFor("the end", func(s string) bool { return strings.Contains(s, "DONE:") })
	if !strings.Contains(strings.Join(end, "\n"), "DONE:0") {
		t.Errorf("drain did not exit 0:\n%s", strings.Join(end, "\n"))
	}
}

// hasRow finds a view row "  NAME  VALUE  <= 0  STATE".
func hasRow(lines []string, name, value, state string) bool {
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) >= 5 && f[0] == name && f[1] == value && f[2] == "<=" && f[4] == state {
			return true
		}
	}
	return false
}

// TERM=dumb takes no cursor movement: plain timestamped lines instead of
// the view.
func TestNoLiveViewOnADumbTerminal(t *testing.T) {
	bin := buildDrain(t)
	metrics, api, worker := metricsServer(t)
	api.Store(3)
	worker.Store(2)
	p := newPane(t, 80, 24, "TERM=dumb "+drainScript(t, bin, metrics))
	p.waitFor("a plain line", func(s string) bool { return strings.Contains(s, "| waiting on prom:") })
	api.Store(0)
	worker.Store(0)
	end := strings.Join(p.waitFor("the end", func(s string) bool { return strings.Contains(s, "DONE:") }), "\n")
	if strings.Contains(end, "SOURCE") || strings.Contains(end, "… ") {
		t.Errorf("a live view on TERM=dumb:\n%s", end)
	}
	if !strings.Contains(end, "drained; server is OUT of rotation") || !strings.Contains(end, "DONE:0") {
		t.Errorf("want the final line and exit 0:\n%s", end)
	}
}
