//go:build !windows

package rotation_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/nginxlbtest"
	"github.com/drain-cli/drain/internal/rotation"
)

// nginxUpstreamBed: a real nginx load balancer whose upstream web includes
// one file of three servers; test and reload are this instance's own
// `nginx -t` and `nginx -s reload`. Its line joins serverHarnesses with
// nginx-upstream's PoolID (another branch).
func nginxUpstreamBed(t *testing.T) *bed {
	addrs := []string{"127.0.0.1:9101", "127.0.0.1:9102", "127.0.0.1:9103"}
	var pool strings.Builder
	for _, a := range addrs {
		fmt.Fprintf(&pool, "server %s max_fails=0;\n", a)
	}
	lb := nginxlbtest.Start(t, pool.String())
	bin, err := nginxlbtest.Binary()
	must(t, err)
	cmd := func(args ...string) []any {
		out := []any{bin}
		for _, a := range append(args, lb.Args()...) {
			out = append(out, a)
		}
		return out
	}
	settings := map[string]any{"test": cmd("-t"), "reload": cmd("-s", "reload")}
	line := func(t *testing.T, i int) string {
		b, err := os.ReadFile(lb.Upstream)
		must(t, err)
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) > 1 && f[0] == "server" && f[1] == addrs[i] {
				return strings.Join(f[2:], " ")
			}
		}
		t.Fatalf("no server %s in %s:\n%s", addrs[i], lb.Upstream, b)
		return ""
	}
	edit := func(t *testing.T, i int, params string) {
		b, err := os.ReadFile(lb.Upstream)
		must(t, err)
		s := strings.Replace(string(b), "server "+addrs[i]+" max_fails=0;", "server "+addrs[i]+" "+params+";", 1)
		must(t, os.WriteFile(lb.Upstream, []byte(s), 0o640))
		reload(t, settings)
	}
	confBefore, err := os.ReadFile(lb.Conf)
	must(t, err)
	return &bed{
		opts:   rotation.Options{Timeout: 10 * time.Second, Settings: settings},
		spec:   func(i int) string { return "nginx-upstream:" + lb.Upstream + "#" + addrs[i] },
		view:   func(t *testing.T, i int) map[string]string { return map[string]string{"params": line(t, i)} },
		byHand: func(t *testing.T, i int) { edit(t, i, "max_fails=0 down") },
		otherPool: func(t *testing.T) string {
			other := nginxlbtest.Start(t, "server 127.0.0.1:9201;\n")
			return "nginx-upstream:" + other.Upstream + "#127.0.0.1:9201"
		},
		// A deploy writes the upstream file from its template again.
		forget: func(t *testing.T) {
			must(t, os.WriteFile(lb.Upstream, []byte(pool.String()), 0o640))
			reload(t, settings)
		},
		// nginx's configuration no longer passes its test: nothing can be
		// reloaded.
		refuse: func(t *testing.T) (string, func()) {
			must(t, os.WriteFile(lb.Conf, append(append([]byte{}, confBefore...), "bogus_directive on;\n"...), 0o644))
			return lb.Upstream, func() { must(t, os.WriteFile(lb.Conf, confBefore, 0o644)) }
		},
	}
}

func reload(t *testing.T, settings map[string]any) {
	t.Helper()
	argv := settings["reload"].([]any)
	var args []string
	for _, a := range argv[1:] {
		args = append(args, a.(string))
	}
	out, err := execCommand(argv[0].(string), args...)
	if err != nil {
		t.Fatalf("nginx reload: %v\n%s", err, out)
	}
}

func execCommand(name string, args ...string) ([]byte, error) {
	return exec.Command(name, args...).CombinedOutput()
}
