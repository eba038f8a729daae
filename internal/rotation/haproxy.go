package rotation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/drain-cli/drain/internal/haproxy"
)

// MethodHAProxy is the type of the HAProxy method, and the record's method
// when only HAProxy servers were changed.
const MethodHAProxy = "haproxy"

func init() {
	Register(Type{
		Name:    MethodHAProxy,
		Syntax:  "ADDR#BACKEND/SERVER",
		Example: "haproxy:/run/haproxy/admin.sock#web/app1",
		Summary: "runtime API: set server BACKEND/SERVER state drain (in: ready); ADDR is a socket path or host:port; one per load balancer",
		New: func(target string, opts Options) (Method, error) {
			return NewHAProxy([]string{target}, opts.Timeout)
		},
		Pool: haproxyPoolTarget,
	})
}

// haServer is one server on one HAProxy instance as out found it: the undo
// data (the release before kept the same list in its records).
type haServer struct {
	Addr    string `json:"addr"`
	Backend string `json:"backend"`
	Server  string `json:"server"`
	Before  string `json:"before"` // ready | drain | maint
	Changed bool   `json:"changed"`
}

// haUndo is the HAProxy method's undo data.
type haUndo struct {
	HAProxy []haServer `json:"haproxy"`
}

// Admin states of an HAProxy server, as drain names them.
const (
	haReady = "ready"
	haDrain = "drain"
	haMaint = "maint"
)

// srv_admin_state bits (HAProxy include/haproxy/server-t.h).
const (
	admMaint = 0x01 | 0x02 | 0x04 | 0x20 // forced, inherited, config, resolution
	admDrain = 0x08 | 0x10               // forced, inherited
)

// LBServer is one server on one HAProxy instance: ADDR#BACKEND/SERVER.
type LBServer struct {
	Raw     string
	Addr    haproxy.Addr
	Backend string
	Server  string
}

func (s LBServer) name() string { return "haproxy " + s.Raw }

// ParseLBServer reads ADDR#BACKEND/SERVER.
func ParseLBServer(raw string) (LBServer, error) {
	raw = strings.TrimSpace(raw)
	i := strings.LastIndex(raw, "#")
	if i < 0 {
		return LBServer{}, configErrorf("--haproxy %q: want ADDR#BACKEND/SERVER, e.g. /run/haproxy/admin.sock#web/app1", raw)
	}
	addr, err := haproxy.ParseAddr(raw[:i])
	if err != nil {
		return LBServer{}, configErrorf("--haproxy %q: %w", raw, err)
	}
	be, srv, ok := strings.Cut(raw[i+1:], "/")
	if !ok || be == "" || srv == "" || strings.ContainsAny(be+srv, " \t/") {
		return LBServer{}, configErrorf("--haproxy %q: want BACKEND/SERVER after #, e.g. web/app1", raw)
	}
	return LBServer{Raw: raw, Addr: addr, Backend: be, Server: srv}, nil
}

// HAProxy takes a server out of rotation on one or more HAProxy instances
// through the runtime API: out is `set server B/S state drain` (no new
// traffic, health checks go on), in is `state ready`. Each change is read
// back. Out is all-or-nothing: if one instance fails, the ones already
// changed are put back.
type HAProxy struct {
	Servers []LBServer
	Timeout time.Duration // one runtime API command

	key  string   // see NewHAProxy, without the type
	left []string // what the last In left as it was, and why
}

// NewHAProxy builds the rotator from --haproxy values.
func NewHAProxy(specs []string, timeout time.Duration) (*HAProxy, error) {
	if len(specs) == 0 {
		return nil, configErrorf("no --haproxy server")
	}
	h := &HAProxy{Timeout: timeout}
	seen := map[string]bool{}
	for _, s := range specs {
		srv, err := ParseLBServer(s)
		if err != nil {
			return nil, err
		}
		key := srv.Addr.String() + "#" + srv.Backend + "/" + srv.Server
		if seen[key] {
			return nil, configErrorf("--haproxy %q given twice", s)
		}
		seen[key] = true
		h.Servers = append(h.Servers, srv)
	}
	// The key for records and locks names each instance by where it
	// really listens, so that two spellings of one load balancer (a
	// symlinked socket path, localhost and 127.0.0.1) are one server.
	parts := make([]string, len(h.Servers))
	for i, s := range h.Servers {
		parts[i] = canonicalAddr(s.Addr) + "#" + s.Backend + "/" + s.Server
	}
	sort.Strings(parts)
	h.key = strings.Join(parts, ",")
	return h, nil
}

// Type implements Method.
func (h *HAProxy) Type() string { return MethodHAProxy }

// Target implements Method: every instance by its resolved address.
func (h *HAProxy) Target() string { return h.key }

// v1Key: the release before keyed its records "haproxy:" and the instances,
// resolved (and before that as typed), joined by ",".
func (h *HAProxy) v1Key() (prefix, canonical, typed string) {
	parts := make([]string, len(h.Servers))
	for i, s := range h.Servers {
		parts[i] = s.Raw
	}
	return MethodHAProxy + ":", h.key, strings.Join(parts, ",")
}

// fromV1 picks this method's instances out of the list a record of the
// release before kept (by address as typed, else as resolved).
func (h *HAProxy) fromV1(old json.RawMessage) (json.RawMessage, bool, bool) {
	var rec haUndo
	if err := json.Unmarshal(old, &rec); err != nil || len(rec.HAProxy) == 0 {
		return nil, false, false
	}
	var u haUndo
	changed := false
	for _, s := range h.Servers {
		for _, o := range rec.HAProxy {
			if o.Backend != s.Backend || o.Server != s.Server {
				continue
			}
			if a, err := haproxy.ParseAddr(o.Addr); o.Addr == s.Addr.String() || err == nil && canonicalAddr(a) == canonicalAddr(s.Addr) {
				u.HAProxy = append(u.HAProxy, o)
				changed = changed || o.Changed
				break
			}
		}
	}
	if len(u.HAProxy) == 0 {
		return nil, false, false
	}
	b, err := json.Marshal(u)
	if err != nil {
		return nil, false, false
	}
	return b, changed, true
}

// canonicalAddr resolves a runtime API address: a socket path through
// symlinks, a host name to the lowest IPv4 address it resolves to (else
// the lowest IPv6), within a second; what cannot be resolved stays as
// given (lower-cased host).
func canonicalAddr(a haproxy.Addr) string {
	if a.Network == "unix" {
		p := a.Address
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		return "unix:" + p
	}
	host, port, err := net.SplitHostPort(a.Address)
	if err != nil {
		return a.String()
	}
	return a.Network + ":" + net.JoinHostPort(canonicalHost(host), port)
}

func canonicalHost(host string) string {
	if ip := net.ParseIP(host); ip != nil {
		if v4 := ip.To4(); v4 != nil {
			return v4.String()
		}
		return ip.String()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return strings.ToLower(host)
	}
	for i := range addrs {
		addrs[i] = addrs[i].Unmap()
	}
	slices.SortFunc(addrs, func(a, b netip.Addr) int {
		if a.Is4() != b.Is4() {
			if a.Is4() {
				return -1
			}
			return 1
		}
		return a.Compare(b)
	})
	return addrs[0].String()
}

func (h *HAProxy) cmd(ctx context.Context, s LBServer, cmd string) (string, error) {
	if h.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.Timeout)
		defer cancel()
	}
	return haproxy.Command(ctx, s.Addr, cmd)
}

// admin reads the server's admin state (ready, drain, maint).
func (h *HAProxy) admin(ctx context.Context, s LBServer) (string, error) {
	out, err := h.cmd(ctx, s, "show servers state "+s.Backend)
	if err != nil {
		return "", fmt.Errorf("%s: %w", s.name(), err)
	}
	st, err := adminState(out, s.Backend, s.Server)
	if err != nil {
		return "", fmt.Errorf("%s: %w", s.name(), err)
	}
	return st, nil
}

// adminState finds the server in a `show servers state` answer: a version
// line, a "# be_id be_name srv_id srv_name ..." header, one row per server.
func adminState(out, backend, server string) (string, error) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[1], "# ") {
		if msg := strings.TrimSpace(out); strings.Contains(msg, "Can't find backend") {
			return "", configErrorf("no backend %q", backend)
		} else if msg != "" && !strings.HasPrefix(msg, "1") {
			return "", fmt.Errorf("runtime API answered %q", clipLine(msg))
		}
		return "", configErrorf("no server %s/%s", backend, server)
	}
	col := map[string]int{}
	for i, name := range strings.Fields(strings.TrimPrefix(lines[1], "# ")) {
		col[name] = i
	}
	ib, ok1 := col["be_name"]
	is, ok2 := col["srv_name"]
	ia, ok3 := col["srv_admin_state"]
	if !ok1 || !ok2 || !ok3 {
		return "", errors.New("show servers state: no be_name, srv_name or srv_admin_state column")
	}
	// The three fields cut out of each line (the answer lists every server
	// of the backend: strings.Fields on each was most of an out's CPU at
	// 5000 servers).
	want := []int{ib, is, ia}
	f := make([]string, len(want))
	var names []string
	for _, l := range lines[2:] {
		if n := spaceFields(l, want, f); n <= max(ib, is, ia) || f[0] != backend {
			continue
		}
		if f[1] != server {
			names = append(names, f[1])
			continue
		}
		v, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			return "", fmt.Errorf("srv_admin_state %q is not a number", f[2])
		}
		switch {
		case v&admMaint != 0:
			return haMaint, nil
		case v&admDrain != 0:
			return haDrain, nil
		}
		return haReady, nil
	}
	if len(names) > 0 {
		return "", configErrorf("no server %q in backend %q (it has: %s)%s", server, backend, someNames(names), nearestName(server, names))
	}
	return "", configErrorf("no server %s/%s", backend, server)
}

func clipLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}

// set changes the admin state and reads it back.
func (h *HAProxy) set(ctx context.Context, s LBServer, want string) error {
	out, err := h.cmd(ctx, s, fmt.Sprintf("set server %s/%s state %s", s.Backend, s.Server, want))
	if err == nil {
		err = haproxy.Answer(out)
	}
	if err != nil {
		return fmt.Errorf("%s: set state %s: %w", s.name(), want, err)
	}
	got, err := h.admin(ctx, s)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("%s: state is %s after setting %s", s.name(), got, want)
	}
	return nil
}

// states reads every instance; the first failure is the error.
func (h *HAProxy) states(ctx context.Context) ([]string, error) {
	out := make([]string, len(h.Servers))
	for i, s := range h.Servers {
		st, err := h.admin(ctx, s)
		if err != nil {
			return nil, err
		}
		out[i] = st
	}
	return out, nil
}

// Status implements Rotator: IN when every instance has the server ready,
// OUT when none does (drain or maint); mixed states are an error that
// names each instance's state.
func (h *HAProxy) Status(ctx context.Context) (Status, error) {
	sts, err := h.states(ctx)
	if err != nil {
		return Unknown, err
	}
	ready := 0
	for _, st := range sts {
		if st == haReady {
			ready++
		}
	}
	switch ready {
	case len(sts):
		return In, nil
	case 0:
		return Out, nil
	}
	parts := make([]string, len(sts))
	for i, st := range sts {
		parts[i] = h.Servers[i].Raw + " " + st
	}
	return Unknown, fmt.Errorf("%w: haproxy %s", ErrMixed, strings.Join(parts, ", "))
}

// Out implements Method: drain on every instance where the server is ready.
func (h *HAProxy) Out(ctx context.Context, save func(undo any) error) (bool, error) {
	sts, err := h.states(ctx)
	if err != nil {
		return false, err
	}
	var todo []int
	var u haUndo
	for i, st := range sts {
		s := h.Servers[i]
		u.HAProxy = append(u.HAProxy, haServer{Addr: s.Addr.String(), Backend: s.Backend, Server: s.Server, Before: st, Changed: st == haReady})
		if st == haReady {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return false, nil
	}
	if err := save(u); err != nil {
		return false, err
	}
	var done []int
	for _, i := range todo {
		if err := h.set(ctx, h.Servers[i], haDrain); err != nil {
			return false, h.rollback(ctx, done, err)
		}
		done = append(done, i)
	}
	return true, nil
}

// rollback puts back the servers already drained, newest first, and returns
// cause with what became of them.
func (h *HAProxy) rollback(ctx context.Context, done []int, cause error) error {
	if len(done) == 0 {
		return cause
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	var back, failed []string
	for j := len(done) - 1; j >= 0; j-- {
		s := h.Servers[done[j]]
		if err := h.set(ctx, s, haReady); err != nil {
			failed = append(failed, err.Error())
		} else {
			back = append(back, s.Raw)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%w; ROLLBACK FAILED, server is out on some instances: %s", cause, strings.Join(failed, "; "))
	}
	return fmt.Errorf("%w; put back to ready on %s", cause, strings.Join(back, ", "))
}

// In implements Method: ready on every instance where the server is not,
// except those the undo data says out found already out and left alone (put
// in maint by hand, say): drain puts back only what it changed, and says so.
// Without a record, in means back in rotation everywhere. Every instance is
// tried; the error names each one that failed.
func (h *HAProxy) In(ctx context.Context, undo json.RawMessage) (bool, error) {
	h.left = nil
	before := map[string]haServer{}
	if len(undo) > 0 && string(undo) != "null" {
		var rec haUndo
		if err := json.Unmarshal(undo, &rec); err != nil {
			return false, fmt.Errorf("the record of %s is unreadable: %w", h.Servers[0].name(), err)
		}
		if err := h.checkUndo(rec); err != nil {
			return false, err
		}
		for _, s := range rec.HAProxy {
			before[s.Addr+"#"+s.Backend+"/"+s.Server] = s
		}
	}
	changed := false
	var failed []error
	for _, s := range h.Servers {
		st, err := h.admin(ctx, s)
		if err != nil {
			failed = append(failed, err)
			continue
		}
		if st == haReady {
			continue
		}
		if b, ok := before[s.Addr.String()+"#"+s.Backend+"/"+s.Server]; ok && !b.Changed {
			h.left = append(h.left, fmt.Sprintf("%s left in %s: it was already %s before out, so drain did not change it", s.name(), st, b.Before))
			continue
		}
		if st == haDrain && awaitsCheck(ctx) {
			h.awaitCheck(ctx, s)
		}
		if err := h.set(ctx, s, haReady); err != nil {
			failed = append(failed, err)
			continue
		}
		changed = true
	}
	if len(failed) > 0 {
		return changed, joinErrs(failed)
	}
	return changed, nil
}

// awaitCheck makes HAProxy wait for a check made after the in before it
// sends the server new requests again: a server put back from drain is UP
// at once, on checks that may all predate a restart (HAProxy's show stat
// and show servers state show nothing that moves on a passing check: no
// check counter, no check time). While the server is still drained, UP and
// passing every check (status "DRAIN", no "n/m"), health checked and not
// tracking another server, `set server B/S health stopping` puts it in
// NOLB: no new traffic, and HAProxy's next passing check sets it running
// again (a failing one takes it down, fall checks later, as before). So
// HAProxy itself, and in --wait-healthy reading its view, trust only that
// check, which comes within one check interval. A server down or failing
// is left as it is: its rise checks bring it up. An HAProxy that refuses
// the command changes nothing; in --wait-healthy then falls back to its
// fixed wait.
func (h *HAProxy) awaitCheck(ctx context.Context, s LBServer) {
	out, err := h.cmd(ctx, s, "show stat "+s.Backend+" 4 -1")
	if err != nil {
		return
	}
	row, ok := statRow(out, s.Backend, s.Server)
	if !ok || row["status"] != "DRAIN" || row["check_status"] == "" || row["tracked"] != "" {
		return
	}
	_, _ = h.cmd(ctx, s, fmt.Sprintf("set server %s/%s health stopping", s.Backend, s.Server))
}

// statRow is the server's row of a `show stat` CSV answer, by column.
func statRow(out, backend, server string) (map[string]string, bool) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "# ") {
		return nil, false
	}
	cols := strings.Split(strings.TrimPrefix(lines[0], "# "), ",")
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		if len(f) < 2 || f[0] != backend || f[1] != server {
			continue
		}
		row := make(map[string]string, len(cols))
		for i, c := range cols {
			if i < len(f) {
				row[c] = f[i]
			}
		}
		return row, true
	}
	return nil, false
}

// Notes implements Noter: the instances the last In left as they were.
func (h *HAProxy) Notes() []string { return h.left }

// Parts implements Parter: where the server stands on each instance.
func (h *HAProxy) Parts(ctx context.Context) ([]Part, error) {
	sts, err := h.states(ctx)
	if err != nil {
		return nil, err
	}
	parts := make([]Part, len(sts))
	for i, st := range sts {
		parts[i] = Part{Target: h.Servers[i].name(), State: st}
	}
	return parts, nil
}
