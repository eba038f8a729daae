package source

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Metric is one metric family of a Prometheus page, for `drain counters --url`.
type Metric struct {
	Name, Type, Help string
	Series           int
}

// PromMetrics fetches a Prometheus page and lists its metric families whose
// name contains filter (case-insensitive), sorted by name.
func PromMetrics(ctx context.Context, rawURL, filter string, timeout time.Duration) ([]Metric, error) {
	if err := checkURL(rawURL); err != nil {
		return nil, err
	}
	opts := Options{Client: &http.Client{Timeout: timeout}, ReadTimeout: timeout, MaxBody: DefaultMaxBody}
	body, err := fetch(ctx, opts, rawURL, "text/plain")
	if err != nil {
		return nil, err
	}
	fams, err := parseFamilies(body)
	if err != nil {
		return nil, err
	}
	var out []Metric
	for name, f := range fams {
		if !strings.Contains(strings.ToLower(name), strings.ToLower(filter)) {
			continue
		}
		out = append(out, Metric{Name: name, Type: strings.ToLower(f.GetType().String()), Help: f.GetHelp(), Series: len(f.GetMetric())})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
