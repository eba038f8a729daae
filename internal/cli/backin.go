package cli

import (
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/drain-cli/drain/internal/config"
	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/redact"
	"github.com/drain-cli/drain/internal/rotation"
)

// backInPlan adds what 'drain in' needs to come back really ready: the
// warm-up URLs, and something to wait on for --wait-healthy (the verify URL,
// a balancer with a pool view, the --pool view).
func backInPlan(p *drain.Plan, cfg *config.Config) error {
	if cfg.Pool != nil {
		client, err := httpClient(cfg)
		if err != nil {
			return err
		}
		v, err := poolView(cfg, client)
		if err != nil {
			return err
		}
		p.PoolViews = append(p.PoolViews, v)
	}
	if cfg.WaitHealthy {
		client, err := httpClient(cfg)
		if err != nil {
			return err
		}
		p.PoolViews = append(p.PoolViews, sourceViews(cfg, p.PoolViews, client)...)
	}
	if cfg.WaitHealthy && p.Verify == nil && !p.CanSeeHealth() {
		return usageErr("add --verify-url URL, --pool TYPE:TARGET (the balancer's view, only read: haproxy:ADDR#BACKEND/SERVER), or rotate with a method whose balancer reports health", "--wait-healthy has nothing to wait on: no --verify-url and no load balancer that reports the server's health")
	}
	for _, u := range cfg.WarmUp {
		pu, err := url.Parse(u)
		if err != nil || pu.Scheme != "http" && pu.Scheme != "https" || pu.Host == "" {
			return usageErr("give a whole http:// or https:// URL, e.g. --warm-up http://127.0.0.1/", "--warm-up %q is not an http(s) URL", redact.String(u))
		}
	}
	if len(cfg.WarmUp) > 0 {
		client, err := httpClient(cfg)
		if err != nil {
			return err
		}
		// One request may take a while on a cold server: up to the whole
		// --timeout, which bounds the warm-up.
		c := *client
		c.Timeout = 0
		p.WarmUp, p.WarmUpCount, p.Client = cfg.WarmUp, cfg.WarmUpCount, &c
	}
	return nil
}

// sourceViews are the balancer's views that in --wait-healthy and the wait
// can read from the load-balancer-side sources in the settings
// (DRAIN_SOURCE or the config file a run shares: in has no --source): an
// haproxy: source on the runtime API names the server as a pool view does,
// and so do the balancer-side types whose rotation method has a pool view
// and takes the same target (apache-balancer: Apache's balancer-manager;
// f5; arr; aws-elb). A source that is not one (a stats page URL, an
// application-side type) or cannot be read as one is left out; those
// already among have are not added again. client (nil: each view's own
// default) carries the TLS settings.
func sourceViews(cfg *config.Config, have []rotation.PoolView, client *http.Client) []rotation.PoolView {
	seen := map[string]bool{}
	for _, v := range have {
		seen[v.Target()] = true
	}
	var out []rotation.PoolView
	for _, sp := range cfg.Sources {
		v := sourceView(cfg, sp.Type, sp.Target, client)
		if v == nil || seen[v.Target()] {
			continue
		}
		seen[v.Target()] = true
		out = append(out, v)
	}
	return out
}

// viewOfSource maps a balancer-side source type to the rotation type whose
// pool view reads the same balancer, by the same target.
var viewOfSource = map[string]string{
	rotation.MethodHAProxy: rotation.MethodHAProxy,
	"apache-balancer":      "apache",
	"f5":                   "f5",
	"arr":                  "arr",
	"aws-elb":              "aws-elb",
}

// sourceView is the balancer's view one source's target names, nil when it
// names none drain can read (nothing is contacted).
func sourceView(cfg *config.Config, typ, target string, client *http.Client) rotation.PoolView {
	method, ok := viewOfSource[typ]
	if !ok {
		return nil
	}
	target, _, _ = strings.Cut(target, "#total=")
	if method == rotation.MethodHAProxy && (strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://")) {
		return nil // a stats page: no admin state, no server by name
	}
	v, err := rotation.NewPool(method+":"+target, rotation.Options{Client: client, Timeout: cfg.ReadTimeout * 2, Getenv: os.Getenv, Settings: cfg.RotationSettings[method]})
	if err != nil {
		return nil
	}
	return v
}
