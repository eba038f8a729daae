package source

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"strings"

	"github.com/drain-cli/drain/internal/apachebm"
	"github.com/drain-cli/drain/internal/suggest"
)

func init() {
	Register(Type{
		Name: "apache-balancer", Syntax: "URL#BALANCER/WORKER_URL", Example: "apache-balancer:http://lb/balancer-manager#web/http://10.0.0.5:8080",
		Summary: "the worker's Busy column on Apache's balancer-manager page: requests the balancer still has in flight to it (its Elected count, the requests it sent the worker, is the arrivals counter; #total=off: not read)",
		New:     newApacheBalancer,
	})
}

// apacheBalancerSource reads, from Apache's balancer-manager page, how many
// requests the load balancer still has in flight to one worker (its Busy
// column): the balancer's own view of what it still sends to the server.
// Its Elected column (how many times the balancer chose the worker for a
// request) is the source's total: the balancer's arrivals counter, as
// HAProxy's stot is.
type apacheBalancerSource struct {
	url, balancer, worker string
	opts                  Options
	noTotal               bool // #total=off: Elected not read
	lastTotal
}

func newApacheBalancer(target string, opts Options) (Source, error) {
	const example = "http://lb/balancer-manager#web/http://10.0.0.5:8080"
	target, what, has := cutTotal(target)
	if has && what != "elected" && what != "off" {
		return nil, fmt.Errorf("#total=%s: an apache-balancer source's total is elected (the default) or off", what)
	}
	raw, rest, err := splitTarget(target, "BALANCER/WORKER_URL", example)
	if err != nil {
		return nil, err
	}
	bal, worker, ok := strings.Cut(strings.TrimPrefix(rest, "balancer://"), "/")
	if !ok || bal == "" || !strings.Contains(worker, "://") {
		return nil, fmt.Errorf("want URL#BALANCER/WORKER_URL, e.g. %s", example)
	}
	// A balancer-manager behind basic auth: the same variables as the
	// apache rotation method, unless --source auth is already set.
	if opts.Authorization == "" {
		if user := os.Getenv("DRAIN_APACHE_USER"); user != "" {
			opts.Authorization = "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+os.Getenv("DRAIN_APACHE_PASSWORD")))
		}
	}
	return &apacheBalancerSource{url: raw, balancer: bal, worker: strings.TrimSpace(worker), opts: opts, noTotal: what == "off"}, nil
}

// Read returns the worker's Busy count. A worker or balancer the page does
// not list, or a page without the Busy column, is an
// error: unknown, never 0.
func (s *apacheBalancerSource) Read(ctx context.Context) (float64, error) {
	body, err := fetch(ctx, s.opts, s.url, "text/html")
	if err != nil {
		return 0, err
	}
	bs, err := apachebm.Parse(body)
	if err != nil {
		return 0, err
	}
	var names []string
	for _, b := range bs {
		if b.Name != s.balancer {
			names = append(names, b.Name)
			continue
		}
		w, ok := b.Worker(s.worker)
		if !ok {
			return 0, fmt.Errorf("no worker %q in balancer://%s (it has: %s)", s.worker, s.balancer, suggest.Some(b.WorkerURLs()))
		}
		if w.Busy == nil {
			return 0, fmt.Errorf("balancer-manager shows no Busy count for %s (an older Apache?)", w.URL)
		}
		if !s.noTotal {
			s.set(elected(w.Elected))
		}
		return finite(*w.Busy)
	}
	return 0, fmt.Errorf("no balancer %q on the page (it has: %s)", s.balancer, suggest.Some(names))
}

// elected is the worker's Elected count as a total: none when the page has
// no such column or shows something that is not a count.
func elected(v *float64) (float64, bool) {
	if v == nil || *v < 0 || *v != *v || *v > 1e18 {
		return 0, false
	}
	return *v, true
}
