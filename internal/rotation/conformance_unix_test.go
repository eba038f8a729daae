//go:build !windows

// Real HAProxy and Apache (Debian's) have no Windows build: their lines of
// the conformance suite run on Linux.

package rotation_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/apachebm"
	"github.com/drain-cli/drain/internal/apachetest"
	"github.com/drain-cli/drain/internal/rotation"
	"github.com/drain-cli/drain/internal/state"
	"github.com/drain-cli/drain/internal/testbed"
)

// serverHarnesses are the suite's lines for balancers that run here only.
var serverHarnesses = []harness{
	{"haproxy", haproxyBed},
	{"apache", apacheBed},
	{"nginx-upstream", nginxUpstreamBed},
}

// pendingHarnesses are lines ready for methods whose PoolID comes from
// another branch: TestConformanceCoversEveryType fails once the method has
// one, to move its line into serverHarnesses (and out of notInSuite).
var pendingHarnesses = []harness{}

// notInSuite are the registered types without a line here, and why.
var notInSuite = map[string]string{}

// backends are real HTTP servers a, b, c whose keep-alive page answers 200.
func backends(t *testing.T) []*testbed.Nginx {
	var out []*testbed.Nginx
	for _, n := range []string{"a", "b", "c"} {
		srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		t.Cleanup(srv.Close)
		out = append(out, &testbed.Nginx{Name: n, Addr: strings.TrimPrefix(srv.URL, "http://")})
	}
	return out
}

func startHAProxy(t *testing.T, dir string, bs []*testbed.Nginx) *testbed.HAProxy {
	t.Helper()
	lb, err := testbed.StartHAProxyCheck(dir, testbed.Check{Inter: 100 * time.Millisecond, Fall: 1, Rise: 1}, bs...)
	if err != nil {
		t.Fatal(err)
	}
	return lb
}

// haproxyBed: a real HAProxy, backend web of a, b, c, driven through its
// runtime API socket.
func haproxyBed(t *testing.T) *bed {
	if _, err := testbed.Find("haproxy"); err != nil {
		if os.Getenv("DRAIN_E2E") == "require" {
			t.Fatal("haproxy not found and DRAIN_E2E=require")
		}
		t.Skip("haproxy not installed; scripts/test.sh installs it")
	}
	dir := t.TempDir()
	bs := backends(t)
	lb := startHAProxy(t, dir, bs)
	t.Cleanup(func() { lb.Kill() })
	name := func(i int) string { return bs[i].Name }
	return &bed{
		opts: rotation.Options{Timeout: 5 * time.Second},
		spec: func(i int) string { return "haproxy:" + lb.Sock + "#web/" + name(i) },
		view: func(t *testing.T, i int) map[string]string { return haproxyView(t, lb, name(i)) },
		byHand: func(t *testing.T, i int) {
			if out, err := lb.Cmd("set server web/" + name(i) + " state maint"); err != nil || strings.TrimSpace(out) != "" {
				t.Fatalf("set state maint: %q %v", out, err)
			}
		},
		otherPool: func(t *testing.T) string {
			other := startHAProxy(t, t.TempDir(), bs)
			t.Cleanup(other.Kill)
			return "haproxy:" + other.Sock + "#web/a"
		},
		// A restart without server-state-file: runtime changes are gone.
		forget: func(t *testing.T) {
			lb.Kill()
			lb = startHAProxy(t, dir, bs)
		},
		refuse: func(t *testing.T) (string, func()) {
			must(t, os.Rename(lb.Sock, lb.Sock+".away"))
			return lb.Sock, func() { must(t, os.Rename(lb.Sock+".away", lb.Sock)) }
		},
		v1: func(t *testing.T, store state.Store, i int) {
			if out, err := lb.Cmd("set server web/" + name(i) + " state drain"); err != nil || strings.TrimSpace(out) != "" {
				t.Fatalf("set state drain: %q %v", out, err)
			}
			// haproxy.json with its first instance standing for this one.
			b, err := os.ReadFile(filepath.Join("testdata", "v1records", "haproxy.json"))
			must(t, err)
			var doc map[string]any
			must(t, json.Unmarshal(b, &doc))
			inst := doc["haproxy"].([]any)[0].(map[string]any)
			inst["addr"], inst["server"] = lb.Sock, name(i)
			doc["haproxy"] = []any{inst}
			doc["target"] = "haproxy:unix:" + lb.Sock + "#web/" + name(i)
			b, err = json.Marshal(doc)
			must(t, err)
			must(t, os.MkdirAll(store.Dir, 0o700))
			must(t, os.WriteFile(store.File(doc["target"].(string)), b, 0o600))
		},
	}
}

// haproxyView is the server's row of `show servers state web`, by column.
func haproxyView(t *testing.T, lb *testbed.HAProxy, server string) map[string]string {
	t.Helper()
	out, err := lb.Cmd("show servers state web")
	must(t, err)
	var cols []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "# be_id") {
			cols = strings.Fields(strings.TrimPrefix(l, "# "))
			continue
		}
		f := strings.Fields(l)
		if len(cols) == 0 || len(f) < 4 || f[3] != server {
			continue
		}
		v := map[string]string{}
		for j, c := range cols {
			switch c {
			// what an operator or drain sets, and what HAProxy makes of it;
			// not the check's progress (its status and result move with
			// every probe)
			case "srv_op_state", "srv_admin_state", "srv_uweight", "srv_iweight", "srv_agent_state", "srv_use_ssl":
				if j < len(f) {
					v[c] = f[j]
				}
			}
		}
		return v
	}
	t.Fatalf("no server %s in show servers state:\n%s", server, out)
	return nil
}

// apacheBed: a real Apache, balancer web of three real workers (and
// balancer api for another pool), its balancer-manager behind a front that
// can refuse.
func apacheBed(t *testing.T) *bed {
	if _, err := apachetest.Binary(); err != nil {
		t.Fatal(err) // the apache method's proof, not an optional extra
	}
	var members []apachetest.Member
	var urls []string
	for range 3 {
		srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		t.Cleanup(srv.Close)
		urls = append(urls, srv.URL)
		members = append(members, apachetest.Member{URL: srv.URL})
	}
	rewrite, err := apachetest.ModulePath("mod_rewrite.so")
	must(t, err)
	// While the file refuse exists, Apache itself refuses the page (403).
	refuse := filepath.Join(t.TempDir(), "refuse")
	ap := apachetest.Start(t, fmt.Sprintf("<Proxy \"balancer://api\">\n  BalancerMember %s\n</Proxy>\n"+
		"LoadModule rewrite_module %q\nRewriteEngine On\nRewriteCond %q -f\nRewriteRule ^/balancer-manager - [F]\n", urls[0], rewrite, refuse), members...)
	manager := ap.Manager()
	client := apachebm.Client{URL: ap.Manager(), HTTP: &http.Client{Timeout: 5 * time.Second}}
	worker := func(t *testing.T, i int) (apachebm.Balancer, apachebm.Worker) {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		bs, err := client.Get(c)
		must(t, err)
		for _, b := range bs {
			if b.Name == "web" {
				if w, ok := b.Worker(urls[i]); ok {
					return b, w
				}
			}
		}
		t.Fatalf("no worker %s in balancer web", urls[i])
		return apachebm.Balancer{}, apachebm.Worker{}
	}
	return &bed{
		opts: rotation.Options{Timeout: 5 * time.Second},
		spec: func(i int) string { return "apache:" + manager + "#web/" + urls[i] },
		view: func(t *testing.T, i int) map[string]string {
			_, w := worker(t, i)
			flags := strings.Fields(w.Status)
			sort.Strings(flags)
			return map[string]string{"status": strings.Join(flags, " ")}
		},
		// An operator disables the worker in balancer-manager.
		byHand: func(t *testing.T, i int) {
			b, w := worker(t, i)
			c, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			must(t, client.SetFlags(c, b, w.URL, map[string]bool{"D": true}))
			if _, w := worker(t, i); !w.Has("Dis") {
				t.Fatalf("worker not disabled by hand: %q", w.Status)
			}
		},
		otherPool: func(t *testing.T) string { return "apache:" + manager + "#api/" + urls[0] },
		// A restart (SIGHUP: same port, configuration read again):
		// balancer-manager changes live in memory and are gone.
		forget: func(t *testing.T) { restartApache(t, ap, client) },
		refuse: func(t *testing.T) (string, func()) {
			must(t, os.WriteFile(refuse, nil, 0o644))
			return ap.Manager(), func() { must(t, os.Remove(refuse)) }
		},
	}
}

func restartApache(t *testing.T, ap *apachetest.Server, client apachebm.Client) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(ap.Dir, "httpd.pid"))
	must(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	must(t, err)
	must(t, syscall.Kill(pid, syscall.SIGHUP))
	// Until the page answers with every worker free of drain's flag.
	deadline := time.Now().Add(20 * time.Second)
	for {
		time.Sleep(200 * time.Millisecond)
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		bs, err := client.Get(c)
		cancel()
		if err == nil && len(bs) > 0 {
			drained := false
			for _, b := range bs {
				for _, w := range b.Workers {
					drained = drained || w.Has("Drn")
				}
			}
			if !drained {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("apache not back after SIGHUP in 20 s (%v):\n%s", err, ap.ErrorLog())
		}
	}
}
