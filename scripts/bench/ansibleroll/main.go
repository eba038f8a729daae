//go:build linux

// Command ansibleroll measures the same Ansible rolling deploy (three hosts
// of examples/ansible/farm.sh behind one HAProxy, serial 1, under load) done
// by drain (examples/ansible/roll.yml) and by Ansible's own
// community.general.haproxy module (examples/ansible/roll-haproxy-module.yml),
// in one run, and prints a Markdown table: total roll time, failed requests,
// and the idle time wasted per host (from the last request that host served
// until its stop), split into the tool's own wait and the orchestrator's
// step to the stop, and the time from HAProxy having a host UP again to the
// next host leaving rotation. scripts/bench/ansible-roll.sh runs it (part
// 6); with -defaults drain runs with no timing flag at all
// (scripts/bench/farm-roll.sh, part 9).
//
//	go run ./scripts/bench/ansibleroll -drain /path/to/drain -runs 1 [-defaults]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/drain-cli/drain/internal/testbed"
)

type variant struct {
	name, playbook string
	extra          []string
}

type outcome struct {
	code             int
	roll             time.Duration
	requests, failed int
	idle             []time.Duration // per host: last request to the stop
	decided          []time.Duration // per host: last request to the tool's decision (drain: the stop; the module: MAINT set)
	step             []time.Duration // per host: the tool's decision to the stop (the orchestrator's step; 0 for drain)
	sinceOut         []time.Duration // per host: from the later of its last request and its leaving rotation to the stop
	next             []time.Duration // per host but the last: HAProxy has it UP again to the next host leaving rotation
	err              string
}

func main() {
	drain := flag.String("drain", "", "the drain binary")
	runs := flag.Int("runs", 1, "rolls per variant (interleaved)")
	hosts := flag.Int("hosts", 3, "hosts in the farm")
	defaults := flag.Bool("defaults", false, "drain with no timing flag (no lb_grace, settle, interval): part 9")
	flag.Parse()
	if *drain == "" {
		fmt.Fprintln(os.Stderr, "ansibleroll: -drain BIN is required (go build -o BIN ./cmd/drain)")
		os.Exit(2)
	}
	examples, err := filepath.Abs("examples/ansible")
	if err != nil {
		fatal("%v", err)
	}
	variants := []variant{
		{"drain: keep-alive page, waits on nginx + HAProxy sessions", "roll.yml", nil},
		{"drain: HAProxy runtime API (--haproxy), same sources", "roll.yml", []string{
			"-e", `{"drain_rotate": ["haproxy:{{ haproxy_socket }}#web/{{ inventory_hostname }}"]}`, "-e", "drain_verify_url=", "-e", "drain_lb_grace=0s",
		}},
		{"community.general.haproxy, drain: true, wait_interval 5 (default)", "roll-haproxy-module.yml", nil},
		{"community.general.haproxy, drain: true, wait_interval 1", "roll-haproxy-module.yml", []string{"-e", "wait_interval=1"}},
	}
	if *defaults {
		// An empty value is no flag (the module omits it): drain's defaults.
		none := []string{"-e", "drain_lb_grace=", "-e", "drain_settle=", "-e", "drain_interval="}
		variants[0] = variant{"drain defaults (no timing flag): keep-alive page, waits on nginx + HAProxy sessions", "roll.yml", none}
		variants[1] = variant{"drain defaults (no timing flag): HAProxy runtime API, same sources", "roll.yml", append([]string{
			"-e", `{"drain_rotate": ["haproxy:{{ haproxy_socket }}#web/{{ inventory_hostname }}"]}`, "-e", "drain_verify_url=",
		}, none...)}
	}
	results := make([][]outcome, len(variants))
	for r := range *runs {
		for i, v := range variants {
			fmt.Fprintf(os.Stderr, "run %d/%d: %s (load average %s)\n", r+1, *runs, v.name, loadAvg())
			o := roll(examples, *drain, *hosts, v)
			fmt.Fprintf(os.Stderr, "  exit %d, roll %s, %d/%d failed, idle %v, own wait %v, step %v, UP to next out %v, since out %v %s\n", o.code, o.roll.Round(10*time.Millisecond), o.failed, o.requests, o.idle, o.decided, o.step, o.next, o.sinceOut, o.err)
			results[i] = append(results[i], o)
		}
	}
	fmt.Printf("| Roll (%d hosts, serial 1, under load) | Runs | Exit | Roll time | Requests | Failed | Idle per host, last request to stop: median (min-max) | of which the tool's own wait (to its stop, or MAINT) | and the orchestrator's step to the stop | HAProxy has a host UP again to the next host leaving | Idle from the later of the last request and leaving rotation, to the stop |\n", *hosts)
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|")
	for i, v := range variants {
		var rolls, idle, decided, step, next, sinceOut []time.Duration
		codes := map[int]int{}
		req, failed := 0, 0
		for _, o := range results[i] {
			rolls = append(rolls, o.roll)
			idle = append(idle, o.idle...)
			decided = append(decided, o.decided...)
			step = append(step, o.step...)
			next = append(next, o.next...)
			sinceOut = append(sinceOut, o.sinceOut...)
			codes[o.code]++
			req += o.requests
			failed += o.failed
		}
		fmt.Printf("| %s | %d | %s | %s | %d | %d | %s | %s | %s | %s | %s |\n", v.name, len(results[i]), fmtCodes(codes), spread(rolls), req, failed, spread(idle), spread(decided), spread(step), spread(next), spread(sinceOut))
	}
}

func roll(examples, drain string, hosts int, v variant) outcome {
	dir, err := os.MkdirTemp("", "ansibleroll-")
	if err != nil {
		fatal("%v", err)
	}
	defer os.RemoveAll(dir)
	f, err := testbed.StartFarm(filepath.Join(examples, "farm.sh"), filepath.Join(dir, "farm"), hosts)
	if err != nil {
		return outcome{code: -1, err: err.Error()}
	}
	defer f.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	sampler := f.SamplePool(ctx, 50*time.Millisecond, 40000)
	load := testbed.StartLoad(loadCtx, []string{f.LBURL}, 4, 2000)
	time.Sleep(time.Second)
	args := append([]string{"-e", "drain=" + drain, "-e", "version=2"}, v.extra...)
	pb := f.PlaybookCmd(ctx, filepath.Join(examples, v.playbook), nil, args...)
	// roll.yml uses the drain_cli.drain collection of this tree.
	pb.Cmd.Env = append(pb.Cmd.Env, "ANSIBLE_COLLECTIONS_PATH="+filepath.Join(filepath.Dir(filepath.Dir(examples)), "packaging", "ansible"))
	code, err := pb.Run()
	time.Sleep(time.Second)
	stopLoad()
	res := load.Wait()
	samples, _ := sampler.Stop()
	o := outcome{code: code, roll: pb.End.Sub(pb.Start), requests: len(res)}
	if err != nil || code != 0 {
		o.err = fmt.Sprintf("%v %s", err, lastLines(pb.Stdout.String()+pb.Stderr.String(), 5))
	}
	for _, r := range res {
		if !r.OK() {
			o.failed++
		}
	}
	for _, h := range f.Hosts {
		stops := f.Stops(h)
		if len(stops) != 1 {
			o.err += fmt.Sprintf(" %s stopped %d times", h, len(stops))
			continue
		}
		if v := f.Version(h); v != "2" {
			o.err += fmt.Sprintf(" %s has version %q", h, v)
		}
		last := testbed.LastBefore(res, h, stops[0])
		if last.IsZero() {
			continue
		}
		o.idle = append(o.idle, stops[0].Sub(last))
		// The module's wait ends when it sets MAINT; drain's when it stops.
		decided := stops[0]
		for _, s := range samples {
			if s.At.After(last) && strings.Contains(s.Servers[h].Status, "MAINT") {
				decided = s.At
				break
			}
		}
		o.decided = append(o.decided, decided.Sub(last))
		o.step = append(o.step, stops[0].Sub(decided))
		// A host may have served its last request before its turn began
		// (the balancer sent it nothing for a while): that time is not the
		// tool's. From when it left rotation (HAProxy no longer UP), if
		// later, is.
		from := last
		for _, s := range samples {
			if s.At.After(pb.Start) && s.Servers[h].Status != "UP" {
				if s.At.After(from) {
					from = s.At
				}
				break
			}
		}
		o.sinceOut = append(o.sinceOut, stops[0].Sub(from))
	}
	// Back in and on: from HAProxy having a host UP again (after its stop)
	// to the next host leaving rotation (DRAIN, MAINT, a failing check).
	for i := 0; i+1 < len(f.Hosts); i++ {
		h, nx := f.Hosts[i], f.Hosts[i+1]
		stops := f.Stops(h)
		if len(stops) != 1 {
			continue
		}
		var upAt, leftAt time.Time
		for _, s := range samples {
			switch {
			case upAt.IsZero():
				if s.At.After(stops[0]) && s.Servers[h].Status == "UP" {
					upAt = s.At
				}
			case s.Servers[nx].Status != "UP":
				leftAt = s.At
			}
			if !leftAt.IsZero() {
				break
			}
		}
		if !upAt.IsZero() && !leftAt.IsZero() {
			o.next = append(o.next, leftAt.Sub(upAt))
		}
	}
	return o
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func spread(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	r := func(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
	if len(s) == 1 {
		return r(s[0])
	}
	return fmt.Sprintf("%s (%s-%s)", r(s[len(s)/2]), r(s[0]), r(s[len(s)-1]))
}

func fmtCodes(c map[int]int) string {
	var parts []string
	for code, n := range c {
		parts = append(parts, fmt.Sprintf("%d×%d", n, code))
	}
	sort.Strings(parts)
	if len(parts) == 1 && len(c) == 1 {
		for code := range c {
			return fmt.Sprint(code)
		}
	}
	return strings.Join(parts, ", ")
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, " / ")
}

func fatal(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "ansibleroll: "+format+"\n", a...)
	os.Exit(1)
}
