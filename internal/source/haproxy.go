package source

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

func init() {
	Register(Type{
		Name: "haproxy", Syntax: "ADDR#BACKEND/SERVER", Example: "haproxy:/run/haproxy/admin.sock#web/app1",
		Summary:     "the server's current sessions plus its queue (runtime API socket, or the stats page's ;csv URL)",
		DefaultName: haproxyName, New: newHAProxy,
	})
}

// haproxySource reads one server's row of HAProxy's stats CSV, from the
// runtime API (`show stat`) or from the stats page's ;csv URL.
type haproxySource struct {
	url             string       // CSV URL, or
	addr            haproxy.Addr // runtime API
	backend, server string
	opts            Options
	noTotal         bool // #total=off: stot not read
	lastTotal
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
	var body []byte
	if s.url != "" {
		b, err := fetch(ctx, s.opts, s.url, "text/csv")
		if err != nil {
			return 0, err
		}
		body = b
	} else {
		ctx, cancel := context.WithTimeout(ctx, s.opts.ReadTimeout)
		defer cancel()
		out, err := haproxy.Command(ctx, s.addr, "show stat")
		if err != nil {
			return 0, err
		}
		body = []byte(out)
	}
	v, err := haproxyServerLoad(body, s.backend, s.server)
	if err == nil && !s.noTotal {
		t, ok := haproxyServerTotal(body, s.backend, s.server)
		s.set(t, ok)
	}
	return v, err
}

// haproxyServerLoad finds backend/server in a stats CSV and returns
// scur + qcur. Columns are found by name in the "# pxname,svname,..."
// header: their positions changed across HAProxy versions.
func haproxyServerLoad(body []byte, backend, server string) (float64, error) {
	if !bytes.HasPrefix(body, []byte("# ")) {
		return 0, fmt.Errorf("not an HAProxy stats CSV (starts %q)", clip(string(body), 40))
	}
	r := csv.NewReader(bytes.NewReader(body[2:]))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return 0, fmt.Errorf("stats CSV header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	need := []string{"pxname", "svname", "scur", "qcur"}
	for _, n := range need {
		if _, ok := col[n]; !ok {
			return 0, fmt.Errorf("stats CSV has no %q column", n)
		}
	}
	var servers []string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("stats CSV: %w", err)
		}
		if len(rec) <= col["svname"] || len(rec) <= col["pxname"] || rec[col["pxname"]] != backend {
			continue
		}
		sv := rec[col["svname"]]
		if sv != server {
			if sv != "FRONTEND" && sv != "BACKEND" {
				servers = append(servers, sv)
			}
			continue
		}
		var sum float64
		for _, n := range []string{"scur", "qcur"} {
			if len(rec) <= col[n] {
				return 0, fmt.Errorf("stats CSV row %s/%s has no %s value", backend, server, n)
			}
			v, err := strconv.ParseUint(rec[col[n]], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("stats CSV %s/%s %s %q is not a count", backend, server, n, clip(rec[col[n]], 20))
			}
			sum += float64(v)
		}
		return sum, nil
	}
	if len(servers) > 0 {
		return 0, fmt.Errorf("no server %q in backend %q (it has: %s)", server, backend, strings.Join(servers, ", "))
	}
	return 0, fmt.Errorf("no backend %q with a server %q in the stats", backend, server)
}

// haproxyName is BACKEND/SERVER.
func haproxyName(t string) string {
	if i := strings.LastIndex(t, "#"); i >= 0 {
		return t[i+1:]
	}
	return ""
}
