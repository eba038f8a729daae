//go:build linux

package main

// Part 7, at scale: the memory of a real drain process with the GitHub or
// the Azure output on, over a wait of as many polls as 10 minutes at
// 100 ms (6000), of 50 json sources whose values rise and fall.

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// procKiB is a field of /proc/PID/status in KiB (VmRSS, VmHWM), 0 when gone.
func procKiB(pid int, field string) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, field+":"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				v, _ := strconv.ParseFloat(f[0], 64)
				return v
			}
		}
	}
	return 0
}

type ciRun struct {
	name, bin, ci string
	rss           []float64 // MiB, one per sample
	hwm           float64   // MiB, peak
	summary       int       // bytes of the summary written
	polls         int
	err           error
}

func (b *bench) ciWait(oldRev string, total time.Duration, sources int, interval time.Duration) {
	oldBin, _ := b.buildOld(oldRev)
	// One server, a path per source; each value changes every poll or so.
	start := time.Now()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/s"))
		step := int(time.Since(start) / interval)
		v := (step + i) % 7
		if (step/50+i)%3 == 0 {
			v = 0 // quiet stretches too
		}
		fmt.Fprintf(w, `{"v":%d}`, v)
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	args := []string{"wait", "--output", "json", "--interval", interval.String(), "--settle", "1h", "--timeout", total.String()}
	for i := range sources {
		args = append(args, "--source", fmt.Sprintf("s%d=json:http://%s/s%d#v", i, ln.Addr(), i))
	}
	samples := 10
	runs := []*ciRun{{name: "old", bin: oldBin, ci: "github"}, {name: "new", bin: b.bin, ci: "github"}, {name: "old", bin: oldBin, ci: "azure"}, {name: "new", bin: b.bin, ci: "azure"}}
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dir := b.dir()
			summary := filepath.Join(dir, "summary.md")
			cmd := exec.Command(r.bin, args...)
			cmd.Env = append(os.Environ(), "GITHUB_ACTIONS=", "TF_BUILD=", "DRAIN_CI=")
			if r.ci == "github" {
				cmd.Env = append(cmd.Env, "GITHUB_ACTIONS=true", "GITHUB_STEP_SUMMARY="+summary)
			} else {
				cmd.Env = append(cmd.Env, "TF_BUILD=True", "AGENT_TEMPDIRECTORY="+dir)
			}
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if r.err = cmd.Start(); r.err != nil {
				return
			}
			pid := cmd.Process.Pid
			for k := 1; k <= samples; k++ {
				time.Sleep(total / time.Duration(samples+1))
				r.rss = append(r.rss, procKiB(pid, "VmRSS")/1024)
				r.hwm = procKiB(pid, "VmHWM") / 1024
			}
			_ = cmd.Wait()
			r.polls = len(pollRe.FindAll(out.Bytes(), -1)) // one poll event per round of reads
			if fi, err := os.Stat(summary); err == nil {
				r.summary = int(fi.Size())
			}
			if r.ci == "azure" { // the summary file drain uploads
				if m, _ := filepath.Glob(filepath.Join(dir, "*.md")); len(m) > 0 {
					if fi, err := os.Stat(m[0]); err == nil {
						r.summary = int(fi.Size())
					}
				}
			}
		}()
	}
	wg.Wait()
	fmt.Println("### Memory of a real wait with the GitHub or the Azure output on")
	fmt.Println()
	fmt.Printf("`drain wait --output json --interval %s --settle 1h --timeout %s` on %d `json:` sources (one Go server on 127.0.0.1, values that rise and fall with quiet stretches), `GITHUB_ACTIONS=true` with `GITHUB_STEP_SUMMARY`, or `TF_BUILD=True` with `AGENT_TEMPDIRECTORY`: the old (%s) and new binary, the four processes at once. (%s at %s: the default timeout and a common interval; fewer polls than planned when the loaded machine could not keep up.) RSS of the process sampled %d times (/proc/PID/status VmRSS): at a tenth of the run, half way and at the end; peak = VmHWM. Floor: flat (the last sample equal to the first). Load average at the end: %s.\n\n", interval, total, sources, oldRev, total, interval, samples, loadavg())
	fmt.Println("| output | binary | polls | RSS at 1/10 (MiB) | at 5/10 | at the end | growth per 1000 polls (MiB) | peak RSS (MiB) | summary written (bytes) |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range runs {
		if r.err != nil || len(r.rss) < 2 {
			fmt.Printf("| %s | %s | error: %v |\n", r.ci, r.name, r.err)
			continue
		}
		first, last := r.rss[0], r.rss[len(r.rss)-1]
		per := (last - first) / (float64(r.polls) * float64(len(r.rss)-1) / float64(samples+1)) * 1000
		fmt.Printf("| %s | %s | %d | %.1f | %.1f | %.1f | %.2f | %.1f | %d |\n", r.ci, r.name, r.polls, first, r.rss[len(r.rss)/2-1], last, per, r.hwm, r.summary)
	}
	fmt.Println()
}
