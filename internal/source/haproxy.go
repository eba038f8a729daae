package source

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/drain-cli/drain/internal/haproxy"
	"github.com/drain-cli/drain/internal/suggest"
)

func init() {
	Register(Type{
		Name: "haproxy", Syntax: "ADDR#BACKEND/SERVER", Example: "haproxy:/run/haproxy/admin.sock#web/app1",
		Summary:     "the server's current sessions plus its queue (runtime API socket, or the stats page's ;csv URL)",
		DefaultName: haproxyName, New: newHAProxy,
	})
}

// haproxySource reads one server's row of HAProxy's stats CSV, from the
// runtime API or from the stats page's ;csv URL. On the runtime API it asks
// for that one row (show stat IID 4 SID), the ids read once from the
// backend's rows: a poll costs the same, on both sides, whatever the size of
// the backend.
type haproxySource struct {
	url             string       // CSV URL, or
	addr            haproxy.Addr // runtime API
	backend, server string
	opts            Options
	noTotal         bool // #total=off: stot not read
	lastTotal

	mu       sync.Mutex
	iid, sid int // the row's proxy and server ids; 0: not known (yet)
}

func newHAProxy(target string, opts Options) (Source, error) {
	target, what, has := cutTotal(target)
	if has && what != "stot" && what != "off" {
		return nil, fmt.Errorf("#total=%s: an haproxy source's total is stot (the default) or off", what)
	}
	i := strings.LastIndex(target, "#")
	if i < 0 {
		return nil, errors.New("want ADDR#BACKEND/SERVER or URL#BACKEND/SERVER, e.g. /run/haproxy/admin.sock#web/app1 or http://lb:8404/stats;csv#web/app1")
	}
	be, srv, ok := strings.Cut(target[i+1:], "/")
	if !ok || be == "" || srv == "" {
		return nil, fmt.Errorf("want BACKEND/SERVER after #, got %q", target[i+1:])
	}
	s := &haproxySource{backend: be, server: srv, opts: opts, noTotal: what == "off"}
	loc := target[:i]
	if strings.HasPrefix(loc, "http://") || strings.HasPrefix(loc, "https://") {
		if err := checkURL(loc); err != nil {
			return nil, err
		}
		s.url = loc
		return s, nil
	}
	a, err := haproxy.ParseAddr(loc)
	if err != nil {
		return nil, err
	}
	s.addr = a
	return s, nil
}

// Read returns the server's current sessions plus its queue (scur + qcur):
// requests being served and those waiting for a slot.
func (s *haproxySource) Read(ctx context.Context) (float64, error) {
	if s.url != "" {
		body, err := fetch(ctx, s.opts, s.url, "text/csv")
		if err != nil {
			return 0, err
		}
		return s.done(haproxyRow(body, s.backend, s.server))
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.ReadTimeout)
	defer cancel()
	s.mu.Lock()
	iid, sid := s.iid, s.sid
	s.mu.Unlock()
	if iid > 0 && sid > 0 {
		out, err := haproxy.Command(ctx, s.addr, fmt.Sprintf("show stat %d 4 %d", iid, sid))
		if err != nil {
			return 0, err
		}
		row, err := haproxyRow([]byte(out), s.backend, s.server)
		if err == nil && row.iid == iid && row.sid == sid {
			return s.done(row, nil)
		}
		// Not that server's row any more (a reload renumbered the servers,
		// or it is gone): find it again.
	}
	row, err := s.resolve(ctx)
	s.mu.Lock()
	s.iid, s.sid = row.iid, row.sid // 0, 0 on an error or without the iid/sid columns
	s.mu.Unlock()
	return s.done(row, err)
}

// resolve reads the backend's server rows (show stat BACKEND 4 -1), or all
// of show stat when the name cannot be given on the command line or the
// backend's rows lack the server, which also names what the backend has.
func (s *haproxySource) resolve(ctx context.Context) (haproxyStatRow, error) {
	if proxyNameArg(s.backend) {
		out, err := haproxy.Command(ctx, s.addr, "show stat "+s.backend+" 4 -1")
		if err != nil {
			return haproxyStatRow{}, err
		}
		if row, err := haproxyRow([]byte(out), s.backend, s.server); err == nil {
			return row, nil
		}
	}
	out, err := haproxy.Command(ctx, s.addr, "show stat")
	if err != nil {
		return haproxyStatRow{}, err
	}
	return haproxyRow([]byte(out), s.backend, s.server)
}

// proxyNameArg tells whether a backend name can be given as show stat's
// proxy argument: HAProxy's proxy-name characters only (nothing the runtime
// API would read as a separator: space, ';', a newline), and not all digits
// (that would be read as a proxy id).
func proxyNameArg(name string) bool {
	digits := true
	for _, r := range name {
		switch {
		case r >= '0' && r <= '9':
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '-', r == '_', r == '.', r == ':':
			digits = false
		default:
			return false
		}
	}
	return name != "" && !digits
}

func (s *haproxySource) done(row haproxyStatRow, err error) (float64, error) {
	if err != nil {
		return 0, err
	}
	if !s.noTotal {
		s.set(row.total, row.hasTotal)
	}
	return row.load, nil
}

// haproxyStatRow is what one read takes from a server's row.
type haproxyStatRow struct {
	load     float64 // scur + qcur
	total    float64 // stot
	hasTotal bool
	iid, sid int // 0 without those columns
}

// haproxyServerLoad finds backend/server in a stats CSV and returns
// scur + qcur.
func haproxyServerLoad(body []byte, backend, server string) (float64, error) {
	row, err := haproxyRow(body, backend, server)
	return row.load, err
}

// haproxyRow finds backend/server in a stats CSV, in one pass: scur + qcur,
// stot, iid and sid. Columns are found by name in the "# pxname,svname,..."
// header: their positions changed across HAProxy versions. Only the lines
// that contain both names are parsed as CSV.
func haproxyRow(body []byte, backend, server string) (haproxyStatRow, error) {
	if !bytes.HasPrefix(body, []byte("# ")) {
		return haproxyStatRow{}, fmt.Errorf("not an HAProxy stats CSV (starts %q)", clip(string(body), 40))
	}
	head, rest, _ := bytes.Cut(body[2:], []byte("\n"))
	header, err := csvLine(head)
	if err != nil {
		return haproxyStatRow{}, fmt.Errorf("stats CSV header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	for _, n := range []string{"pxname", "svname", "scur", "qcur"} {
		if _, ok := col[n]; !ok {
			return haproxyStatRow{}, fmt.Errorf("stats CSV has no %q column", n)
		}
	}
	px, sv := col["pxname"], col["svname"]
	be, srv := []byte(backend), []byte(server)
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		if !bytes.Contains(line, be) || !bytes.Contains(line, srv) {
			continue
		}
		rec, err := csvLine(line)
		if err != nil {
			return haproxyStatRow{}, fmt.Errorf("stats CSV: %w", err)
		}
		if len(rec) <= sv || len(rec) <= px || rec[px] != backend || rec[sv] != server {
			continue
		}
		var row haproxyStatRow
		for _, n := range []string{"scur", "qcur"} {
			if len(rec) <= col[n] {
				return haproxyStatRow{}, fmt.Errorf("stats CSV row %s/%s has no %s value", backend, server, n)
			}
			v, err := strconv.ParseUint(rec[col[n]], 10, 64)
			if err != nil {
				return haproxyStatRow{}, fmt.Errorf("stats CSV %s/%s %s %q is not a count", backend, server, n, clip(rec[col[n]], 20))
			}
			row.load += float64(v)
		}
		num := func(n string) (uint64, bool) {
			i, ok := col[n]
			if !ok || len(rec) <= i {
				return 0, false
			}
			v, err := strconv.ParseUint(rec[i], 10, 64)
			return v, err == nil
		}
		if v, ok := num("stot"); ok {
			row.total, row.hasTotal = float64(v), true
		}
		iid, ok1 := num("iid")
		sid, ok2 := num("sid")
		if ok1 && ok2 && iid > 0 && sid > 0 && iid <= math.MaxInt32 && sid <= math.MaxInt32 {
			row.iid, row.sid = int(iid), int(sid)
		}
		return row, nil
	}
	return haproxyStatRow{}, haproxyMissing(body, px, sv, backend, server)
}

// csvLine parses one CSV line.
func csvLine(line []byte) ([]string, error) {
	r := csv.NewReader(bytes.NewReader(line))
	r.FieldsPerRecord = -1
	rec, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	return rec, err
}

// haproxyMissing says what is missing, naming the backend's servers when it
// has some: the error path, where every line is parsed.
func haproxyMissing(body []byte, px, sv int, backend, server string) error {
	r := csv.NewReader(bytes.NewReader(body[2:]))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	_, _ = r.Read() // the header
	var servers []string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("stats CSV: %w", err)
		}
		if len(rec) <= sv || len(rec) <= px || rec[px] != backend {
			continue
		}
		if n := rec[sv]; n != "FRONTEND" && n != "BACKEND" {
			servers = append(servers, n)
		}
	}
	if len(servers) > 0 {
		return fmt.Errorf("no server %q in backend %q (it has: %s)", server, backend, suggest.Some(servers))
	}
	return fmt.Errorf("no backend %q with a server %q in the stats", backend, server)
}

// haproxyName is BACKEND/SERVER.
func haproxyName(t string) string {
	if i := strings.LastIndex(t, "#"); i >= 0 {
		return t[i+1:]
	}
	return ""
}
