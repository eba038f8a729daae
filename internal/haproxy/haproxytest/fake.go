// Package haproxytest is a fake HAProxy runtime API for unit tests: it
// answers show servers state, show stat (all of it, or one proxy's or one
// server's rows: show stat IID|PROXY TYPE SID) and set server ... state the
// way HAProxy 2.6 does, for a table of servers held in memory.
package haproxytest

import (
	"bufio"
	"fmt"
	"net"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Server is one server's state in the fake.
type Server struct {
	Admin      int // srv_admin_state bits: 0x01 maint, 0x08 drain
	Scur, Qcur int
	Down       bool // failing its health checks: srv_op_state 0, status DOWN
	Stot       int  // sessions served in all
	// Sid is the server's id (0: its place in the sorted table, from 1);
	// a reload that renumbers servers changes it.
	Sid int
}

// Fake is a runtime API on a unix socket (TCP on Windows).
type Fake struct {
	Addr string // socket path, or tcp:host:port
	mu   sync.Mutex
	srv  map[string]*Server // "backend/server"
	// FailSet makes every set server command answer this text.
	FailSet string
	// Commands received, in order.
	Commands []string
	ln       net.Listener
}

// New starts a fake with the given servers ("backend/server") all ready.
func New(t testing.TB, servers ...string) *Fake {
	t.Helper()
	var (
		ln   net.Listener
		err  error
		addr string
	)
	if runtime.GOOS == "windows" {
		// Wine has no AF_UNIX; HAProxy's TCP stats socket is the same protocol.
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err == nil {
			addr = "tcp:" + ln.Addr().String()
		}
	} else {
		ln, err = net.Listen("unix", filepath.Join(t.TempDir(), "admin.sock"))
		if err == nil {
			addr = ln.Addr().String()
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	f := &Fake{Addr: addr, srv: map[string]*Server{}, ln: ln}
	for _, s := range servers {
		f.srv[s] = &Server{}
	}
	go f.serve()
	t.Cleanup(func() { _ = ln.Close() })
	return f
}

// Get returns a copy of a server's state.
func (f *Fake) Get(name string) Server {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.srv[name]
}

// Set replaces a server's state.
func (f *Fake) Set(name string, s Server) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.srv[name] = &s
}

func (f *Fake) serve() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil {
				return
			}
			_, _ = c.Write([]byte(f.answer(strings.TrimSpace(line))))
		}()
	}
}

func (f *Fake) names() []string {
	var out []string
	for k := range f.srv {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (f *Fake) answer(cmd string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Commands = append(f.Commands, cmd)
	w := strings.Fields(cmd)
	switch {
	case len(w) == 4 && w[0] == "show" && w[1] == "servers" && w[2] == "state":
		var b strings.Builder
		found := false
		b.WriteString("1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n")
		iid := f.iid(w[3])
		for i, n := range f.names() {
			be, sv, _ := strings.Cut(n, "/")
			if be != w[3] {
				continue
			}
			found = true
			op := 2
			if f.srv[n].Down {
				op = 0
			}
			fmt.Fprintf(&b, "%d %s %d %s 127.0.0.1 %d %d 1 1 10 6 3 4 6 0 0 0 - 8080 - 0 0 - - 0\n", iid, be, f.sid(n, i), sv, op, f.srv[n].Admin)
		}
		if !found {
			return "Can't find backend.\n"
		}
		return b.String() + "\n"
	case len(w) == 5 && w[0] == "set" && w[1] == "server" && w[3] == "state":
		if f.FailSet != "" {
			return f.FailSet + "\n"
		}
		s, ok := f.srv[w[2]]
		if !ok {
			return "No such server.\n"
		}
		switch w[4] {
		case "ready":
			s.Admin = 0
		case "drain":
			s.Admin = 0x08
		case "maint":
			s.Admin = 0x01
		default:
			return "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n"
		}
		return "\n"
	case cmd == "show stat":
		return f.stat("", -1)
	case len(w) == 5 && w[0] == "show" && w[1] == "stat" && w[3] == "4":
		sid, err := strconv.Atoi(w[4])
		if err != nil {
			return "Integer expected.\n"
		}
		return f.stat(w[2], sid)
	}
	return "Unknown command: '" + cmd + "'\n"
}

// iid is a backend's proxy id: 3 for the first in sorted order, then 4, ...
func (f *Fake) iid(be string) int {
	id, seen := 3, map[string]bool{}
	for _, n := range f.names() {
		b, _, _ := strings.Cut(n, "/")
		if b == be {
			return id
		}
		if !seen[b] {
			seen[b] = true
			id++
		}
	}
	return id
}

func (f *Fake) sid(name string, i int) int {
	if s := f.srv[name].Sid; s != 0 {
		return s
	}
	return i + 1
}

// stat answers show stat: every row (px ""), or proxy px's (an id or a
// name) server rows, all of them (sid -1) or the one with that id.
func (f *Fake) stat(px string, sid int) string {
	var b strings.Builder
	b.WriteString("# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,\n")
	iids := map[string]int{}
	for i, n := range f.names() {
		be, sv, _ := strings.Cut(n, "/")
		iid, ok := iids[be]
		if !ok {
			iid = f.iid(be)
			iids[be] = iid
		}
		if px != "" && px != be && px != strconv.Itoa(iid) || sid >= 0 && sid != f.sid(n, i) {
			continue
		}
		status := "UP"
		switch {
		case f.srv[n].Admin&0x01 != 0:
			status = "MAINT"
		case f.srv[n].Down:
			status = "DOWN"
		case f.srv[n].Admin&0x08 != 0:
			status = "DRAIN"
		}
		fmt.Fprintf(&b, "%s,%s,%d,0,%d,3,,%d,100,200,,0,,0,0,0,0,%s,1,1,0,0,0,10,0,,1,%d,%d,\n", be, sv, f.srv[n].Qcur, f.srv[n].Scur, f.srv[n].Stot, status, iid, f.sid(n, i))
	}
	return b.String() + "\n"
}
