//go:build linux

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/drain-cli/drain/internal/testbed"
)

// Part 8: fast by default (issue 18). The same harness as part 1 (and 1b for
// the rare checks): drain run with no timing flag at all, the binary of this
// tree against an older one (-old, built from the commit before the
// change), interleaved run by run.

// fastCase is one setup drain runs in: the rotation and the source.
type fastCase struct {
	name, what string
	sc         scenario
	args       func(b *bench, a *testbed.Nginx) []string
	// oldArgs: what the older binary needs on top to be safe here (the
	// README's --lb-grace for a rarely checking LB); nil: the same.
	oldArgs func(sc scenario) []string
}

var rareLB = testbed.Check{Inter: 2 * time.Second, Fall: 3, Rise: 2}

var fastCases = []fastCase{
	{
		"runtime API + haproxy source", "--haproxy SOCKET#web/a --source haproxy:SOCKET#web/a; LB checks every 200 ms, busy load", fastLB,
		func(b *bench, a *testbed.Nginx) []string {
			return []string{"--haproxy", b.lb.Server(a), "--source", "haproxy:" + b.lb.Server(a)}
		}, nil,
	},
	{
		"keep-alive page + haproxy source", "--keepalive PAGE --source haproxy:SOCKET#web/a; LB checks every 200 ms fall 2, busy load", fastLB,
		func(b *bench, a *testbed.Nginx) []string {
			return []string{"--keepalive", a.Keepalive(), "--source", "haproxy:" + b.lb.Server(a)}
		}, nil,
	},
	{
		"keep-alive page + haproxy source, rare checks", "the same, LB checks `inter 2s fall 3 rise 2`; the old binary also gets the README's --lb-grace 6s (without it, it is not safe there)",
		scenario{check: rareLB, clients: 6, shape: testbed.BusyShape, minLoad: rareLB.Detection() + 2*time.Second, watch: true},
		func(b *bench, a *testbed.Nginx) []string {
			return []string{"--keepalive", a.Keepalive(), "--source", "haproxy:" + b.lb.Server(a)}
		}, func(sc scenario) []string { return []string{"--lb-grace", sc.check.Detection().String()} },
	},
	{
		"keep-alive page + nginx stub_status only", "--keepalive PAGE --verify-url URL --lb-grace 1s --source nginx:stub_status (app-side only: the quiet window must stay); LB checks every 200 ms", fastLB,
		func(_ *bench, a *testbed.Nginx) []string {
			return []string{"--keepalive", a.Keepalive(), "--verify-url", a.URL("/keepalive.htm"), "--lb-grace", "1s", "--source", "nginx:" + a.URL("/nginx_status")}
		}, nil,
	},
}

// drainRunBin runs bin's drain run on A with args (no timing flag) and
// returns when its action started.
func (b *bench) drainRunBin(bin string, a *testbed.Nginx, args []string) time.Time {
	all := append([]string{"run", "--output", "json", "--state-dir", filepath.Join(a.Dir, "state"), "--timeout", "60s"}, args...)
	all = append(all, "--", "kill", "-TERM", fmt.Sprint(a.Pid()))
	out, err := exec.Command(bin, all...).Output()
	if err != nil {
		fatal("drain run (%s): %v\n%s", bin, err, out)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
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
	fatal("drain run (%s): no action event\n%s", bin, out)
	return time.Time{}
}

func (b *bench) fast(runs int, old string) {
	fmt.Println("## 8. Fast by default")
	fmt.Println()
	fmt.Printf("drain run with no timing flag (no --settle, --interval, and --lb-grace only where the row says), A stopped with SIGTERM by the action, part 1's harness (one HAProxy, retries 0, no redispatch, 6 clients, every other request a 3 s download). Before: the binary built from the commit before the change (default settle 5s, interval 1s); after: this tree. %d runs each, before and after interleaved run by run. Gap: seconds from the end of A's last request to the stop; negative when requests were cut.\n\n", runs)
	fmt.Println("| setup | what | binary | failed per run | gap per run (s) | median gap (s) | spread (min..max) |")
	fmt.Println("|---|---|---|---|---|---|---|")
	start := time.Now()
	for _, c := range fastCases {
		bins := []struct{ name, path string }{{"after", b.bin}}
		if old != "" {
			bins = []struct{ name, path string }{{"before", old}, {"after", b.bin}}
		}
		res := make([][]outcome, len(bins))
		for j := range runs {
			sc := c.sc
			if sc.watch {
				sc.phase = sc.check.Inter * time.Duration(j) / time.Duration(runs)
			}
			for i, bin := range bins {
				r := recipe{c.name, c.what, func(b *bench, a *testbed.Nginx, sc scenario) time.Time {
					args := c.args(b, a)
					if bin.name == "before" && c.oldArgs != nil {
						args = append(args, c.oldArgs(sc)...)
					}
					return b.drainRunBin(bin.path, a, args)
				}}
				res[i] = append(res[i], b.recipeRun(r, sc))
			}
		}
		for i, bin := range bins {
			var f, g []float64
			for _, o := range res[i] {
				f = append(f, float64(o.failed))
				g = append(g, o.gap)
			}
			fmt.Printf("| %s | %s | %s | %s | %s | %.2f | %.2f..%.2f |\n", c.name, c.what, bin.name, join(f, "%.0f"), join(g, "%.2f"), median(g), minOf(g), maxOf(g))
		}
	}
	fmt.Println()
	fmt.Printf("Measured on a shared, loaded machine (2 cores, other engineers' builds and tests running); %d runs took %s.\n\n", runs*len(fastCases)*map[bool]int{true: 2, false: 1}[old != ""], time.Since(start).Round(time.Second))
}
