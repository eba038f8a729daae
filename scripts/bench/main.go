//go:build linux

// Command bench measures drain against the classic drain recipes through a
// real HAProxy in front of two real nginx backends (the end-to-end test's
// harness), its detection lag, and its polling overhead. It prints Markdown;
// scripts/bench/run.sh puts it into docs/benchmarks.md.
//
//	go run ./scripts/bench -runs 5 -overhead 60s
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/drain-cli/drain/internal/source"
	"github.com/drain-cli/drain/internal/testbed"
)

func main() {
	runs := flag.Int("runs", 5, "runs per recipe and per lag interval")
	overhead := flag.Duration("overhead", 60*time.Second, "how long each drain wait runs for the overhead measurement")
	only := flag.String("only", "recipes,slowlb,totals,lag,overhead", "parts to run: recipes, slowlb, totals, lag, overhead, scale, series, ciwait, fast")
	oldRev := flag.String("old-rev", "46da2de", "scale: the older revision to compare with (built from git archive)")
	sizes := flag.String("sizes", "1000,5000,10000", "scale: backend sizes (servers)")
	seriesSizes := flag.String("series", "1000,10000,100000,500000", "series: page sizes (series)")
	ciTotal := flag.Duration("ciwait", 3*time.Minute, "ciwait: how long each wait runs (at -ciwait-interval: 3m at 30ms is 6000 polls, as 10m at 100ms)")
	ciInterval := flag.Duration("ciwait-interval", 30*time.Millisecond, "ciwait: the waits' --interval")
	old := flag.String("old", "", "fast: an older drain binary to compare with, interleaved (scripts/bench/fast.sh builds one)")
	probe := flag.String("probe", "2s:3", "slowlb: the LB's health check, INTER:FALL[:RISE] (rise defaults to 2)")
	flag.Parse()
	lbCheck, err := parseProbe(*probe)
	if err != nil {
		fatal("-probe: %v", err)
	}
	root, err := os.MkdirTemp("", "drain-bench")
	check(err)
	defer os.RemoveAll(root)
	check(os.Chmod(root, 0o755))
	bin := filepath.Join(root, "drain")
	out, err := exec.Command("go", "build", "-o", bin, "./cmd/drain").CombinedOutput()
	if err != nil {
		fatal("go build: %v\n%s", err, out)
	}
	b := &bench{root: root, bin: bin, old: *old}
	if strings.Contains(*only, "recipes") {
		b.recipes(*runs)
	}
	if strings.Contains(*only, "slowlb") {
		b.slowLB(*runs, lbCheck)
	}
	if strings.Contains(*only, "totals") {
		b.totals(*runs, lbCheck)
	}
	if strings.Contains(*only, "lag") {
		b.lag(*runs)
	}
	if strings.Contains(*only, "overhead") {
		b.overhead(*overhead)
	}
	if strings.Contains(*only, "scale") {
		b.scale(*runs, *oldRev, atois("-sizes", *sizes))
	}
	if strings.Contains(*only, "series") {
		b.series(*runs, *oldRev, atois("-series", *seriesSizes))
	}
	if strings.Contains(*only, "ciwait") {
		b.ciWait(*oldRev, *ciTotal, 50, *ciInterval)
	}
	if strings.Contains(*only, "fast") {
		b.fast(*runs, *old)
	}
}

// atois reads a comma-separated list of sizes.
func atois(flagName, list string) []int {
	var ns []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 {
			fatal("%s: %q is not a size", flagName, f)
		}
		ns = append(ns, n)
	}
	return ns
}

type bench struct {
	root, bin string
	old       string // an older binary to compare with (-old), "" for none
	n         int
	lb        *testbed.HAProxy // the current run's load balancer
}

func (b *bench) dir() string {
	b.n++
	d := filepath.Join(b.root, fmt.Sprint(b.n))
	check(os.MkdirAll(d, 0o755))
	return d
}

// outcome of one recipe run.
type outcome struct {
	failed, viaA int
	late         int     // failed requests that started after the stop (sent to A by an LB that had not noticed)
	gap          float64 // s from A's last request end to the stop; negative: requests cut (s of transfer they still needed)
	down         float64 // s from the rename to HAProxy marking A DOWN; -1 when not watched or not seen
}

// scenario is the LB and the traffic a recipe runs against.
type scenario struct {
	check   testbed.Check
	clients int
	shape   testbed.Shape
	// minLoad: the load goes on at least this long after the rename (and
	// always 1 s after the stop), so every recipe faces the same traffic
	// while the LB has not noticed yet.
	minLoad time.Duration
	watch   bool // record when HAProxy marks A DOWN
	// phase: extra load before the rename, so that runs land at different
	// points of the LB's probe cycle.
	phase time.Duration
}

// fastLB is part 1's setup: the e2e tests' LB (checks every 200 ms) and load.
var fastLB = scenario{check: testbed.FastCheck, clients: 6, shape: testbed.BusyShape}

type recipe struct {
	name, what string
	run        func(b *bench, a *testbed.Nginx, sc scenario) time.Time // returns when the stop was sent
}

var recipes = []recipe{
	{"drain run", "rename, lb-grace 1s, verify URL, settle 500ms, poll 100ms on stub_status", func(b *bench, a *testbed.Nginx, _ scenario) time.Time {
		return b.drainRun(a, "--lb-grace", "1s", "--settle", "500ms", "--interval", "100ms")
	}},
	{"rename + poll 2s", "rename, then every 2 s read stub_status; stop at the first zero (no grace, no quiet period)", renamePoll},
	{"rename + sleep 5s", "rename, sleep 5 s, stop", renameSleep(5 * time.Second)},
	{"stop at once", "SIGTERM with no drain", func(_ *bench, a *testbed.Nginx, _ scenario) time.Time { return stop(a) }},
}

// slowRecipes run against an LB with a production-like probe; lb-grace is
// the check's interval x fall, as the README says.
var slowRecipes = []recipe{
	{"drain run (README)", "rename, lb-grace = inter x fall, verify URL, default settle 5s and interval 1s on stub_status (the README's nginx example)", func(b *bench, a *testbed.Nginx, sc scenario) time.Time {
		return b.drainRun(a, "--lb-grace", sc.check.Detection().String())
	}},
	{"drain run (settle 1s)", "the same with --settle 1s --interval 100ms", func(b *bench, a *testbed.Nginx, sc scenario) time.Time {
		return b.drainRun(a, "--lb-grace", sc.check.Detection().String(), "--settle", "1s", "--interval", "100ms")
	}},
	{"rename + poll 2s", "rename, then every 2 s read stub_status; stop at the first zero", renamePoll},
	{"rename + sleep 3s", "rename, sleep 3 s (shorter than the LB's detection), stop", renameSleep(3 * time.Second)},
	{"rename + sleep 10s", "rename, sleep 10 s (longer than detection plus a download), stop", renameSleep(10 * time.Second)},
}

// totalRecipes wait on HAProxy's own count of A's requests instead of
// stub_status, with and without its total (stot): part 1b's light load,
// where short requests start and end between two polls.
var totalRecipes = []recipe{
	{"drain run (haproxy source, no total)", "rename, lb-grace = inter x fall, verify URL, default settle 5s and interval 1s, waiting on haproxy:SOCKET#web/a#total=off (scur + qcur only)", func(b *bench, a *testbed.Nginx, sc scenario) time.Time {
		return b.drainRunSource(a, "haproxy:"+b.lb.Server(a)+"#total=off", "--lb-grace", sc.check.Detection().String())
	}},
	{"drain run (haproxy source, stot)", "the same waiting on haproxy:SOCKET#web/a: new requests (stot) since the last poll break the settle window", func(b *bench, a *testbed.Nginx, sc scenario) time.Time {
		return b.drainRunSource(a, "haproxy:"+b.lb.Server(a), "--lb-grace", sc.check.Detection().String())
	}},
}

// drainRun runs drain run on A with the given flags after the common ones
// and returns when its action started.
func (b *bench) drainRun(a *testbed.Nginx, flags ...string) time.Time {
	return b.drainRunSource(a, "nginx:"+a.URL("/nginx_status"), flags...)
}

// drainRunSource is drainRun waiting on src.
func (b *bench) drainRunSource(a *testbed.Nginx, src string, flags ...string) time.Time {
	args := append([]string{
		"run", "--output", "json", "--state-dir", filepath.Join(a.Dir, "state"),
		"--keepalive", a.Keepalive(), "--verify-url", a.URL("/keepalive.htm"),
		"--source", src, "--timeout", "60s",
	}, flags...)
	args = append(args, "--", "kill", "-TERM", fmt.Sprint(a.Pid()))
	out, err := exec.Command(b.bin, args...).Output()
	if err != nil {
		fatal("drain run: %v\n%s", err, out)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var e struct {
			Time    time.Time `json:"time"`
			Event   string    `json:"event"`
			Message string    `json:"message"`
		}
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Event == "action" && e.Message == "started" {
			return e.Time
		}
	}
	fatal("drain run: no action event\n%s", out)
	return time.Time{}
}

// renamePoll: rename, then every 2 s read stub_status; stop at the first
// zero. A script would loop for ever; this one gives up after 30 polls and
// stops anyway.
func renamePoll(_ *bench, a *testbed.Nginx, _ scenario) time.Time {
	check(os.Rename(a.Keepalive(), a.Keepalive()+".disabled"))
	src := nginxSource(a)
	for range 30 {
		time.Sleep(2 * time.Second)
		if v, err := src.Read(context.Background()); err == nil && v == 0 {
			break
		}
	}
	return stop(a)
}

func renameSleep(d time.Duration) func(*bench, *testbed.Nginx, scenario) time.Time {
	return func(_ *bench, a *testbed.Nginx, _ scenario) time.Time {
		check(os.Rename(a.Keepalive(), a.Keepalive()+".disabled"))
		time.Sleep(d)
		return stop(a)
	}
}

func nginxSource(a *testbed.Nginx) source.Source {
	spec, err := source.ParseSpec("nginx:" + a.URL("/nginx_status"))
	check(err)
	src, err := source.New(spec, source.Options{})
	check(err)
	return src
}

func stop(a *testbed.Nginx) time.Time {
	t := time.Now()
	check(a.Cmd.Process.Signal(syscall.SIGTERM))
	return t
}

func (b *bench) recipeRun(r recipe, sc scenario) outcome {
	d := b.dir()
	a, err := testbed.StartNginx(filepath.Join(d, "A"), "A")
	check(err)
	defer a.Kill()
	bb, err := testbed.StartNginx(filepath.Join(d, "B"), "B")
	check(err)
	defer bb.Kill()
	lb, err := testbed.StartHAProxyCheck(filepath.Join(d, "lb"), sc.check, a, bb)
	check(err)
	defer lb.Kill()
	b.lb = lb
	ctx, cancel := context.WithCancel(context.Background())
	load := testbed.StartLoadShape(ctx, []string{lb.URL("")}, sc.clients, 40, sc.shape)
	time.Sleep(1500*time.Millisecond + sc.phase)
	outAt := time.Now()
	var downAt time.Time
	watched := make(chan struct{})
	if sc.watch {
		go func() {
			defer close(watched)
			for range 600 { // 30 s at most
				if ctx.Err() != nil {
					return
				}
				if st, err := lb.ServerStatus(a); err == nil && strings.HasPrefix(st, "DOWN") {
					downAt = time.Now()
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
	} else {
		close(watched)
	}
	stopAt := r.run(b, a, sc)
	time.Sleep(max(time.Second, time.Until(outAt.Add(sc.minLoad))))
	cancel()
	o := outcome{down: -1}
	var lastA time.Time
	cutNeed := 0.0
	for _, res := range load.Wait() {
		if res.Backend == "A" {
			o.viaA++
			if res.End.After(lastA) {
				lastA = res.End
			}
		}
		if !res.OK() {
			o.failed++
			if res.Start.After(stopAt) {
				o.late++
			}
			if res.Slow && res.Backend == "A" {
				cutNeed = max(cutNeed, float64(testbed.BigSize-res.Bytes)/(80<<10))
			}
		}
	}
	<-watched
	if !downAt.IsZero() {
		o.down = downAt.Sub(outAt).Seconds()
	}
	o.gap = stopAt.Sub(lastA).Seconds()
	if o.failed > 0 {
		o.gap = 0 // only requests that arrived after the stop failed
		if cutNeed > 0 {
			o.gap = -cutNeed
		}
	}
	return o
}

func (b *bench) recipes(runs int) {
	fmt.Println("## 1. drain run against the classic recipes")
	fmt.Println()
	fmt.Printf("One HAProxy (checks every 200 ms, fall 2, retries 0, no redispatch) in front of nginx A and B; 6 clients, every other request a 3 s download (240 KiB at 80 KiB/s), the others a small page; A is stopped with SIGTERM (cuts what is in flight) 1.5 s into the load. %d runs per recipe, interleaved. Gap: seconds from the end of A's last request to the stop (wasted time); negative when requests were cut (seconds of transfer the longest cut request still needed).\n\n", runs)
	res := make([][]outcome, len(recipes))
	for range runs {
		for i, r := range recipes {
			res[i] = append(res[i], b.recipeRun(r, fastLB))
		}
	}
	fmt.Println("| recipe | what | failed requests per run | median failed | gap per run (s) | median gap (s) | spread (min..max) |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for i, r := range recipes {
		var f, g []float64
		for _, o := range res[i] {
			f = append(f, float64(o.failed))
			g = append(g, o.gap)
		}
		fmt.Printf("| %s | %s | %s | %s | %s | %.2f | %.2f..%.2f |\n", r.name, r.what, join(f, "%.0f"), fmtF(median(f), "%.0f"), join(g, "%.2f"), median(g), minOf(g), maxOf(g))
	}
	fmt.Println()
}

// slowLB: the recipes against an LB that probes like a production config,
// under two loads, with the traffic going on through the LB's detection.
func (b *bench) slowLB(runs int, c testbed.Check) {
	loads := []struct {
		name, what string
		clients    int
		shape      testbed.Shape
	}{
		{"busy", "6 clients, every other request a 3 s download, 50 ms pause after a small page (part 1's load): A is never idle while in rotation", 6, testbed.BusyShape},
		{"light", "2 clients, every third request a 3 s download, 300 ms pause after a small page: A is often idle for a moment while still in rotation", 2, testbed.Shape{SlowEvery: 3, Pause: 300 * time.Millisecond}},
	}
	fmt.Printf("### 1b. A load balancer that probes like production (%s)\n\n", c)
	fmt.Printf("The same setup, but HAProxy checks the keep-alive page with `%s` (retries 0, no redispatch): after the rename it keeps sending new requests to A for up to %s. The load goes on until at least %s after the rename and 1 s after the stop, so every recipe faces the same traffic while the LB has not noticed; run k (0-based) of n renames k/n of a probe interval later into the load, so runs land at different points of the probe cycle. drain uses what the README says for this LB: `--lb-grace %s` (inter x fall) and `--verify-url`. %d runs per recipe, interleaved. Late: failed requests that started after the stop (sent to a stopped A by an LB that had not noticed). Gap as above; a run with failures shows minus what the longest cut download still needed, 0 when only late requests failed. LB noticed: seconds from the rename to HAProxy marking A DOWN.\n\n",
		c, c.Detection(), c.Detection()+2*time.Second, c.Detection(), runs)
	for _, l := range loads {
		sc := scenario{check: c, clients: l.clients, shape: l.shape, minLoad: c.Detection() + 2*time.Second, watch: true}
		res := make([][]outcome, len(slowRecipes))
		for j := range runs {
			sc.phase = c.Inter * time.Duration(j) / time.Duration(runs)
			for i, r := range slowRecipes {
				res[i] = append(res[i], b.recipeRun(r, sc))
			}
		}
		fmt.Printf("**%s load**: %s.\n\n", l.name, l.what)
		fmt.Println("| recipe | what | failed requests per run | median failed | of which late | gap per run (s) | median gap (s) | spread (min..max) | LB noticed (s) |")
		fmt.Println("|---|---|---|---|---|---|---|---|---|")
		for i, r := range slowRecipes {
			var f, late, g, down []float64
			for _, o := range res[i] {
				f = append(f, float64(o.failed))
				late = append(late, float64(o.late))
				g = append(g, o.gap)
				down = append(down, o.down)
			}
			fmt.Printf("| %s | %s | %s | %s | %s | %s | %.2f | %.2f..%.2f | %s |\n", r.name, r.what, join(f, "%.0f"), fmtF(median(f), "%.0f"),
				join(late, "%.0f"), join(g, "%.2f"), median(g), minOf(g), maxOf(g), join(down, "%.1f"))
		}
		fmt.Println()
	}
}

// totals: part 1b's light load against drain waiting on HAProxy's count of
// A's requests, with and without the total. Gap below the settle window
// means the quiet window began while A was still being sent requests.
func (b *bench) totals(runs int, c testbed.Check) {
	fmt.Printf("#### 1b, light load: totals (%s)\n\n", c)
	fmt.Printf("Part 1b's light load (2 clients, every third request a 3 s download, 300 ms pause after a small page), drain waiting on HAProxy's own count of A's requests (`haproxy:SOCKET#web/a`, scur + qcur) with `--lb-grace %s`, `--verify-url` and the default `--settle 5s --interval 1s`; once without the total (`#total=off`), once with HAProxy's `stot` (the default): a rise of stot since the last poll breaks the settle window. %d runs per recipe, interleaved, probe phases as in 1b. Gap: seconds from the end of A's last request to the stop; below the 5 s settle means the quiet window began while A was still serving requests a poll could not see.\n\n", c.Detection(), runs)
	sc := scenario{check: c, clients: 2, shape: testbed.Shape{SlowEvery: 3, Pause: 300 * time.Millisecond}, minLoad: c.Detection() + 2*time.Second, watch: true}
	res := make([][]outcome, len(totalRecipes))
	for j := range runs {
		sc.phase = c.Inter * time.Duration(j) / time.Duration(runs)
		for i, r := range totalRecipes {
			res[i] = append(res[i], b.recipeRun(r, sc))
		}
	}
	fmt.Println("| recipe | what | failed requests per run | gap per run (s) | median gap (s) | spread (min..max) | runs with gap < settle | LB noticed (s) |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for i, r := range totalRecipes {
		var f, g, down []float64
		short := 0
		for _, o := range res[i] {
			f = append(f, float64(o.failed))
			g = append(g, o.gap)
			down = append(down, o.down)
			if o.gap < 5 {
				short++
			}
		}
		fmt.Printf("| %s | %s | %s | %s | %.2f | %.2f..%.2f | %d of %d | %s |\n", r.name, r.what, join(f, "%.0f"), join(g, "%.2f"), median(g), minOf(g), maxOf(g), short, len(g), join(down, "%.1f"))
	}
	fmt.Println()
}

// parseProbe reads INTER:FALL[:RISE].
func parseProbe(s string) (testbed.Check, error) {
	c := testbed.Check{Rise: 2}
	p := strings.Split(s, ":")
	if len(p) < 2 || len(p) > 3 {
		return c, fmt.Errorf("%q: want INTER:FALL[:RISE], e.g. 2s:3", s)
	}
	var err error
	if c.Inter, err = time.ParseDuration(p[0]); err != nil {
		return c, err
	}
	if c.Fall, err = strconv.Atoi(p[1]); err != nil {
		return c, err
	}
	if len(p) == 3 {
		if c.Rise, err = strconv.Atoi(p[2]); err != nil {
			return c, err
		}
	}
	if c.Inter < 10*time.Millisecond || c.Fall < 1 || c.Fall > 10 || c.Rise < 1 || c.Rise > 10 || c.Inter > 10*time.Second {
		return c, fmt.Errorf("%q: want 10ms <= INTER <= 10s and 1 <= FALL, RISE <= 10", s)
	}
	return c, nil
}

// lag: one slow download on one nginx; drain run with no grace and no settle
// waits on stub_status; the drain condition holds when the download ends.
func (b *bench) lag(runs int) {
	fmt.Println("## 2. Detection lag")
	fmt.Println()
	fmt.Printf("One nginx, one 3 s download in flight; `drain wait --settle 0 --source nginx:...` (no grace, no settle: the drain condition holds as soon as the download ends). Lag: from the client seeing the download end to drain's `drained` event, which is when `run` starts the action. %d runs per interval.\n\n", runs)
	fmt.Println("| --interval | lag per run (ms) | median (ms) | spread (ms) |")
	fmt.Println("|---|---|---|---|")
	for _, iv := range []string{"1s", "100ms"} {
		var lags []float64
		for range runs {
			d := b.dir()
			a, err := testbed.StartNginx(filepath.Join(d, "A"), "A")
			check(err)
			ctx, cancel := context.WithCancel(context.Background())
			load := testbed.StartLoad(ctx, []string{a.URL("")}, 1, 1)
			time.Sleep(300 * time.Millisecond)
			out, err := exec.Command(b.bin, "wait", "--output", "json", "--settle", "0", "--interval", iv,
				"--source", "nginx:"+a.URL("/nginx_status"), "--timeout", "30s").Output()
			if err != nil {
				fatal("drain wait: %v\n%s", err, out)
			}
			cancel()
			res := load.Wait()
			a.Kill()
			var drained time.Time
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				var e struct {
					Time  time.Time `json:"time"`
					Event string    `json:"event"`
				}
				if json.Unmarshal(sc.Bytes(), &e) == nil && e.Event == "drained" {
					drained = e.Time
				}
			}
			lags = append(lags, float64(drained.Sub(res[0].End).Milliseconds()))
		}
		fmt.Printf("| %s | %s | %.0f | %.0f..%.0f |\n", iv, join(lags, "%.0f"), median(lags), minOf(lags), maxOf(lags))
	}
	fmt.Println()
}

// overhead: drain wait polling each source type for the given time, all at
// once (CPU time is per process, so they do not skew each other much).
func (b *bench) overhead(dur time.Duration) {
	d := b.dir()
	a, err := testbed.StartNginx(filepath.Join(d, "A"), "A")
	check(err)
	defer a.Kill()
	lb, err := testbed.StartHAProxy(filepath.Join(d, "lb"), a)
	check(err)
	defer lb.Kill()
	var prom strings.Builder
	prom.WriteString("# TYPE http_server_active_requests gauge\n")
	for i := range 200 {
		fmt.Fprintf(&prom, "http_server_active_requests{route=\"/r%d\"} 0\n", i)
	}
	files := map[string]string{
		"metrics":       prom.String(),
		"stats.json":    `{"stats":[{"name":"http.ingress.downstream_rq_active","value":0}]}`,
		"server-status": "BusyWorkers: 1\nIdleWorkers: 9\n",
	}
	for f, body := range files {
		check(os.WriteFile(filepath.Join(a.Root, f), []byte(body), 0o644))
	}
	sources := []string{
		"nginx:" + a.URL("/nginx_status"),
		"apache:" + a.URL("/server-status?auto"),
		"prom:" + a.URL("/metrics") + "#http_server_active_requests",
		"json:" + a.URL("/stats.json") + "#stats.#(name==\"http.ingress.downstream_rq_active\").value",
		"haproxy:" + lb.Server(a),
		"haproxy:" + lb.StatsCSV() + "#web/a",
		"exec:true",
	}
	sources[len(sources)-1] = "exec:echo 0"
	type job struct {
		src, iv, bin string
		cmd          *exec.Cmd
		out          *bytes.Buffer
	}
	var jobs []job
	bins := []struct{ name, path string }{{"", b.bin}}
	if b.old != "" {
		bins = append(bins, struct{ name, path string }{"before", b.old})
	}
	for _, bin := range bins {
		for _, iv := range []string{"1s", "100ms", ""} { // "": --interval not given (adaptive)
			for _, s := range sources {
				// settle longer than the timeout: it polls until the timeout.
				args := []string{"wait", "--output", "json", "--settle", "1h", "--timeout", dur.String(), "--source", s}
				if iv != "" {
					args = append(args, "--interval", iv)
				}
				cmd := exec.Command(bin.path, args...)
				out := &bytes.Buffer{}
				cmd.Stdout = out
				check(cmd.Start())
				jobs = append(jobs, job{s, iv, bin.name, cmd, out})
			}
		}
	}
	fmt.Println("## 3. Polling overhead")
	fmt.Println()
	fmt.Printf("`drain wait` polling one source for %s (it never drains: --settle 1h, --timeout %s; `default` is --interval not given: 100 ms near the end, backing off to 1 s while far, as here), all %d processes at once on the 2 shared cores. CPU = user + system time of the drain process (an exec source's children are included: the kernel adds waited-for children). The servers' side (nginx, HAProxy answering) is not included.\n\n", dur, dur, len(jobs))
	fmt.Println("| source | --interval | polls | CPU (ms) | CPU per poll (ms) | CPU share of one core | peak RSS (MiB) |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, j := range jobs {
		_ = j.cmd.Wait() // exit 3: timed out, as intended
		ru := j.cmd.ProcessState.SysUsage().(*syscall.Rusage)
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		polls := bytes.Count(j.out.Bytes(), []byte(`"event":"poll"`)) // counted, not computed
		if polls == 0 {
			polls = 1
		}
		iv := j.iv
		if iv == "" {
			iv = "default"
		}
		if j.bin != "" {
			iv += " (" + j.bin + ")"
		}
		typ, _, _ := strings.Cut(j.src, ":")
		if strings.Contains(j.src, ";csv") {
			typ += " (CSV URL)"
		} else if typ == "haproxy" {
			typ += " (socket)"
		}
		fmt.Printf("| %s | %s | %d | %d | %.2f | %.2f%% | %.1f |\n", typ, iv, polls, cpu.Milliseconds(),
			float64(cpu.Microseconds())/1000/float64(polls), 100*cpu.Seconds()/dur.Seconds(), float64(ru.Maxrss)/1024)
	}
	fmt.Println()
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func minOf(v []float64) float64 { return sorted(v)[0] }
func maxOf(v []float64) float64 { return sorted(v)[len(v)-1] }
func sorted(v []float64) []float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s
}

func join(v []float64, f string) string {
	p := make([]string, len(v))
	for i, x := range v {
		p[i] = fmtF(x, f)
	}
	return strings.Join(p, ", ")
}

func fmtF(x float64, f string) string { return fmt.Sprintf(f, x) }

func check(err error) {
	if err != nil {
		fatal("%v", err)
	}
}

func fatal(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", a...)
	os.Exit(1)
}
