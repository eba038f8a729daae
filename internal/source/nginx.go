package source

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

func init() {
	Register(Type{
		Name: "nginx", Syntax: "URL", Example: "nginx:http://127.0.0.1/nginx_status",
		Summary:     "Reading + Writing of nginx's stub_status, minus the status request itself",
		DefaultName: nameHostPath, New: newNginx,
	})
}

// nginxSource reads an nginx stub_status page.
type nginxSource struct {
	url  string
	opts Options
}

func newNginx(target string, opts Options) (Source, error) {
	if err := checkURL(target); err != nil {
		return nil, err
	}
	return &nginxSource{url: target, opts: opts}, nil
}

// Read returns the requests in flight: Reading + Writing, less the status
// request itself, which nginx counts in Writing while it answers it. Active
// connections are not used: they include idle keep-alives (Waiting).
func (s *nginxSource) Read(ctx context.Context) (float64, error) {
	body, err := fetch(ctx, s.opts, s.url, "text/plain")
	if err != nil {
		return 0, err
	}
	st, err := parseStubStatus(body)
	if err != nil {
		return 0, err
	}
	return max(float64(st.reading)+float64(st.writing)-1, 0), nil
}

// stubStatus holds the fields of an nginx stub_status page:
//
//	Active connections: 291
//	server accepts handled requests
//	 16630948 16630948 31070465
//	Reading: 6 Writing: 179 Waiting: 106
type stubStatus struct {
	active                     uint64
	accepts, handled, requests uint64
	reading, writing, waiting  uint64
}

// parseStubStatus parses a stub_status page. Every field must be present and
// numeric; other lines (some nginx forks add their own) are ignored.
func parseStubStatus(body []byte) (stubStatus, error) {
	var st stubStatus
	var haveActive, haveCounters, haveRW bool
	lines := strings.Split(string(body), "\n")
	for i := 0; i < len(lines); i++ {
		f := strings.Fields(lines[i])
		switch {
		case len(f) >= 2 && f[0] == "Active" && f[1] == "connections:":
			if len(f) != 3 {
				return st, fmt.Errorf("stub_status: bad line %q", clip(lines[i], 60))
			}
			if err := parseUint(&st.active, f[2], "Active connections"); err != nil {
				return st, err
			}
			haveActive = true
		case len(f) >= 4 && f[0] == "server" && f[1] == "accepts" && f[2] == "handled" && f[3] == "requests":
			// The numbers are on the next line, one per header word after
			// "server" (forks may add columns, e.g. request_time).
			if i+1 == len(lines) {
				return st, errors.New(`stub_status: no numbers after "server accepts handled requests"`)
			}
			i++
			n := strings.Fields(lines[i])
			if len(n) != len(f)-1 {
				return st, fmt.Errorf("stub_status: want %d numbers after %q, got %q", len(f)-1, strings.Join(f, " "), clip(lines[i], 60))
			}
			for j, dst := range []*uint64{&st.accepts, &st.handled, &st.requests} {
				if err := parseUint(dst, n[j], f[j+1]); err != nil {
					return st, err
				}
			}
			haveCounters = true
		case len(f) >= 1 && f[0] == "Reading:":
			if len(f) != 6 || f[2] != "Writing:" || f[4] != "Waiting:" {
				return st, fmt.Errorf("stub_status: bad line %q", clip(lines[i], 60))
			}
			for j, dst := range []*uint64{&st.reading, &st.writing, &st.waiting} {
				if err := parseUint(dst, f[2*j+1], strings.TrimSuffix(f[2*j], ":")); err != nil {
					return st, err
				}
			}
			haveRW = true
		}
	}
	switch {
	case !haveActive && !haveCounters && !haveRW:
		return st, errors.New("not an nginx stub_status page")
	case !haveActive:
		return st, errors.New(`stub_status: no "Active connections:" line`)
	case !haveCounters:
		return st, errors.New(`stub_status: no "server accepts handled requests" lines`)
	case !haveRW:
		return st, errors.New(`stub_status: no "Reading: Writing: Waiting:" line`)
	}
	return st, nil
}

func parseUint(dst *uint64, s, field string) error {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("stub_status: %s %q is not a count", field, clip(s, 60))
	}
	*dst = v
	return nil
}
