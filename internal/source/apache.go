package source

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

func init() {
	Register(Type{
		Name: "apache", Syntax: "URL", Example: "apache:http://127.0.0.1/server-status",
		Summary:     "BusyWorkers of Apache's server-status, minus the status request itself",
		DefaultName: nameHostPath, New: newApache,
	})
}

// apacheSource reads Apache httpd's mod_status in machine-readable form.
type apacheSource struct {
	url  string
	opts Options
}

func newApache(target string, opts Options) (Source, error) {
	if err := checkURL(target); err != nil {
		return nil, err
	}
	// server-status without ?auto is an HTML page; ask for the key: value form.
	if u, err := url.Parse(target); err == nil && u.RawQuery == "" {
		target += "?auto"
	}
	return &apacheSource{url: target, opts: opts}, nil
}

// Read returns BusyWorkers less one: the worker answering the status
// request is busy with it.
func (s *apacheSource) Read(ctx context.Context) (float64, error) {
	body, err := fetch(ctx, s.opts, s.url, "text/plain")
	if err != nil {
		return 0, err
	}
	busy, err := parseApacheStatus(body)
	if err != nil {
		return 0, err
	}
	return max(busy-1, 0), nil
}

// parseApacheStatus finds "BusyWorkers: N" in server-status?auto output.
func parseApacheStatus(body []byte) (float64, error) {
	for _, line := range strings.Split(string(body), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(k) != "BusyWorkers" {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
		if err != nil {
			return 0, fmt.Errorf("server-status BusyWorkers %q is not a count", clip(v, 20))
		}
		return float64(n), nil
	}
	if strings.Contains(strings.ToLower(string(body)), "<html") {
		return 0, fmt.Errorf("server-status answered HTML: add ?auto to the URL")
	}
	return 0, fmt.Errorf("no BusyWorkers line: not an Apache server-status?auto page")
}
