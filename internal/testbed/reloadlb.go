//go:build !windows

package testbed

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ReloadableHAProxy is a real HAProxy (backend "web", one server per
// backend, named after it) that can be reloaded as a deploy does it: a new
// process takes the listening sockets over from the old one (-x, seamless)
// and the old one finishes what it has in flight (-sf). Reload(true) saves
// the servers' state to the server-state-file first and the new process
// loads it (what a packaged reload with load-server-state-from-file does);
// Reload(false) is a restart without it: every server starts ready again,
// whatever the runtime API had set. Every answer carries X-Server, the
// server HAProxy chose (also on the errors HAProxy makes itself).
type ReloadableHAProxy struct {
	Dir, Addr, Sock, StateFile string
	Check                      Check

	mu    sync.Mutex
	cur   *Proc
	old   []*Proc
	errs  *syncBuffer
	confs [2]string // without and with load-server-state-from-file
}

// ReloadServer is one server of the backend.
type ReloadServer struct{ Name, Addr string }

// StartReloadableHAProxy starts the balancer in dir and waits until every
// server is UP.
func StartReloadableHAProxy(dir string, c Check, servers ...ReloadServer) (*ReloadableHAProxy, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	h := &ReloadableHAProxy{Dir: dir, Sock: filepath.Join(dir, "admin.sock"), StateFile: filepath.Join(dir, "servers.state"), Check: c, errs: &syncBuffer{}}
	var err error
	if h.Addr, err = FreeAddr(); err != nil {
		return nil, err
	}
	var sv strings.Builder
	for _, s := range servers {
		fmt.Fprintf(&sv, "  server %s %s check\n", s.Name, s.Addr)
	}
	for i, load := range []string{"", "  load-server-state-from-file global\n"} {
		conf := fmt.Sprintf(`global
  stats socket %[1]s mode 600 level admin expose-fd listeners
  stats timeout 10s
  maxconn 2000
  server-state-file %[2]s

defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  retries 0
  no option redispatch
  option http-server-close
%[3]s
frontend fe
  bind %[4]s
  default_backend web

backend web
  balance roundrobin
  option httpchk GET /keepalive.htm
  http-after-response set-header X-Server %%s
  default-server inter %[5]dms fall %[6]d rise %[7]d
%[8]s`, h.Sock, h.StateFile, load, h.Addr, c.Inter.Milliseconds(), c.Fall, c.Rise, sv.String())
		h.confs[i] = filepath.Join(dir, fmt.Sprintf("haproxy-%d.cfg", i))
		if err := os.WriteFile(h.confs[i], []byte(conf), 0o644); err != nil {
			return nil, err
		}
	}
	if err := h.spawn(false, 0); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, err := h.ServersState()
		up := 0
		for _, s := range st {
			if s.InRotation() {
				up++
			}
		}
		if err == nil && up == len(servers) {
			return h, nil
		}
		if time.Now().After(deadline) {
			h.Stop()
			if err != nil {
				return nil, fmt.Errorf("haproxy: runtime API: %w", err)
			}
			return nil, fmt.Errorf("haproxy: servers not UP in 15s: %v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (h *ReloadableHAProxy) spawn(keepState bool, oldPID int) error {
	bin, err := Find("haproxy")
	if err != nil {
		return err
	}
	conf := h.confs[0]
	if keepState {
		conf = h.confs[1]
	}
	args := []string{"-db", "-f", conf}
	if oldPID != 0 {
		args = append(args, "-x", h.Sock, "-sf", strconv.Itoa(oldPID))
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = h.errs, h.errs
	p, err := start(cmd)
	if err != nil {
		return err
	}
	// Ready when the runtime socket answers from the new process.
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, err := h.Cmd("show info")
		if err == nil && strings.Contains(out, "\nPid: "+strconv.Itoa(p.Pid())+"\n") {
			break
		}
		select {
		case <-p.exited:
			return fmt.Errorf("haproxy exited at start: %s", h.errs.String())
		default:
		}
		if time.Now().After(deadline) {
			p.Kill()
			return fmt.Errorf("haproxy: new process not answering in 15s: %s", h.errs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.mu.Lock()
	if h.cur != nil {
		h.old = append(h.old, h.cur)
	}
	h.cur = p
	h.mu.Unlock()
	return nil
}

// Reload replaces the running process with a new one; keepState saves the
// servers' state for it first. It returns once the new process answers on
// the runtime socket.
func (h *ReloadableHAProxy) Reload(keepState bool) error {
	h.mu.Lock()
	oldPID := h.cur.Pid()
	h.mu.Unlock()
	if keepState {
		st, err := h.Cmd("show servers state")
		if err != nil {
			return err
		}
		tmp := h.StateFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(st), 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, h.StateFile); err != nil {
			return err
		}
	} else {
		_ = os.Remove(h.StateFile)
	}
	return h.spawn(keepState, oldPID)
}

// Pid is the running process's id.
func (h *ReloadableHAProxy) Pid() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cur.Pid()
}

// URL is an address on the frontend.
func (h *ReloadableHAProxy) URL(p string) string { return "http://" + h.Addr + p }

// Cmd sends one runtime API command to the real socket.
func (h *ReloadableHAProxy) Cmd(cmd string) (string, error) {
	return (&HAProxy{Sock: h.Sock}).Cmd(cmd)
}

// Log is what the processes printed (warnings, alerts), the last 4 KB.
func (h *ReloadableHAProxy) Log() string {
	s := h.errs.String()
	if len(s) > 4096 {
		s = s[len(s)-4096:]
	}
	return s
}

// Stop kills every process this balancer started.
func (h *ReloadableHAProxy) Stop() {
	h.mu.Lock()
	ps := append([]*Proc{h.cur}, h.old...)
	h.mu.Unlock()
	for _, p := range ps {
		if p != nil {
			p.Kill()
		}
	}
}

// ServerState is one server's row of `show servers state`.
type ServerState struct {
	Name    string
	OpState int // srv_op_state: 0 stopped, 1 starting, 2 running, 3 stopping
	Admin   int // srv_admin_state bits: 0x01 forced maint, 0x08 forced drain, ...
	Weight  int // srv_uweight, the weight the runtime API sets
}

// InRotation says whether HAProxy sends this server new requests: running
// by its checks, no maintenance or drain bit, and a weight above 0.
func (s ServerState) InRotation() bool {
	return s.OpState == 2 && !s.AdminOut() && s.Weight > 0
}

// AdminOut says whether the server is out by an administrative setting
// (maintenance or drain, however set, or weight 0): what a drain sets, as
// opposed to a failed health check.
func (s ServerState) AdminOut() bool {
	return s.Admin&(0x01|0x02|0x04|0x08|0x10|0x20) != 0 || s.Weight == 0
}

func (s ServerState) String() string {
	return fmt.Sprintf("%s(op %d, admin 0x%x, weight %d)", s.Name, s.OpState, s.Admin, s.Weight)
}

// ServersState reads backend web from `show servers state web`.
func (h *ReloadableHAProxy) ServersState() (map[string]ServerState, error) {
	out, err := h.Cmd("show servers state web")
	if err != nil {
		return nil, err
	}
	return ParseServersState(out)
}

// ParseServersState reads the rows of backend web from `show servers state`.
func ParseServersState(out string) (map[string]ServerState, error) {
	st := map[string]ServerState{}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 8 || f[1] != "web" {
			continue
		}
		s := ServerState{Name: f[3]}
		var err error
		if s.OpState, err = strconv.Atoi(f[5]); err != nil {
			return nil, fmt.Errorf("show servers state: %q", l)
		}
		if s.Admin, err = strconv.Atoi(f[6]); err != nil {
			return nil, fmt.Errorf("show servers state: %q", l)
		}
		if s.Weight, err = strconv.Atoi(f[7]); err != nil {
			return nil, fmt.Errorf("show servers state: %q", l)
		}
		st[s.Name] = s
	}
	if len(st) == 0 {
		return nil, fmt.Errorf("show servers state: no server of web in %q", out)
	}
	return st, nil
}
