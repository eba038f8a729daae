package cli

import (
	"net/url"

	"github.com/drain-cli/drain/internal/config"
	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/redact"
)

// backInPlan adds what 'drain in' needs to come back really ready: the
// warm-up URLs, and something to wait on for --wait-healthy (the verify URL,
// a balancer with a pool view, the --pool view).
func backInPlan(p *drain.Plan, cfg *config.Config) error {
	if cfg.Pool != "" {
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
