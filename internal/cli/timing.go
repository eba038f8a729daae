package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/drain-cli/drain/internal/config"
	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/rotation"
)

// timingRule says which rule chooses a timing setting that was not given
// (settle, interval), for config show; "" when it was given (its FROM says
// where) or is not one of them. The run itself says the rule it applied, in
// the live view and the drained line.
func timingRule(cfg *config.Config, key string) string {
	switch {
	case key == "interval" && cfg.IntervalAuto:
		return fmt.Sprintf("rule: every 100ms near the end (counters low, the balancer stopped sending, a window ending), backing off to %s while far", cfg.Interval)
	case key != "settle" || !cfg.SettleAuto:
		return ""
	}
	view := balancerSeen(cfg)
	arrivals, counter := "", ""
	for _, sp := range cfg.Sources {
		if c, ok := arrivalsCounter[sp.Type]; ok && !strings.Contains(sp.Target, "#total=off") {
			arrivals, counter = sp.Type+":"+sp.Target, c
			break
		}
	}
	switch {
	case view != "" && arrivals != "":
		return fmt.Sprintf("rule: 0 once %s says it stopped sending and the %s of %s stays still, else %s", view, counter, arrivals, cfg.Settle)
	case view != "":
		return fmt.Sprintf("rule: %s; %s is read but no source has the balancer's arrivals counter (aws-elb has none per target): an haproxy:SOCKET#BACKEND/SERVER, apache-balancer:, f5: or arr: source would make it 0", cfg.Settle, view)
	}
	return fmt.Sprintf("rule: %s: drain cannot see the load balancer; --pool haproxy:SOCKET#BACKEND/SERVER, --rotate haproxy:... or an haproxy: source on the runtime socket would make it 0", cfg.Settle)
}

// arrivalsCounter names each balancer-side source type's arrivals counter
// (its Totaler total): the requests the balancer sent the server. ELBv2 has
// none per target (its metrics are per target group, in CloudWatch).
var arrivalsCounter = map[string]string{
	rotation.MethodHAProxy: "stot",
	"apache-balancer":      "Elected count",
	"f5":                   "serverside.totConns + totRequests",
	"arr":                  "totalRequests",
}

// balancerSeen names the first balancer view a run would read: a rotation
// method with a pool view, --pool, an haproxy: source on the runtime API;
// "" for none. Nothing is contacted.
func balancerSeen(cfg *config.Config) string {
	for _, spec := range cfg.Rotation {
		m, err := spec.New(rotation.Options{Getenv: os.Getenv, Settings: cfg.RotationSettings[spec.Type.Name]})
		if err != nil {
			continue
		}
		if _, ok := m.(rotation.Pooler); ok {
			return rotation.Key(m)
		}
	}
	if cfg.Pool != nil {
		return cfg.Pool.String()
	}
	for _, sp := range cfg.Sources {
		if sourceView(cfg, sp.Type, sp.Target, nil) != nil {
			return "the balancer of " + sp.Type + ":" + sp.Target
		}
	}
	return ""
}

// waitViews gives run and wait the balancer's own view of the server to
// read while waiting: --pool, and each haproxy: source on the runtime API
// (the rotation methods' pool views are read through the plan's Rotator).
// With it drain sees the balancer stop sending (drain/blocking_lb.go).
func waitViews(p *drain.Plan, cfg *config.Config) error {
	client, err := httpClient(cfg)
	if err != nil {
		return err
	}
	if cfg.Pool != nil {
		v, err := poolView(cfg, client)
		if err != nil {
			return err
		}
		p.PoolViews = append(p.PoolViews, v)
	}
	have := map[string]bool{}
	if p.Rotator != nil {
		for _, m := range p.Rotator.Methods() {
			have[sameView(rotation.Key(m))] = true
		}
	}
	for _, v := range sourceViews(cfg, p.PoolViews, client) {
		key := v.Target()
		if hp, ok := v.(*rotation.HAProxyPool); ok {
			key += "/" + hp.Self // the server's method key: its rotation method reads the same view
		}
		if !have[sameView(key)] {
			p.PoolViews = append(p.PoolViews, v)
		}
	}
	// A balancer-side source whose target names its balancer's view (an
	// haproxy: source on the runtime API, apache-balancer, f5, arr,
	// aws-elb: one of those just added, or a rotation method's) has its
	// balancer seen. An HAProxy stats page URL is not, and keeps the windows.
	for i, sp := range cfg.Sources {
		if i < len(p.Sources) {
			p.Sources[i].Seen = sourceView(cfg, sp.Type, sp.Target, client) != nil
		}
	}
	return nil
}

// sameView makes a method key and a pool view's key of one HAProxy server
// compare equal: a socket path is unix:PATH in one and PATH in the other.
func sameView(key string) string {
	return strings.Replace(key, rotation.MethodHAProxy+":unix:", rotation.MethodHAProxy+":", 1)
}
