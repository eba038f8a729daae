package rotation

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/drain-cli/drain/internal/haproxy"
)

// HAProxy's pool view: the servers of a backend on one instance, from
// `show servers state BACKEND` (admin and operational state) and `show stat`
// (check status, current sessions, queue).

func slicesHas(ms []Member, name string) bool {
	for _, m := range ms {
		if m.Name == name {
			return true
		}
	}
	return false
}

// Pool implements Pooler: the backend of the method's (first) instance, in
// `show servers state` order, its server marked Self (none when Server is
// empty: a pool target).
func (h *HAProxy) Pool(ctx context.Context) (Pool, error) {
	if h.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.Timeout)
		defer cancel()
	}
	p := struct {
		Addr          haproxy.Addr
		Backend, Self string
	}{h.Servers[0].Addr, h.Servers[0].Backend, h.Servers[0].Server}
	name := "haproxy " + p.Addr.String() + "#" + p.Backend
	states, err := haproxy.Command(ctx, p.Addr, "show servers state "+p.Backend)
	if err != nil {
		return Pool{}, fmt.Errorf("%s: %w", name, err)
	}
	rows, err := serverStates(states, p.Backend)
	if err != nil {
		return Pool{}, fmt.Errorf("%s: %w", name, err)
	}
	stat, err := haproxy.Command(ctx, p.Addr, "show stat")
	if err != nil {
		return Pool{}, fmt.Errorf("%s: %w", name, err)
	}
	stats, err := statRows(stat, p.Backend)
	if err != nil {
		return Pool{}, fmt.Errorf("%s: %w", name, err)
	}
	pool := Pool{Name: p.Backend}
	for _, r := range rows {
		m := Member{Name: r.name, Addr: r.addr, Admin: AdminEnabled, Health: HealthUp, Self: r.name == p.Self}
		switch {
		case r.admin&admMaint != 0:
			m.Admin = AdminDisabled
		case r.admin&admDrain != 0:
			m.Admin = AdminDrain
		}
		if r.op != 2 { // SRV_ST_RUNNING
			m.Health = HealthDown
		}
		if s, ok := stats[r.name]; ok {
			m.Detail = s.status
			m.Sessions, m.Queue = s.scur, s.qcur
			switch {
			case s.status == "no check":
				m.Health = HealthUnknown
			case strings.HasPrefix(s.status, "DOWN"):
				m.Health = HealthDown
			}
		}
		m.InRotation = m.Admin == AdminEnabled && m.Health != HealthDown
		pool.Members = append(pool.Members, m)
	}
	if p.Self != "" && !slicesHas(pool.Members, p.Self) {
		return Pool{}, fmt.Errorf("%w: %s has no server %q", ErrConfig, name, p.Self)
	}
	return pool, nil
}

type stateRow struct {
	name, addr string
	admin, op  uint64
}

// serverStates reads a `show servers state BACKEND` answer.
func serverStates(out, backend string) ([]stateRow, error) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[1], "# ") {
		if msg := strings.TrimSpace(out); strings.Contains(msg, "Can't find backend") {
			return nil, fmt.Errorf("%w: no backend %q", ErrConfig, backend)
		} else if msg != "" && !strings.HasPrefix(msg, "1") {
			return nil, fmt.Errorf("runtime API answered %q", clipLine(msg))
		}
		return nil, fmt.Errorf("%w: no servers in backend %q", ErrConfig, backend)
	}
	col := map[string]int{}
	for i, name := range strings.Fields(strings.TrimPrefix(lines[1], "# ")) {
		col[name] = i
	}
	need := []string{"be_name", "srv_name", "srv_addr", "srv_op_state", "srv_admin_state", "srv_port"}
	for _, n := range need {
		if _, ok := col[n]; !ok {
			return nil, fmt.Errorf("show servers state: no %s column", n)
		}
	}
	var rows []stateRow
	for _, l := range lines[2:] {
		f := strings.Fields(l)
		if len(f) < len(col) || f[col["be_name"]] != backend {
			continue
		}
		op, err1 := strconv.ParseUint(f[col["srv_op_state"]], 10, 32)
		adm, err2 := strconv.ParseUint(f[col["srv_admin_state"]], 10, 32)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("show servers state: row %q is not numbers where states are", clipLine(l))
		}
		addr := f[col["srv_addr"]]
		if port := f[col["srv_port"]]; port != "0" && port != "" {
			addr = joinHostPort(addr, port)
		}
		rows = append(rows, stateRow{name: f[col["srv_name"]], addr: addr, admin: adm, op: op})
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: no servers in backend %q", ErrConfig, backend)
	}
	return rows, nil
}

func joinHostPort(h, p string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]:" + p
	}
	return h + ":" + p
}

type statRow struct {
	status     string
	scur, qcur *float64
}

// statRows reads the backend's server rows of a `show stat` CSV.
func statRows(out, backend string) (map[string]statRow, error) {
	if !strings.HasPrefix(out, "# ") {
		return nil, fmt.Errorf("show stat: not a stats CSV (starts %q)", clipLine(out))
	}
	r := csv.NewReader(bytes.NewReader([]byte(out[2:])))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("show stat header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	for _, n := range []string{"pxname", "svname", "status", "scur", "qcur"} {
		if _, ok := col[n]; !ok {
			return nil, fmt.Errorf("show stat has no %q column", n)
		}
	}
	num := func(s string) *float64 {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil
		}
		return &v
	}
	rows := map[string]statRow{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("show stat: %w", err)
		}
		if len(rec) < len(header)-1 || rec[col["pxname"]] != backend {
			continue
		}
		sv := rec[col["svname"]]
		if sv == "FRONTEND" || sv == "BACKEND" {
			continue
		}
		rows[sv] = statRow{status: rec[col["status"]], scur: num(rec[col["scur"]]), qcur: num(rec[col["qcur"]])}
	}
	return rows, nil
}

var _ Pooler = (*HAProxy)(nil)
