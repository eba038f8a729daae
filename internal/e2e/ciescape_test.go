package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unicode"
)

// The hostile texts an outside client of a watched server can plant: a
// request path that ends up as a Prometheus label value, a JSON value, a
// metric's HELP. Each tries an Azure Pipelines logging command anywhere in
// a line (##vso[, and the ##[ form both runners still parse) and a GitHub
// workflow command at the start of a line.
const (
	hostileMetrics = "# HELP http_requests_in_flight ##vso[task.setvariable variable=HELP_TARGET]evil\n" +
		"# TYPE http_requests_in_flight gauge\n" +
		`http_requests_in_flight{path="/##vso[task.setvariable variable=DEPLOY_TARGET]evil"} 3` + "\n" +
		`http_requests_in_flight{path="/x\n::warning::pwned-label\n  ::error::indented"} 1` + "\n" +
		`http_requests_in_flight{path="/##[error]fake-error"} 1` + "\n"
	hostileJSON = `{"v": "##vso[task.complete]evil", "w": "\n::error::json-line"}`
)

// ciServer serves the hostile texts on 127.0.0.1.
func ciServer(t *testing.T) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(hostileMetrics)) })
	mux.HandleFunc("/j.json", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(hostileJSON)) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// ciMode is how drain is run: plain lines, one CI system, NDJSON.
type ciMode struct {
	name string
	env  []string // beside a clean CI environment
	json bool
}

var ciModes = []ciMode{
	{name: "plain"},
	{name: "github", env: []string{"GITHUB_ACTIONS=true"}},
	{name: "azure", env: []string{"TF_BUILD=True"}},
	{name: "json"},
	{name: "json-azure", env: []string{"TF_BUILD=True"}, json: true},
	{name: "json-github", env: []string{"GITHUB_ACTIONS=true"}, json: true},
}

// ownCommand tells whether line is a CI command drain itself writes: a
// GitHub workflow command or an Azure logging command of the kinds the
// sinks use, at the start of the line. Its message must still be clean.
func ownCommand(line string) (msg string, ok bool) {
	for _, p := range []string{"::warning ", "::error ", "::group::", "::endgroup::"} {
		if strings.HasPrefix(line, p) {
			if p == "::group::" || p == "::endgroup::" {
				return strings.TrimPrefix(line, p), true
			}
			_, m, found := strings.Cut(line[2:], "::")
			return m, found
		}
	}
	for _, p := range []string{"##vso[task.logissue ", "##vso[task.setprogress ", "##vso[task.uploadsummary]", "##vso[task.complete "} {
		if strings.HasPrefix(line, p) {
			_, m, found := strings.Cut(line, "]")
			return m, found
		}
	}
	return "", false
}

// checkNoCICommand fails for every line of out that a CI runner would take
// as a command drain did not mean to write: ##vso[ or ##[ anywhere, :: at
// the start after white space (GitHub's runner trims it).
func checkNoCICommand(t *testing.T, what string, out []byte, allowOwn bool) {
	t.Helper()
	for i, line := range strings.Split(string(out), "\n") {
		check := line
		if allowOwn {
			if m, ok := ownCommand(line); ok {
				check = m
			}
		}
		low := strings.ToLower(check)
		if strings.Contains(low, "##vso[") || strings.Contains(check, "##[") ||
			strings.HasPrefix(strings.TrimLeftFunc(check, unicode.IsSpace), "::") {
			t.Errorf("%s line %d is a CI command from outside text: %q", what, i+1, line)
		}
	}
}

// TestHostileLabelsNeverBecomeCICommands: label values, JSON values and a
// metric's HELP served by a real HTTP server reach drain's errors, hints,
// timeout line, status and reports, in every output mode, through the
// built binary; no line of any of them is a CI command drain did not write.
func TestHostileLabelsNeverBecomeCICommands(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("drives the Linux binary")
	}
	bin := buildDrain(t)
	url := ciServer(t)
	sources := []string{
		"--source", `prom:` + url + `/metrics#http_requests_in_flight{path="/nope"}`, // no series: the hint lists the paths
		"--source", "json:" + url + "/j.json#v", // a string: quoted in the error
		"--source", "json:" + url + "/j.json#w",
	}
	run := func(t *testing.T, dir string, env []string, args ...string) []byte {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(cleanCIEnv(), env...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("%v", err)
		}
		return out.Bytes()
	}
	for _, m := range ciModes {
		t.Run(m.name, func(t *testing.T) {
			dir := t.TempDir()
			must(t, os.WriteFile(filepath.Join(dir, "keepalive.htm"), []byte("OK\n"), 0o644))
			env := append([]string{"DRAIN_STATE_DIR=" + filepath.Join(dir, "state"), "GITHUB_STEP_SUMMARY=" + filepath.Join(dir, "summary.md"), "AGENT_TEMPDIRECTORY=" + dir}, m.env...)
			ci := len(m.env) > 0
			args := append([]string{"wait", "--interval", "100ms", "--timeout", "1s"}, sources...)
			if m.json {
				args = append(args, "--output", "json")
			}
			all := run(t, dir, env, args...)
			all = append(all, run(t, dir, env, append([]string{"run", "--report", filepath.Join(dir, "report.md"), "--keepalive", "keepalive.htm", "--interval", "100ms", "--timeout", "1s", "--source", "prom:" + url + "/metrics#http_requests_in_flight"}, append(sources, "--", "true")...)...)...)
			all = append(all, run(t, dir, env, "in", "--keepalive", "keepalive.htm")...)
			status := append([]string{"status"}, sources...)
			if m.json {
				status = append(status, "--output", "json")
			}
			all = append(all, run(t, dir, env, status...)...)
			all = append(all, run(t, dir, env, "counters", "--url", url+"/metrics")...)
			if !bytes.Contains(all, []byte("DEPLOY_TARGET")) || !bytes.Contains(all, []byte("task.complete")) {
				t.Fatalf("the hostile texts did not reach the output: nothing was tested:\n%s", all)
			}
			// The text is still there for a person, broken where a runner
			// would read a command; NDJSON carries it unchanged as data.
			want := `#\#vso[task.setvariable variable=DEPLOY_TARGET]evil`
			if m.json {
				want = `#\u0023vso[task.setvariable variable=DEPLOY_TARGET]evil`
			}
			if !bytes.Contains(all, []byte(want)) {
				t.Errorf("output lacks %s", want)
			}
			checkNoCICommand(t, "output", all, ci)
			files := []string{"report.md"}
			if m.name == "github" || m.name == "json-github" {
				files = append(files, "summary.md")
			}
			for _, f := range files {
				b, err := os.ReadFile(filepath.Join(dir, f))
				must(t, err)
				checkNoCICommand(t, f, b, false)
			}
			if t.Failed() {
				t.Logf("output:\n%s", all)
			}
		})
	}
}

// cleanCIEnv is the environment without any CI system's variables, so
// that the test picks the mode itself.
func cleanCIEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GITHUB_ACTIONS", "TF_BUILD", "DRAIN_CI", "GITHUB_STEP_SUMMARY", "AGENT_TEMPDIRECTORY", "NO_COLOR":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "NO_COLOR=1")
}

// TestMultiLineReasonIsOneLine: a --reason with line breaks (a commit
// message) is refused, exit 2, nothing changed; a record whose reason has
// them anyway (written by a member of the shared directory's group, or by
// an older drain) is shown on one line by a later out, run and status, in
// every output mode, so that none of its lines is a workflow command.
func TestMultiLineReasonIsOneLine(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("drives the Linux binary")
	}
	bin := buildDrain(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "keepalive.htm")
	must(t, os.WriteFile(page, []byte("OK\n"), 0o644))
	stateDir := filepath.Join(dir, "state")
	run := func(env []string, args ...string) ([]byte, int) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(append(cleanCIEnv(), "DRAIN_STATE_DIR="+stateDir, "GITHUB_STEP_SUMMARY="+filepath.Join(dir, "summary.md")), env...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("%v", err)
		}
		return out, cmd.ProcessState.ExitCode()
	}
	hostile := "deploy v2\n::warning::pwned\n  ::error file=x::indented\n##vso[task.complete result=Failed;]x"

	out, code := run(nil, "out", "--keepalive", page, "--reason", hostile)
	if code != 2 {
		t.Fatalf("out with a multi-line --reason exited %d, want 2:\n%s", code, out)
	}
	if _, err := os.Stat(page); err != nil {
		t.Fatalf("the refused out changed the page: %v", err)
	}
	if !bytes.Contains(out, []byte("--reason")) {
		t.Errorf("the refusal does not name --reason:\n%s", out)
	}
	checkNoCICommand(t, "refusal", out, false)

	// A record that says it anyway.
	if out, code := run(nil, "out", "--keepalive", page, "--reason", "placeholder"); code != 0 {
		t.Fatalf("out exited %d:\n%s", code, out)
	}
	var records []string
	must(t, filepath.WalkDir(stateDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") {
			b, rerr := os.ReadFile(p)
			if rerr == nil && bytes.Contains(b, []byte(`"placeholder"`)) {
				records = append(records, p)
				b = bytes.Replace(b, []byte(`"placeholder"`), []byte(strconvQuote(hostile)), 1)
				b = bytes.Replace(b, []byte(`"by":"`), []byte(`"by":"me\n::error::by-line `), 1)
				must(t, os.WriteFile(p, b, 0o600))
			}
		}
		return err
	}))
	if len(records) != 1 {
		t.Fatalf("found %d records holding the reason, want 1", len(records))
	}
	var all []byte
	for _, env := range [][]string{nil, {"GITHUB_ACTIONS=true"}, {"TF_BUILD=True"}} {
		o, _ := run(env, "out", "--keepalive", page)
		all = append(all, o...)
		o, _ = run(env, "run", "--keep-out", "--keepalive", page, "--source", "exec:echo 0", "--interval", "100ms", "--settle", "100ms", "--", "true")
		all = append(all, o...)
		o, _ = run(env, "status", "--keepalive", page)
		all = append(all, o...)
		o, _ = run(env, "status", "--keepalive", page, "--output", "json")
		all = append(all, o...)
	}
	if !bytes.Contains(all, []byte("deploy v2 ::warning::pwned")) {
		t.Fatalf("the reason is not shown on one line: nothing was tested:\n%s", all)
	}
	checkNoCICommand(t, "output", all, true)
	if t.Failed() {
		t.Logf("output:\n%s", all)
	}
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestMarkdownTablesKeepTheirColumns: a source whose selector holds a pipe
// (a regex alternative), and one whose label value holds a pipe and a
// backtick,
// through a real run with a real HTTP server: every row of every table of
// `drain report -o .md` and of the GitHub step summary has as many cells as
// its header, and the selector is shown whole.
func TestMarkdownTablesKeepTheirColumns(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("drives the Linux binary")
	}
	bin := buildDrain(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("inflight{handler=\"/api\"} 1\ninflight{handler=\"/web\"} 2\ninflight{handler=\"/x|y`z\"} 0\n"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	page := filepath.Join(dir, "keepalive.htm")
	must(t, os.WriteFile(page, []byte("OK\n"), 0o644))
	summary := filepath.Join(dir, "summary.md")
	cmd := exec.Command(bin, "run", "--output", "json", "--keepalive", page, "--interval", "100ms", "--timeout", "1s",
		"--source", `prom:`+srv.URL+`/metrics#inflight{handler=~"/api|/web"}`,
		"--source", "prom:"+srv.URL+"/metrics#inflight{handler=\"/x|y`z\"}",
		"--", "true")
	cmd.Env = append(cleanCIEnv(), "DRAIN_STATE_DIR="+filepath.Join(dir, "state"), "GITHUB_ACTIONS=true", "GITHUB_STEP_SUMMARY="+summary)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); cmd.ProcessState.ExitCode() != 3 {
		t.Fatalf("run: %v (want a timeout, exit 3)\n%s\n%s", err, stdout.Bytes(), stderr.Bytes())
	}
	events := filepath.Join(dir, "events.ndjson")
	var lines []byte
	for _, l := range bytes.Split(stdout.Bytes(), []byte("\n")) {
		if bytes.HasPrefix(l, []byte("{")) {
			lines = append(append(lines, l...), '\n')
		}
	}
	must(t, os.WriteFile(events, lines, 0o644))
	md := filepath.Join(dir, "timeline.md")
	if out, err := exec.Command(bin, "report", events, "-o", md).CombinedOutput(); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	for _, f := range []string{md, summary} {
		b, err := os.ReadFile(f)
		must(t, err)
		tables := checkTables(t, filepath.Base(f), string(b))
		if tables == 0 {
			t.Errorf("%s has no table:\n%s", f, b)
		}
		if !strings.Contains(string(b), `/api\|/web`) {
			t.Errorf("%s does not show the selector whole:\n%s", f, b)
		}
		if t.Failed() {
			t.Logf("%s:\n%s", f, b)
		}
	}
}

// checkTables checks every GFM table of md: each row has as many cells as
// its header. Cells are split as cmark-gfm's table scanner does: a
// backslash and the character after it are one pair, and a pipe no pair
// took ends a cell. It returns how many tables it saw.
func checkTables(t *testing.T, name, md string) int {
	t.Helper()
	tables, want := 0, 0
	for i, l := range strings.Split(md, "\n") {
		if !strings.HasPrefix(l, "|") {
			want = 0
			continue
		}
		n := len(gfmCells(l))
		switch {
		case want == 0:
			want = n
			tables++
		case n != want:
			t.Errorf("%s line %d has %d cells, its table %d: %q", name, i+1, n, want, l)
		}
	}
	return tables
}

func gfmCells(row string) []string {
	row = strings.TrimSpace(row)
	row = strings.TrimPrefix(row, "|")
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(row); i++ {
		switch {
		case row[i] == '\\' && i+1 < len(row):
			cur.WriteByte(row[i])
			cur.WriteByte(row[i+1])
			i++
		case row[i] == '|':
			cells = append(cells, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(row[i])
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		cells = append(cells, cur.String())
	}
	return cells
}
