//go:build linux

package main

// Part 7, at scale: drain against a real HAProxy 2.6 with thousands of
// servers, twenty and two hundred HTTP sources, and the CI summary over a
// 10-minute wait, the current tree and an older one (-old-rev) side by side
// in one interleaved run.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/drain-cli/drain/internal/haproxy"
	"github.com/drain-cli/drain/internal/testbed"
)

// usage is what one drain process cost.
type usage struct {
	cpu, wall time.Duration
	rss       float64 // peak RSS, MiB
	out       []byte
}

// runDrain runs drain under /usr/bin/time for its peak RSS: a child's own
// ru_maxrss starts at the RSS of the process that forked it (this harness,
// tens of MiB after the big answers), GNU time is small. The CPU is the
// rusage of time, which includes drain's (its waited-for child) and its own
// (well under a millisecond).
func runDrain(bin string, args ...string) usage {
	f, err := os.CreateTemp("", "drain-bench-rss")
	check(err)
	_ = f.Close()
	defer os.Remove(f.Name())
	cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%M", "-o", f.Name(), bin}, args...)...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	start := time.Now()
	_ = cmd.Run() // exit codes vary by design (3: timed out)
	wall := time.Since(start)
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	rss := 0.0
	if b, err := os.ReadFile(f.Name()); err == nil {
		lines := strings.Fields(string(b))
		if len(lines) > 0 {
			kb, _ := strconv.ParseFloat(lines[len(lines)-1], 64)
			rss = kb / 1024
		}
	}
	return usage{cpu: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), wall: wall, rss: rss, out: out.Bytes()}
}

// selfCPU is this process's CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU is another process's CPU time so far (utime + stime).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// buildOld builds drain from an older revision (git archive into a temp
// directory), and returns the binary and the tree.
func (b *bench) buildOld(rev string) (string, string) {
	dir := filepath.Join(b.root, "old-src")
	check(os.MkdirAll(dir, 0o755))
	arch := exec.Command("sh", "-c", "git archive --format=tar "+rev+" | tar -x -C "+dir)
	if out, err := arch.CombinedOutput(); err != nil {
		fatal("git archive %s: %v\n%s", rev, err, out)
	}
	bin := filepath.Join(b.root, "drain-old")
	build := exec.Command("go", "build", "-o", bin, "./cmd/drain")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		fatal("go build (old): %v\n%s", err, out)
	}
	return bin, dir
}

// bigLB is a real HAProxy whose backend web has n servers s1..sN (no
// health checks, addresses that are never connected to).
type bigLB struct {
	cmd  *exec.Cmd
	sock string
}

func startBigLB(dir string, n int) *bigLB {
	bin, err := testbed.Find("haproxy")
	check(err)
	check(os.MkdirAll(dir, 0o755))
	front, err := testbed.FreeAddr()
	check(err)
	l := &bigLB{sock: filepath.Join(dir, "admin.sock")}
	var c strings.Builder
	fmt.Fprintf(&c, "global\n  stats socket %s mode 600 level admin\n  maxconn 200\n\ndefaults\n  mode http\n  timeout connect 2s\n  timeout client 10s\n  timeout server 10s\n\n", l.sock)
	fmt.Fprintf(&c, "frontend fe\n  bind %s\n  default_backend web\n\nbackend other\n  server o1 127.0.0.1:1\n\nbackend web\n", front)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&c, "  server s%d 127.0.0.%d:%d\n", i, 1+i/60000, 1024+i%60000)
	}
	cfg := filepath.Join(dir, "haproxy.cfg")
	check(os.WriteFile(cfg, []byte(c.String()), 0o644))
	l.cmd = exec.Command(bin, "-db", "-f", cfg)
	check(l.cmd.Start())
	for deadline := time.Now().Add(30 * time.Second); ; {
		if _, err := l.command("show info"); err == nil {
			return l
		}
		if time.Now().After(deadline) {
			fatal("haproxy with %d servers did not answer", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (l *bigLB) command(cmd string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return haproxy.Command(ctx, haproxy.Addr{Network: "unix", Address: l.sock}, cmd)
}

func (l *bigLB) stop() { _ = l.cmd.Process.Kill(); _ = l.cmd.Wait() }

// floorRead is the CPU this process spends reading these runtime API
// answers (no parsing): what any client pays.
func (l *bigLB) floorRead(k int, cmds ...string) time.Duration {
	start := selfCPU()
	for range k {
		for _, c := range cmds {
			_, err := l.command(c)
			check(err)
		}
	}
	return (selfCPU() - start) / time.Duration(k)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }

// best is the smallest CPU of the runs and its row's RSS and wall.
func best(us []usage) usage {
	b := us[0]
	for _, u := range us[1:] {
		if u.cpu < b.cpu {
			b = u
		}
	}
	return b
}

func medianCPU(us []usage) time.Duration {
	v := make([]float64, len(us))
	for i, u := range us {
		v[i] = float64(u.cpu)
	}
	return time.Duration(median(v))
}

func (b *bench) scale(runs int, oldRev string, sizes []int) {
	oldBin, oldDir := b.buildOld(oldRev)
	bins := []struct{ name, bin string }{{"old", oldBin}, {"new", b.bin}}
	order := func(r int) []int { // interleaved: old, new, then new, old
		if r%2 == 0 {
			return []int{0, 1}
		}
		return []int{1, 0}
	}
	fmt.Println("## 7. At scale")
	fmt.Println()
	fmt.Printf("Old is drain at %s (before issue 22), new is this tree; both measured in one run, interleaved (old, new, then new, old), %d runs each. CPU = user + system time of the drain process (rusage), best of the runs (median in brackets); RSS = peak resident set of that run; wall = its wall-clock time. Load average when this part started: %s (2 cores shared with other jobs).\n\n", oldRev, runs, loadavg())
	version := make([]usage, 0, runs)
	for range runs {
		version = append(version, runDrain(b.bin, "version"))
	}
	start := best(version).cpu
	fmt.Printf("Process start alone (`drain version`): %s ms CPU, %.1f MiB RSS.\n\n", ms(start), best(version).rss)

	// Pool view and budget.
	type poolRow struct {
		size                  int
		view, budget, nobudge [2][]usage
		floor                 time.Duration
	}
	var rows []poolRow
	srcRows := map[int]*[2][2]srcCost{} // size: [server first/last][old/new]
	srcFloor := map[int]time.Duration{}
	for _, n := range sizes {
		lb := startBigLB(filepath.Join(b.dir(), "lb"), n)
		row := poolRow{size: n}
		row.floor = lb.floorRead(5, "show servers state web", "show stat")
		stateDir := b.dir()
		mid := fmt.Sprintf("web/s%d", n/2)
		for r := range runs {
			for _, i := range order(r) {
				row.view[i] = append(row.view[i], runDrain(bins[i].bin, "status", "--pool", "haproxy:"+lb.sock+"#web"))
				row.budget[i] = append(row.budget[i], runDrain(bins[i].bin, "out", "--haproxy", lb.sock+"#"+mid, "--min-in-rotation", "1", "--state-dir", stateDir))
				runDrain(b.bin, "in", "--haproxy", lb.sock+"#"+mid, "--state-dir", stateDir)
				row.nobudge[i] = append(row.nobudge[i], runDrain(bins[i].bin, "out", "--haproxy", lb.sock+"#"+mid, "--state-dir", stateDir))
				runDrain(b.bin, "in", "--haproxy", lb.sock+"#"+mid, "--state-dir", stateDir)
			}
		}
		rows = append(rows, row)
		// The haproxy: source, first and last server.
		costs := &[2][2]srcCost{}
		srcFloor[n] = lb.floorRead(20, "show stat 4 4 1")
		for si, srv := range []string{"s1", fmt.Sprintf("s%d", n)} {
			var all [2][]srcCost
			for r := range runs {
				for _, i := range order(r) {
					all[i] = append(all[i], sourceCost(bins[i].bin, lb, "haproxy:"+lb.sock+"#web/"+srv))
				}
			}
			for i := range all {
				costs[si][i] = medianCost(all[i])
			}
		}
		srcRows[n] = costs
		lb.stop()
	}
	fmt.Println("### `drain status --pool haproxy:SOCK#web`")
	fmt.Println()
	fmt.Println("Floor: process start plus reading the two answers it needs (`show servers state web`, `show stat`) with no parsing, measured in the harness.")
	fmt.Println()
	fmt.Println("| size (servers) | CPU old (ms) | CPU new (ms) | RSS old / new (MiB) | wall old / new (ms) | floor (ms) |")
	fmt.Println("|---:|---:|---:|---|---|---:|")
	for _, r := range rows {
		o, nw := best(r.view[0]), best(r.view[1])
		fmt.Printf("| %d | %s (%s) | %s (%s) | %.1f / %.1f | %s / %s | %s |\n", r.size, ms(o.cpu), ms(medianCPU(r.view[0])), ms(nw.cpu), ms(medianCPU(r.view[1])), o.rss, nw.rss, ms(o.wall), ms(nw.wall), ms(start+r.floor))
	}
	fmt.Println()
	fmt.Println("### The budget read: `drain out --haproxy SOCK#web/sMID --min-in-rotation 1`")
	fmt.Println()
	fmt.Println("Floor: the same `out` without `--min-in-rotation` (no pool read), the same binary; each out is followed by an `in` (not measured).")
	fmt.Println()
	fmt.Println("| size (servers) | CPU old (ms) | CPU new (ms) | RSS old / new (MiB) | wall old / new (ms) | floor: out without budget, old / new (ms) |")
	fmt.Println("|---:|---:|---:|---|---|---|")
	for _, r := range rows {
		o, nw := best(r.budget[0]), best(r.budget[1])
		fmt.Printf("| %d | %s (%s) | %s (%s) | %.1f / %.1f | %s / %s | %s / %s |\n", r.size, ms(o.cpu), ms(medianCPU(r.budget[0])), ms(nw.cpu), ms(medianCPU(r.budget[1])), o.rss, nw.rss, ms(o.wall), ms(nw.wall), ms(best(r.nobudge[0]).cpu), ms(best(r.nobudge[1]).cpu))
	}
	fmt.Println()
	fmt.Println("### A `haproxy:` source on the first and the last server of the backend")
	fmt.Println()
	fmt.Println("`drain wait --interval 100ms --settle 1h` on one `haproxy:SOCK#web/SERVER` source, for 1 s and for 7 s: CPU per poll = the difference in CPU over the difference in polls (about 60; start-up cancels out); HAProxy's CPU over the same polls, read from /proc (10 ms ticks: about 0.2 ms resolution per poll). Median of the runs. Floor: the harness reading one `show stat IID 4 SID` answer (no parsing).")
	fmt.Println()
	fmt.Println("| size (servers) | server | drain CPU per poll old (ms) | new (ms) | HAProxy CPU per poll old (ms) | new (ms) | RSS old / new (MiB) | floor (ms) |")
	fmt.Println("|---:|---|---:|---:|---:|---:|---|---:|")
	for _, n := range sizes {
		c := srcRows[n]
		for si, srv := range []string{"first (s1)", fmt.Sprintf("last (s%d)", n)} {
			o, nw := c[si][0], c[si][1]
			fmt.Printf("| %d | %s | %.2f | %.2f | %.2f | %.2f | %.1f / %.1f | %.2f |\n", n, srv, o.perPoll, nw.perPoll, o.lbPerPoll, nw.lbPerPoll, o.rss, nw.rss, float64(srcFloor[n].Microseconds())/1000)
		}
	}
	fmt.Println()

	b.scaleConns(runs, bins[0].bin, bins[1].bin)
	b.scaleSummary(oldDir)
	fmt.Printf("Load average when this part ended: %s.\n\n", loadavg())
}

// medianCost is the median of the runs, each figure on its own.
func medianCost(cs []srcCost) srcCost {
	var pp, lp, rss []float64
	for _, c := range cs {
		pp, lp, rss = append(pp, c.perPoll), append(lp, c.lbPerPoll), append(rss, c.rss)
	}
	return srcCost{perPoll: median(pp), lbPerPoll: median(lp), rss: median(rss), polls: cs[0].polls}
}

// srcCost is one source's cost per poll.
type srcCost struct {
	perPoll, lbPerPoll float64 // ms
	polls              int
	rss                float64
}

var pollRe = regexp.MustCompile(`"event":"poll"`)

func sourceCost(bin string, lb *bigLB, src string) srcCost {
	run := func(d time.Duration) (usage, int, time.Duration) {
		lb0 := procCPU(lb.cmd.Process.Pid)
		u := runDrain(bin, "wait", "--output", "json", "--interval", "100ms", "--settle", "1h", "--timeout", d.String(), "--source", src)
		return u, len(pollRe.FindAll(u.out, -1)), procCPU(lb.cmd.Process.Pid) - lb0
	}
	u1, p1, l1 := run(time.Second)
	u5, p5, l5 := run(7 * time.Second)
	dp := p5 - p1
	if dp <= 0 {
		fatal("source %s: %d then %d polls\n%s", src, p1, p5, u5.out)
	}
	return srcCost{
		perPoll:   float64((u5.cpu - u1.cpu).Microseconds()) / 1000 / float64(dp),
		lbPerPoll: float64((l5 - l1).Microseconds()) / 1000 / float64(dp),
		polls:     dp, rss: u5.rss,
	}
}

// scaleConns: 20 json sources on one host:port, and 200 on 200 ports,
// polled every 100 ms for 3 s: TCP connections the servers accepted.
func (b *bench) scaleConns(runs int, oldBin, newBin string) {
	fmt.Println("### Many HTTP sources: connections kept or not")
	fmt.Println()
	fmt.Println("`drain wait --interval 100ms --settle 1h --timeout 3s` on `json:` sources served by Go HTTP servers on 127.0.0.1 that count the TCP connections they accept. Floor: one connection per source over the whole run. CPU per poll includes start-up (about one poll's worth). Best of the runs by CPU; connections from that run.")
	fmt.Println()
	fmt.Println("| sources | binary | polls | TCP connections accepted | connections per poll | CPU per poll (ms) | RSS (MiB) | wall (s) | floor (connections) |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, shape := range []struct {
		name           string
		sources, hosts int
	}{{"20 on one host:port", 20, 1}, {"200 on 200 ports", 200, 200}} {
		var conns, reqs atomic.Int64
		var urls []string
		var servers []*http.Server
		for range shape.hosts {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			check(err)
			srv := &http.Server{
				Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					reqs.Add(1)
					_, _ = w.Write([]byte(`{"v":0}`))
				}),
				ConnState: func(_ net.Conn, s http.ConnState) {
					if s == http.StateNew {
						conns.Add(1)
					}
				},
				ReadHeaderTimeout: 10 * time.Second,
			}
			go func() { _ = srv.Serve(ln) }()
			servers = append(servers, srv)
			urls = append(urls, "http://"+ln.Addr().String())
		}
		args := []string{"wait", "--interval", "100ms", "--settle", "1h", "--timeout", "3s"}
		for i := range shape.sources {
			args = append(args, "--source", fmt.Sprintf("s%d=json:%s/s%d#v", i, urls[i%len(urls)], i))
		}
		for i, bin := range []string{oldBin, newBin} {
			var bestU usage
			var bestC, bestR int64
			for r := range runs {
				conns.Store(0)
				reqs.Store(0)
				u := runDrain(bin, args...)
				if r == 0 || u.cpu < bestU.cpu {
					bestU, bestC, bestR = u, conns.Load(), reqs.Load()
				}
			}
			polls := float64(bestR) / float64(shape.sources)
			fmt.Printf("| %s | %s | %.0f | %d | %.1f | %.2f | %.1f | %.2f | %d |\n", shape.name, []string{"old", "new"}[i], polls, bestC, float64(bestC)/polls, float64(bestU.cpu.Microseconds())/1000/polls, bestU.rss, bestU.wall.Seconds(), shape.sources)
		}
		for _, s := range servers {
			_ = s.Close()
		}
	}
	fmt.Println()
}

// scaleSummary runs the sink package's BenchmarkSummaryTenMinutes in this
// tree and, with the benchmark file copied in, in the old one.
func (b *bench) scaleSummary(oldDir string) {
	fmt.Println("### Memory of the GitHub and Azure outputs over a 10-minute wait")
	fmt.Println()
	fmt.Println("`BenchmarkSummaryTenMinutes` (internal/sink): the events of a 10-minute wait of 50 sources polled every 100 ms (6000 polls; values that rise and fall, stretches unknown) fed to the GitHub and the Azure output at once, each writing its summary at the end; the live heap after a GC, after 1 minute's events and after the 10 minutes'. Floor: flat (the 10-minute figure equal to the 1-minute one).")
	fmt.Println()
	fmt.Println("| tree | live heap after 1 min (MiB) | after 10 min (MiB) | growth per minute (MiB) |")
	fmt.Println("|---|---:|---:|---:|")
	src, err := os.ReadFile("internal/sink/summary_bench_test.go")
	check(err)
	check(os.WriteFile(filepath.Join(oldDir, "internal/sink/summary_bench_test.go"), src, 0o644))
	for _, t := range []struct{ name, dir string }{{"old", oldDir}, {"new", "."}} {
		cmd := exec.Command("go", "test", "-run", "^$", "-bench", "BenchmarkSummaryTenMinutes", "-benchtime", "1x", "-count", "1", "./internal/sink")
		cmd.Dir = t.dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			fatal("%s: %v\n%s", t.name, err, out)
		}
		var at1, at10 float64
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			for i := 1; i < len(f); i++ {
				switch f[i] {
				case "MiB-at-1min":
					at1, _ = strconv.ParseFloat(f[i-1], 64)
				case "MiB-at-10min":
					at10, _ = strconv.ParseFloat(f[i-1], 64)
				}
			}
		}
		fmt.Printf("| %s | %.1f | %.1f | %.2f |\n", t.name, at1, at10, (at10-at1)/9)
	}
	fmt.Println()
}
