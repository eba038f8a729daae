package testbed

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Farm is examples/ansible/farm.sh's farm: hosts web1..webN, each its own
// nginx, behind one HAProxy (backend "web", one server per host).
type Farm struct {
	Script, Dir, LBURL, StatsCSV, Sock string
	Hosts                              []string
}

// StartFarm runs `farm.sh up dir n` (script is examples/ansible/farm.sh).
func StartFarm(script, dir string, n int) (*Farm, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// nginx workers drop root privileges: they must be able to enter dir.
	for d := dir; d != "/" && d != "."; d = filepath.Dir(d) {
		if st, err := os.Stat(d); err == nil && st.Mode().Perm()&0o005 != 0o005 && st.Mode().Perm()&0o700 == 0o700 {
			_ = os.Chmod(d, st.Mode().Perm()|0o055)
		}
	}
	out, err := exec.Command(script, "up", dir, strconv.Itoa(n)).CombinedOutput()
	if err != nil {
		f := &Farm{Script: script, Dir: dir}
		f.Stop()
		return nil, fmt.Errorf("farm.sh up: %w\n%s", err, out)
	}
	env, err := os.ReadFile(filepath.Join(dir, "farm.env"))
	if err != nil {
		return nil, err
	}
	f := &Farm{Script: script, Dir: dir}
	for _, l := range strings.Split(string(env), "\n") {
		k, v, _ := strings.Cut(l, "=")
		v = strings.Trim(v, `"`)
		switch k {
		case "LB_URL":
			f.LBURL = v
		case "STATS_CSV":
			f.StatsCSV = v
		case "HAPROXY_SOCKET":
			f.Sock = v
		case "HOSTS":
			f.Hosts = strings.Fields(v)
		}
	}
	if len(f.Hosts) != n || f.LBURL == "" || f.Sock == "" {
		f.Stop()
		return nil, fmt.Errorf("farm.env incomplete: %s", env)
	}
	// Wait until HAProxy has every host UP (rise 2 x inter 200ms).
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, err := f.Status()
		up := 0
		for _, h := range f.Hosts {
			if st[h].Status == "UP" {
				up++
			}
		}
		if err == nil && up == n {
			return f, nil
		}
		if time.Now().After(deadline) {
			f.Stop()
			if err != nil {
				return nil, fmt.Errorf("farm: HAProxy's runtime API: %w", err)
			}
			return nil, fmt.Errorf("farm: hosts not UP in HAProxy after 15s: %v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop ends every process the farm started.
func (f *Farm) Stop() { _ = exec.Command(f.Script, "down", f.Dir).Run() }

// Inventory is the inventory farm.sh wrote.
func (f *Farm) Inventory() string { return filepath.Join(f.Dir, "inventory.ini") }

// Port is a host's nginx port.
func (f *Farm) Port(host string) string {
	b, _ := os.ReadFile(filepath.Join(f.Dir, host, "port"))
	return strings.TrimSpace(string(b))
}

// URL is an address on a host's own nginx.
func (f *Farm) URL(host, path string) string { return "http://127.0.0.1:" + f.Port(host) + path }

// Keepalive is a host's keep-alive page.
func (f *Farm) Keepalive(host string) string {
	return filepath.Join(f.Dir, host, "www", "keepalive.htm")
}

// Version is what a host's version file holds (what it serves at /version).
func (f *Farm) Version(host string) string {
	b, _ := os.ReadFile(filepath.Join(f.Dir, host, "www", "version"))
	return strings.TrimSpace(string(b))
}

// Stops are the times farm.sh stop was called for a host.
func (f *Farm) Stops(host string) []time.Time {
	b, _ := os.ReadFile(filepath.Join(f.Dir, host, "stops.log"))
	var ts []time.Time
	for _, l := range strings.Fields(string(b)) {
		if s, err := strconv.ParseFloat(l, 64); err == nil {
			sec := int64(s)
			ts = append(ts, time.Unix(sec, int64((s-float64(sec))*1e9)))
		}
	}
	return ts
}

// ServerStat is one server's row in HAProxy's `show stat`.
type ServerStat struct {
	Status string // UP, DOWN, DRAIN, MAINT, "UP 1/2", ...
	Scur   int    // current sessions
}

// InRotation says whether HAProxy would send this server new requests:
// admin-ready and up by its own health check. "UP 1/2" is a server still up
// whose last check failed (one more and it goes down): HAProxy still
// sends it requests. DRAIN, MAINT, NOLB, DOWN and "DOWN 1/2" (coming up)
// get none.
func (s ServerStat) InRotation() bool { return s.Status == "UP" || strings.HasPrefix(s.Status, "UP ") }

// Status reads every server of backend web from the runtime API.
func (f *Farm) Status() (map[string]ServerStat, error) {
	h := &HAProxy{Sock: f.Sock}
	out, err := h.Cmd("show stat")
	if err != nil {
		return nil, err
	}
	lines := strings.Split(out, "\n")
	cols := strings.Split(strings.TrimPrefix(lines[0], "# "), ",")
	idx := map[string]int{}
	for i, c := range cols {
		idx[c] = i
	}
	st := map[string]ServerStat{}
	for _, l := range lines[1:] {
		fs := strings.Split(l, ",")
		if len(fs) <= idx["status"] || fs[idx["pxname"]] != "web" || fs[idx["svname"]] == "BACKEND" || fs[idx["svname"]] == "FRONTEND" {
			continue
		}
		scur, _ := strconv.Atoi(fs[idx["scur"]])
		st[fs[idx["svname"]]] = ServerStat{Status: fs[idx["status"]], Scur: scur}
	}
	return st, nil
}

// Sample is the pool as HAProxy saw it at one moment.
type Sample struct {
	At      time.Time
	Servers map[string]ServerStat
}

// InRotation counts the servers in rotation in this sample.
func (s Sample) InRotation() int {
	n := 0
	for _, st := range s.Servers {
		if st.InRotation() {
			n++
		}
	}
	return n
}

// Sampler reads the pool from HAProxy every interval until stopped.
type Sampler struct {
	mu      sync.Mutex
	samples []Sample
	errs    int
	stop    context.CancelFunc
	done    chan struct{}
}

// SamplePool starts sampling; bounded by ctx and by max samples.
func (f *Farm) SamplePool(ctx context.Context, every time.Duration, max int) *Sampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &Sampler{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for range max {
			st, err := f.Status()
			s.mu.Lock()
			if err != nil {
				s.errs++
			} else {
				s.samples = append(s.samples, Sample{At: time.Now(), Servers: st})
			}
			s.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Stop ends the sampling and returns the samples and the failed reads.
func (s *Sampler) Stop() ([]Sample, int) {
	s.stop()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sample(nil), s.samples...), s.errs
}

// Playbook is one ansible-playbook run.
type Playbook struct {
	Cmd            *exec.Cmd
	Stdout, Stderr bytes.Buffer
	Start, End     time.Time
}

// PlaybookCmd prepares ansible-playbook against the farm's inventory (and
// extra inventories), with Ansible's JSON output on stdout. Ansible is told
// not to read any user configuration.
func (f *Farm) PlaybookCmd(ctx context.Context, playbook string, extraInventories []string, args ...string) *Playbook {
	a := []string{"-i", f.Inventory()}
	for _, inv := range extraInventories {
		a = append(a, "-i", inv)
	}
	a = append(append(a, args...), playbook)
	p := &Playbook{Cmd: exec.CommandContext(ctx, "ansible-playbook", a...)}
	cfg := filepath.Join(f.Dir, "ansible.cfg")
	_ = os.WriteFile(cfg, []byte("[defaults]\n"), 0o644)
	p.Cmd.Env = append(os.Environ(),
		"ANSIBLE_CONFIG="+cfg, "ANSIBLE_STDOUT_CALLBACK=json", "ANSIBLE_PIPELINING=1",
		"ANSIBLE_HOST_KEY_CHECKING=0", "ANSIBLE_RETRY_FILES_ENABLED=0", "ANSIBLE_NOCOLOR=1",
		"ANSIBLE_LOCAL_TEMP="+filepath.Join(f.Dir, "ansible-local"),
		"ANSIBLE_REMOTE_TEMP="+filepath.Join(f.Dir, "ansible-remote"))
	p.Cmd.Stdout, p.Cmd.Stderr = &p.Stdout, &p.Stderr
	return p
}

// Run runs the playbook to its end and returns its exit code (-1 if it
// could not start or was killed).
func (p *Playbook) Run() (int, error) {
	p.Start = time.Now()
	err := p.Cmd.Run()
	p.End = time.Now()
	if p.Cmd.ProcessState != nil {
		return p.Cmd.ProcessState.ExitCode(), nil
	}
	return -1, err
}

// LastBefore is, for each host, when the last request served by it ended
// before t.
func LastBefore(results []Result, host string, t time.Time) time.Time {
	var last time.Time
	for _, r := range results {
		if r.Backend == host && !r.End.After(t) && r.End.After(last) {
			last = r.End
		}
	}
	return last
}
