package e2e

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
)

// TestGitHubSummaryShowsTheGap (issue 19): a source that cannot be read for
// a while (a real HTTP server answering 503) is unknown, never a value: the
// GitHub step summary's chart used to carry the last value (3) through that
// stretch, as if the server had been busy; now it shades the stretch and
// draws no value in it, as the SVG of drain report does. The summary also
// names the server, the reason and the action. Through the built binary;
// the server fails by count of requests, not by time, so that a slow
// machine sees the same story.
func TestGitHubSummaryShowsTheGap(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("drives the Linux binary")
	}
	bin := buildDrain(t)
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		switch i := n.Add(1); {
		case i <= 4:
			_, _ = w.Write([]byte("busy 3\n"))
		case i <= 10:
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
		default:
			_, _ = w.Write([]byte("busy 0\n"))
		}
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "keepalive.htm"), []byte("OK\n"), 0o644))
	summary := filepath.Join(dir, "summary.md")
	cmd := exec.Command(bin, "run", "--keepalive", "keepalive.htm", "--source", "api=prom:"+srv.URL+"/metrics#busy",
		"--reason", "deploy 42", "--report", "report.md", "--lb-grace", "100ms", "--settle", "200ms", "--interval", "100ms", "--timeout", "60s",
		"--", "true", "stopped")
	cmd.Dir = dir
	cmd.Env = append(cleanCIEnv(), "GITHUB_ACTIONS=true", "GITHUB_STEP_SUMMARY="+summary, "DRAIN_STATE_DIR="+filepath.Join(dir, "state"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("drain run: %v\n%s", err, out)
	}
	b, err := os.ReadFile(summary)
	must(t, err)
	md := string(b)
	defer func() {
		if t.Failed() {
			t.Logf("summary:\n%s\noutput:\n%s", md, out)
		}
	}()

	for _, re := range []string{
		`(?m)^\| server \| ` + "`" + `.*keepalive\.htm` + "`" + ` \|$`,
		`(?m)^\| reason \| deploy 42 \|$`,
		`(?m)^\| action \| ` + "`true stopped`" + ` \(exit 0\) \|$`,
		`(?m)^\| ` + "`api`" + ` \| 0 \| 3 \| 0 \| 3 \| [0-9.]+ s \| .*503`, // first 3, last 0, max 3, unknown for, why
	} {
		if !regexp.MustCompile(re).MatchString(md) {
			t.Errorf("summary lacks %s", re)
		}
	}

	// drain run --report names them too.
	rep, err := os.ReadFile(filepath.Join(dir, "report.md"))
	must(t, err)
	for _, re := range []string{`(?m)^- server: .*keepalive\.htm$`, `(?m)^- reason: deploy 42$`, `(?m)^- action: true stopped \(exit 0\)$`} {
		if !regexp.MustCompile(re).Match(rep) {
			t.Errorf("report.md lacks %s:\n%s", re, rep)
		}
	}

	// The chart of api: the value as bars, the stretch it was unknown as
	// shaded columns with no value in them.
	chart := regexp.MustCompile("(?s)```mermaid\n.*?```").FindString(md)
	if !strings.Contains(chart, "unknown") {
		t.Fatalf("the chart does not say where api was unknown:\n%s", chart)
	}
	series := func(name string) []string {
		m := regexp.MustCompile(`(?m)^    %% ` + name + `\n    (bar|line) \[([^\]]*)\]$`).FindStringSubmatch(chart)
		if m == nil {
			t.Fatalf("no %s series in the chart:\n%s", name, chart)
		}
		if name == "value" && m[1] != "bar" {
			t.Errorf("the value is a %s: a line is drawn through the unknown stretch", m[1])
		}
		return strings.Split(m[2], ", ")
	}
	unknown, value := series("unknown"), series("value")
	if len(unknown) != len(value) {
		t.Fatalf("%d unknown columns, %d value columns", len(unknown), len(value))
	}
	gap, before, after := 0, false, false
	for i := range value {
		switch {
		case unknown[i] != "0" && value[i] == "0":
			gap++
		case unknown[i] == "0" && value[i] == "3" && gap == 0:
			before = true
		case unknown[i] == "0" && value[i] == "0" && gap > 0:
			after = true
		case unknown[i] == "0" && value[i] == "3" && gap > 0:
			t.Errorf("column %d: 3 after the gap: the value was carried through it", i)
		}
	}
	if gap == 0 || !before || !after {
		t.Errorf("want 3, then a shaded gap without a value, then 0; unknown %v, value %v", unknown, value)
	}
}
