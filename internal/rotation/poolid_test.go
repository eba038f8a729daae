package rotation_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/rotation"
)

// poolIDElsewhere are Pooler types whose PoolID comes from another branch:
// the lead removes the line when merging it (the test fails until then).
var poolIDElsewhere = map[string]bool{}

// TestEveryPoolerNamesItsPool: a method that lists its pool (and so can be
// given --min-in-rotation) names the pool for the budget's locks, or its
// lock would be per server and two drains of one pool would both pass.
// Each registered type is built from its own example target, as the
// budget's help does.
func TestEveryPoolerNamesItsPool(t *testing.T) {
	rotation.LiftWindows(t)
	placeholder := func(name string) string {
		if strings.HasSuffix(name, "_FILE") {
			return ""
		}
		return "placeholder"
	}
	poolers := 0
	for _, typ := range rotation.Types() {
		_, target, err := rotation.ParseSpec(typ.Example)
		if err != nil {
			t.Fatalf("%s: example %q: %v", typ.Name, typ.Example, err)
		}
		m, err := typ.New(target, rotation.Options{Client: http.DefaultClient, Timeout: time.Second, Getenv: placeholder})
		if err != nil {
			// exec and nginx-upstream want a config section or a file: not
			// buildable from the example alone; exec lists no pool.
			t.Logf("%s: not built from its example: %v", typ.Name, err)
			continue
		}
		if _, ok := m.(rotation.Pooler); !ok {
			continue
		}
		poolers++
		_, named := m.(interface{ PoolID() string })
		switch {
		case poolIDElsewhere[typ.Name] && named:
			t.Errorf("%s now names its pool: remove it from poolIDElsewhere", typ.Name)
		case !named && !poolIDElsewhere[typ.Name]:
			t.Errorf("%s lists its pool (rotation.Pooler) but has no PoolID() string: its budget lock would name the server, not the pool", typ.Name)
		}
	}
	if poolers < 5 {
		t.Errorf("only %d pool-listing types built from their examples: the test no longer sees them", poolers)
	}
}

// Spellings of one pool give one ID; the ID never names the server.
func TestPoolIDSpellings(t *testing.T) {
	rotation.LiftWindows(t)
	opts := rotation.Options{Client: http.DefaultClient, Timeout: time.Second, Getenv: func(string) string { return "placeholder" }}
	id := func(spec string) string {
		t.Helper()
		m, err := rotation.NewMethod(spec, opts)
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		return m.(interface{ PoolID() string }).PoolID()
	}
	for _, tc := range []struct{ a, b string }{
		{"apache:http://LB:80/balancer-manager#web/http://10.0.0.5:8080", "apache:http://lb/balancer-manager/#web/http://10.0.0.6:8080"},
		{"apache:https://lb:443/balancer-manager#web/http://10.0.0.5:8080", "apache:https://lb/balancer-manager#web/http://10.0.0.6"},
		{"f5:https://BIGIP:443#/Common/web_pool/web01:80", "f5:https://bigip#/Common/web_pool/web02:80"},
		{
			"aws-elb:arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef#i-0abc1234def567890",
			"aws-elb:arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef#10.0.0.7:8080",
		},
		{"arr:ARR01.corp.example/Web#10.0.0.5", "arr:arr01/web#10.0.0.6"},
		{"nlb:WebFarm#web01", "nlb:webfarm#web02"},
	} {
		if a, b := id(tc.a), id(tc.b); a != b {
			t.Errorf("one pool, two IDs: %s -> %q, %s -> %q", tc.a, a, tc.b, b)
		}
	}
	for _, tc := range []struct{ a, b string }{
		{"apache:http://lb/balancer-manager#web/http://10.0.0.5", "apache:http://lb/balancer-manager#api/http://10.0.0.5"},
		{"apache:http://lb/balancer-manager#web/http://10.0.0.5", "apache:http://lb2/balancer-manager#web/http://10.0.0.5"},
		{"f5:https://bigip#/Common/web_pool/web01:80", "f5:https://bigip#/Other/web_pool/web01:80"},
		{"arr:arr01/web#10.0.0.5", "arr:arr02/web#10.0.0.5"},
		{"nlb:webfarm#web01", "nlb:appfarm#web01"},
	} {
		if a, b := id(tc.a), id(tc.b); a == b {
			t.Errorf("two pools, one ID %q: %s, %s", a, tc.a, tc.b)
		}
	}
}

// A pool view built from a method's target ('drain status --pool
// f5:...') names the pool as the method's budget lock does, so that
// status --lock etcd: finds the out records the budget wrote.
func TestPoolViewOfAMethodNamesItsPool(t *testing.T) {
	opts := rotation.Options{Client: http.DefaultClient, Timeout: time.Second, Getenv: func(string) string { return "placeholder" }}
	for _, tc := range []struct{ pool, method string }{
		{"f5:https://bigip#/Common/web_pool", "f5:https://bigip#/Common/web_pool/web01:80"},
		{"apache:http://lb/balancer-manager#web/http://10.0.0.5", "apache:http://lb/balancer-manager#web/http://10.0.0.6"},
	} {
		v, err := rotation.NewPool(tc.pool, opts)
		if err != nil {
			t.Fatal(err)
		}
		pi, ok := v.(interface{ PoolID() string })
		if !ok {
			t.Fatalf("%s: pool view %T has no PoolID", tc.pool, v)
		}
		m, err := rotation.NewMethod(tc.method, opts)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := pi.PoolID(), m.(interface{ PoolID() string }).PoolID(); got != want || got == "" {
			t.Errorf("%s: pool view's PoolID %q, the method's %q", tc.pool, got, want)
		}
	}
}
