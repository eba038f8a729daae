package source

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"strings"

	"github.com/drain-cli/drain/internal/apachebm"
)

func init() {
	Register(Type{
		Name: "apache-balancer", Syntax: "URL#BALANCER/WORKER_URL", Example: "apache-balancer:http://lb/balancer-manager#web/http://10.0.0.5:8080",
		Summary: "the worker's Busy column on Apache's balancer-manager page: requests the balancer still has in flight to it",
		New:     newApacheBalancer,
	})
}

// apacheBalancerSource reads, from Apache's balancer-manager page, how many
// requests the load balancer still has in flight to one worker (its Busy
// column): the balancer's own view of what it still sends to the server.
type apacheBalancerSource struct {
	url, balancer, worker string
	opts                  Options
}

func newApacheBalancer(target string, opts Options) (Source, error) {
	const example = "http://lb/balancer-manager#web/http://10.0.0.5:8080"
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
	return &apacheBalancerSource{url: raw, balancer: bal, worker: strings.TrimSpace(worker), opts: opts}, nil
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
			return 0, fmt.Errorf("no worker %q in balancer://%s (it has: %s)", s.worker, s.balancer, strings.Join(b.WorkerURLs(), ", "))
		}
		if w.Busy == nil {
			return 0, fmt.Errorf("balancer-manager shows no Busy count for %s (an older Apache?)", w.URL)
		}
		return finite(*w.Busy)
	}
	return 0, fmt.Errorf("no balancer %q on the page (it has: %s)", s.balancer, strings.Join(names, ", "))
}
