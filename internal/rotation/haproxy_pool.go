package rotation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

var (
	_ Pooler                       = (*HAProxy)(nil)
	_ interface{ PoolID() string } = (*HAProxy)(nil)
)

// backend is the one backend every instance of this method names; a pool
// view needs one.
func (h *HAProxy) backend() (string, error) {
	be := h.Servers[0].Backend
	for _, s := range h.Servers[1:] {
		if s.Backend != be {
			return "", configErrorf("haproxy: the servers are in different backends (%s, %s): a pool view needs one backend on every instance", be, s.Backend)
		}
	}
	return be, nil
}

// PoolID names the pool for pool locks and records: every instance by where
// it really listens, and the backend, e.g.
// "haproxy:unix:/run/haproxy/admin.sock#web". Two spellings of one balancer
// give one ID, as for Target.
func (h *HAProxy) PoolID() string {
	seen := map[string]bool{}
	var parts []string
	for _, s := range h.Servers {
		p := canonicalAddr(s.Addr) + "#" + s.Backend
		if !seen[p] {
			seen[p] = true
			parts = append(parts, p)
		}
	}
	sort.Strings(parts)
	return MethodHAProxy + ":" + strings.Join(parts, ",")
}

// haMember is one server of the backend on one instance.
type haMember struct {
	name, addr    string
	admin, status string // admin: ready | drain | maint; status: show stat's words
	opState       int    // srv_op_state: 0 stopped, 1 starting, 2 running, 3 stopping
	backup        bool
	scur, qcur    *float64
	weight        *float64 // show stat's weight: the effective weight
	tracks        string   // show stat's tracked: the server it tracks, BACKEND/SERVER
	leavesWith    []string // servers of this backend it tracks, directly or not
}

// Pool implements Pooler: the backend's servers, from `show servers state`
// (admin state, operational state) and `show stat` (status as HAProxy words
// it, current sessions and queue) on every instance. With several
// instances a server is in rotation only when it is in on all of them;
// sessions and queues are added up.
func (h *HAProxy) Pool(ctx context.Context) (Pool, error) {
	be, err := h.backend()
	if err != nil {
		return Pool{}, err
	}
	self := map[string]bool{}
	for _, s := range h.Servers {
		self[s.Server] = true
	}
	var order []string
	merged := map[string]*Member{}
	for i, s := range h.Servers {
		if i > 0 && h.sameInstance(i) {
			continue
		}
		ms, err := h.instanceMembers(ctx, s, be)
		if err != nil {
			return Pool{}, err
		}
		if i == 0 {
			merged = make(map[string]*Member, len(ms))
			order = make([]string, 0, len(ms))
		}
		for _, m := range ms {
			one := haToMember(m)
			one.Self = self[m.name]
			cur, ok := merged[m.name]
			if !ok {
				if i > 0 { // missing on an earlier instance: not in rotation there
					one.InRotation = false
					one.Detail += "; absent on " + h.Servers[0].Addr.String()
				}
				merged[m.name] = &one
				order = append(order, m.name)
				continue
			}
			mergeMember(cur, one, s.Addr.String())
		}
		if i == 0 {
			continue
		}
		here := make(map[string]bool, len(ms))
		for _, m := range ms {
			here[m.name] = true
		}
		for _, name := range order {
			if !here[name] {
				merged[name].InRotation = false
				merged[name].Detail += "; absent on " + s.Addr.String()
			}
		}
	}
	p := Pool{Name: be, Members: make([]Member, 0, len(order))}
	for _, name := range order {
		p.Members = append(p.Members, *merged[name])
	}
	return p, nil
}

// sameInstance: server i is on an instance an earlier server was read from.
func (h *HAProxy) sameInstance(i int) bool {
	c := canonicalAddr(h.Servers[i].Addr)
	for _, s := range h.Servers[:i] {
		if canonicalAddr(s.Addr) == c {
			return true
		}
	}
	return false
}

func haToMember(m haMember) Member {
	out := Member{Name: m.name, Addr: m.addr, Sessions: m.scur, Queue: m.qcur, Detail: m.status}
	switch m.admin {
	case haMaint:
		out.Admin = AdminDisabled
	case haDrain:
		out.Admin = AdminDrain
	default:
		out.Admin = AdminEnabled
	}
	switch {
	case m.admin == haMaint, strings.HasPrefix(m.status, "no check"):
		out.Health = HealthUnknown // HAProxy suspends the checks of a server in maintenance
	case m.opState == 0 || m.opState == 3 || strings.HasPrefix(m.status, "DOWN"):
		out.Health = HealthDown
	default:
		out.Health = HealthUp
	}
	// UP 1/3: a check failed, and two more take it down.
	out.Failing = out.Health == HealthUp && strings.HasPrefix(m.status, "UP ") && strings.Contains(m.status, "/")
	out.InRotation = out.Admin == AdminEnabled && out.Health != HealthDown && !m.backup
	if m.backup {
		out.Detail += " (backup: used only when every active server is down)"
	}
	if out.InRotation && m.weight != nil && *m.weight == 0 {
		// set server B/S weight 0, weight 0 in the configuration, an agent
		// answering 0%: UP and enabled, and sent no new traffic.
		out.InRotation = false
		out.Why = "weight 0: HAProxy sends it no new traffic"
	}
	if m.tracks != "" {
		out.Detail += " (tracks " + m.tracks + ")"
		out.LeavesWith = m.leavesWith
	}
	return out
}

// mergeMember folds another instance's view of a server into cur: the
// worse admin state and health win, sessions and queues add up.
var (
	adminRank  = map[string]int{AdminEnabled: 0, AdminDrain: 1, AdminDisabled: 2}
	healthRank = map[string]int{HealthUp: 0, HealthUnknown: 1, HealthDown: 2}
)

func mergeMember(cur *Member, o Member, where string) {
	rank, hrank := adminRank, healthRank
	if rank[o.Admin] > rank[cur.Admin] {
		cur.Admin = o.Admin
	}
	if hrank[o.Health] > hrank[cur.Health] {
		cur.Health = o.Health
	}
	cur.InRotation = cur.InRotation && o.InRotation
	cur.Failing = cur.Failing || o.Failing
	if o.Why != "" && !strings.Contains(cur.Why, o.Why) {
		cur.Why = strings.TrimPrefix(cur.Why+"; "+o.Why+" on "+where, "; ")
	}
	for _, w := range o.LeavesWith {
		if !slices.Contains(cur.LeavesWith, w) {
			cur.LeavesWith = append(cur.LeavesWith, w)
		}
	}
	cur.Sessions = addPtr(cur.Sessions, o.Sessions)
	cur.Queue = addPtr(cur.Queue, o.Queue)
	if o.Detail != "" && !strings.Contains(cur.Detail, o.Detail) {
		cur.Detail += "; " + o.Detail + " on " + where
	}
}

func addPtr(a, b *float64) *float64 {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	v := *a + *b
	return &v
}

// instanceMembers reads one instance's view of the backend.
func (h *HAProxy) instanceMembers(ctx context.Context, s LBServer, be string) ([]haMember, error) {
	out, err := h.cmd(ctx, s, "show servers state "+be)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.name(), err)
	}
	ms, err := serversState(out, be)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.name(), err)
	}
	stat, err := h.cmd(ctx, s, "show stat")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.name(), err)
	}
	if err := addStat(ms, stat, be); err != nil {
		return nil, fmt.Errorf("%s: %w", s.name(), err)
	}
	return ms, nil
}

// serversState reads every server of the backend from a `show servers
// state` answer (see adminState).
func serversState(out, backend string) ([]haMember, error) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[1], "# ") {
		if msg := strings.TrimSpace(out); strings.Contains(msg, "Can't find backend") {
			return nil, configErrorf("no backend %q", backend)
		} else if msg != "" && !strings.HasPrefix(msg, "1") {
			return nil, fmt.Errorf("runtime API answered %q", clipLine(msg))
		}
		return nil, configErrorf("backend %q has no servers", backend)
	}
	col := map[string]int{}
	for i, name := range strings.Fields(strings.TrimPrefix(lines[1], "# ")) {
		col[name] = i
	}
	ib, ok1 := col["be_name"]
	is, ok2 := col["srv_name"]
	ia, ok3 := col["srv_admin_state"]
	io, ok4 := col["srv_op_state"]
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return nil, errors.New("show servers state: no be_name, srv_name, srv_admin_state or srv_op_state column")
	}
	iaddr, hasAddr := col["srv_addr"]
	iport, hasPort := col["srv_port"]
	if !hasAddr || !hasPort {
		iaddr, iport = -1, -1
	}
	// The six fields cut out of each line (strings.Fields made a slice of
	// every field of every server: 5000 at a time).
	want := []int{ib, is, ia, io, iaddr, iport}
	f := make([]string, len(want))
	ms := make([]haMember, 0, len(lines)-2)
	for _, l := range lines[2:] {
		n := spaceFields(l, want, f)
		if n <= max(ib, is, ia, io) || f[0] != backend {
			continue
		}
		adm, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("srv_admin_state %q is not a number", f[2])
		}
		op, err := strconv.Atoi(f[3])
		if err != nil {
			return nil, fmt.Errorf("srv_op_state %q is not a number", f[3])
		}
		m := haMember{name: f[1], admin: haReady, opState: op}
		switch {
		case adm&admMaint != 0:
			m.admin = haMaint
		case adm&admDrain != 0:
			m.admin = haDrain
		}
		if addr, port := f[4], f[5]; iaddr >= 0 && n > max(iaddr, iport) && port != "0" && port != "-" {
			m.addr = addr + ":" + port
			if strings.Contains(addr, ":") {
				m.addr = "[" + addr + "]:" + port
			}
		}
		ms = append(ms, m)
	}
	if len(ms) == 0 {
		return nil, configErrorf("backend %q has no servers", backend)
	}
	return ms, nil
}

// addStat adds status, scur, qcur, bck, weight and tracked from a `show
// stat` CSV answer. Tracking is followed through every backend the answer
// lists: a server that tracks a server of another backend that tracks one
// of this backend leaves rotation with it too.
func addStat(ms []haMember, out, backend string) error {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "# ") {
		return fmt.Errorf("show stat: runtime API answered %q", clipLine(out))
	}
	col := map[string]int{}
	for i, name := range strings.Split(strings.TrimPrefix(lines[0], "# "), ",") {
		col[name] = i
	}
	ip, ok1 := col["pxname"]
	is, ok2 := col["svname"]
	ist, ok3 := col["status"]
	if !ok1 || !ok2 || !ok3 {
		return errors.New("show stat: no pxname, svname or status column")
	}
	num := func(f string) *float64 {
		if f == "" {
			return nil
		}
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return nil
		}
		return &v
	}
	tracked := map[string]string{}        // BACKEND/SERVER: the server it tracks
	at := make(map[string][]int, len(ms)) // server name: its members (one, unless HAProxy listed it twice)
	for k := range ms {
		at[ms[k].name] = append(at[ms[k].name], k)
	}
	it, hasTracked := col["tracked"]
	want := []int{ip, is, ist}
	if hasTracked {
		want = append(want, it)
	}
	got := make([]string, len(want))
	var mine []string // this backend's lines
	// One pass over every line (every backend's: the answer is all of
	// them), cutting out only the fields it needs.
	for rest := lines[1:]; len(rest) > 0; rest = rest[1:] {
		l := rest[0]
		n := csvFields(l, want, got)
		if n <= max(ip, is, ist) {
			continue
		}
		if hasTracked && n > it && got[3] != "" {
			tracked[got[0]+"/"+got[1]] = got[3]
		}
		if got[0] == backend {
			mine = append(mine, l)
		}
	}
	// This backend's lines: the fields of a member cut out the same way
	// (a column the answer lacks reads as empty, as past a line's end).
	want = []int{is, ist}
	for _, name := range []string{"scur", "qcur", "bck", "weight"} {
		i, ok := col[name]
		if !ok {
			i = -1
		}
		want = append(want, i)
	}
	got = make([]string, len(want))
	for _, l := range mine {
		csvFields(l, want, got)
		sv := got[0]
		for _, k := range at[sv] {
			ms[k].status = got[1]
			ms[k].scur = num(got[2])
			ms[k].qcur = num(got[3])
			if b := num(got[4]); b != nil && *b != 0 {
				ms[k].backup = true
			}
			ms[k].weight = num(got[5])
			if len(tracked) > 0 { // most pools track nothing: no key built
				ms[k].tracks = tracked[backend+"/"+sv]
				ms[k].leavesWith = trackChain(tracked, backend, sv)
			}
		}
	}
	return nil
}

// csvFields puts the fields at the indexes in want (any order) of a
// comma-separated line into got ("" past the line's end), without
// splitting the whole line, and returns how many fields it went through.
// An index below 0 (a column the answer lacks) reads as "".
func csvFields(line string, want []int, got []string) int {
	top := 0
	for _, i := range want {
		top = max(top, i)
	}
	for j := range got {
		got[j] = ""
	}
	i := 0
	for i <= top {
		end := strings.IndexByte(line, ',')
		field := line
		if end >= 0 {
			field = line[:end]
		}
		for j, w := range want {
			if w == i {
				got[j] = field
			}
		}
		i++
		if end < 0 {
			break
		}
		line = line[end+1:]
	}
	return i
}

// spaceFields is csvFields for a line of fields separated by runs of
// spaces and tabs (as strings.Fields reads `show servers state`): the
// fields at the indexes in want into got, "" for an index below 0 or past
// the line's end; it returns how many fields it went through.
func spaceFields(line string, want []int, got []string) int {
	top := 0
	for _, i := range want {
		top = max(top, i)
	}
	for j := range got {
		got[j] = ""
	}
	i, k := 0, 0
	for i <= top {
		for k < len(line) && isFieldSpace(line[k]) {
			k++
		}
		if k == len(line) {
			break
		}
		start := k
		for k < len(line) && !isFieldSpace(line[k]) {
			k++
		}
		for j, w := range want {
			if w == i {
				got[j] = line[start:k]
			}
		}
		i++
	}
	return i
}

func isFieldSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' }

// trackChain follows what backend/server tracks, and what that tracks, and
// returns the servers of backend on the way (HAProxy forbids loops; a loop
// read anyway ends the walk).
func trackChain(tracked map[string]string, backend, server string) []string {
	var out []string
	seen := map[string]bool{backend + "/" + server: true}
	for t := tracked[backend+"/"+server]; t != "" && !seen[t]; t = tracked[t] {
		seen[t] = true
		if be, sv, ok := strings.Cut(t, "/"); ok && be == backend {
			out = append(out, sv)
		}
	}
	return out
}
