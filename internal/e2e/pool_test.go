//go:build !windows

package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/testbed"
)

// farm is a real HAProxy whose backend "web" has one server per name, each
// a real HTTP server whose keep-alive page answers 200 while its flag is
// set (503 otherwise): a check that fails and passes on demand.
type farm struct {
	lb      *testbed.HAProxy
	healthy map[string]*atomic.Bool
	hits    map[string]*atomic.Int64 // requests to other paths, per server
	warm    map[string]*atomic.Int64 // /warm answers 2xx once this reaches 0 (counts down per request)
	addrs   map[string]string        // host:port of each server
	drain   string
	state   string
}

func startFarm(t *testing.T, check testbed.Check, names ...string) *farm {
	t.Helper()
	requireServers(t, "haproxy")
	f := &farm{addrs: map[string]string{}, healthy: map[string]*atomic.Bool{}, hits: map[string]*atomic.Int64{}, warm: map[string]*atomic.Int64{}, state: filepath.Join(t.TempDir(), "state")}
	var backends []*testbed.Nginx
	for _, n := range names {
		ok, hits, warm := &atomic.Bool{}, &atomic.Int64{}, &atomic.Int64{}
		ok.Store(true)
		f.healthy[n], f.hits[n], f.warm[n] = ok, hits, warm
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/keepalive.htm":
				if !ok.Load() {
					w.WriteHeader(http.StatusServiceUnavailable)
				}
			case "/warm":
				if warm.Add(-1) >= 0 {
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				_, _ = w.Write([]byte("warm\n"))
			default:
				hits.Add(1)
			}
		}))
		t.Cleanup(srv.Close)
		f.addrs[n] = strings.TrimPrefix(srv.URL, "http://")
		backends = append(backends, &testbed.Nginx{Name: n, Addr: f.addrs[n]})
	}
	var err error
	f.lb, err = testbed.StartHAProxyCheck(t.TempDir(), check, backends...)
	must(t, err)
	t.Cleanup(f.lb.Kill)
	f.drain = buildDrain(t)
	return f
}

// run runs drain with --state-dir and returns its stdout, stderr and exit code.
func (f *farm) run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return runBin(t, f.drain, append(args[:1:1], append([]string{"--state-dir", f.state}, args[1:]...)...)...)
}

type poolJSON struct {
	Event      string `json:"event"`
	Target     string `json:"target"`
	Pool       string `json:"pool"`
	InRotation int    `json:"in_rotation"`
	Error      string `json:"error"`
	Members    []struct {
		Name       string   `json:"name"`
		Admin      string   `json:"admin"`
		Health     string   `json:"health"`
		InRotation bool     `json:"in_rotation"`
		Sessions   *float64 `json:"sessions"`
		Queue      *float64 `json:"queue"`
		Drain      *struct {
			From  string    `json:"from"`
			By    string    `json:"by"`
			Since time.Time `json:"since"`
			Why   string    `json:"why"`
		} `json:"drain"`
	} `json:"members"`
}

func TestStatusPool(t *testing.T) {
	f := startFarm(t, testbed.Check{Inter: 100 * time.Millisecond, Fall: 1, Rise: 1}, "a", "b", "c", "d")
	pool := "haproxy:" + f.lb.Sock + "#web"
	// b: out with drain, with a reason; c: maint by hand; d: its check fails.
	if _, errOut, code := f.run(t, "out", "--rotate", pool+"/b", "--reason", "deploy 1.2"); code != 0 {
		t.Fatalf("out: %d %s", code, errOut)
	}
	if _, err := f.lb.Cmd("set server web/c state maint"); err != nil {
		t.Fatal(err)
	}
	f.healthy["d"].Store(false)
	var rep poolJSON
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, errOut, code := f.run(t, "status", "--pool", pool, "--output", "json")
		if code != 0 {
			t.Fatalf("status --pool: exit %d %s %s", code, out, errOut)
		}
		rep = poolJSON{}
		must(t, json.Unmarshal([]byte(out), &rep))
		if len(rep.Members) == 4 && rep.Members[3].Health == "down" || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if rep.Event != "pool" || rep.Pool != "web" || rep.InRotation != 1 || len(rep.Members) != 4 {
		t.Fatalf("report %+v", rep)
	}
	want := []struct {
		name, admin, health string
		in, drained         bool
	}{{"a", "enabled", "up", true, false}, {"b", "drain", "up", false, true}, {"c", "disabled", "", false, false}, {"d", "enabled", "down", false, false}}
	for i, w := range want {
		m := rep.Members[i]
		if m.Name != w.name || m.Admin != w.admin || w.health != "" && m.Health != w.health || m.InRotation != w.in || (m.Drain != nil) != w.drained || m.Sessions == nil || m.Queue == nil {
			t.Errorf("member %d: %+v, want %+v", i, m, w)
		}
	}
	if d := rep.Members[1].Drain; d != nil && (d.Why != "deploy 1.2" || d.By == "" || time.Since(d.Since) > time.Minute || d.From != "record") {
		t.Errorf("b's drain record: %+v", d)
	}

	// The table: one row per server, b's reason and who.
	out, _, code := f.run(t, "status", "--pool", pool)
	if code != 0 || !strings.Contains(out, "1 of 4 in rotation") || !strings.Contains(out, `"deploy 1.2"`) {
		t.Errorf("table (exit %d):\n%s", code, out)
	}
	for _, l := range []string{"a ", "b ", "c ", "d "} {
		found := false
		for _, row := range strings.Split(out, "\n") {
			if strings.HasPrefix(strings.TrimSpace(row), l) {
				found = true
			}
		}
		if !found {
			t.Errorf("no row %q in:\n%s", l, out)
		}
	}

	// --watch without a terminal: plain reports, one per --interval, until stopped.
	cmd := exec.Command(f.drain, "status", "--state-dir", f.state, "--pool", pool, "--watch", "--interval", "200ms")
	var wout strings.Builder
	cmd.Stdout = &wout
	must(t, cmd.Start())
	time.Sleep(1500 * time.Millisecond)
	_ = cmd.Process.Signal(os.Interrupt)
	_ = cmd.Wait()
	if n := strings.Count(wout.String(), "in rotation"); n < 2 || strings.Contains(wout.String(), "\033[") {
		t.Errorf("--watch drew %d reports (want several, plain):\n%s", n, wout.String())
	}

	// The balancer unreachable: exit 1, it says why.
	f.lb.Kill()
	out, errOut, code := f.run(t, "status", "--pool", pool, "--output", "json")
	rep = poolJSON{}
	_ = json.Unmarshal([]byte(out), &rep)
	if code != 1 || !strings.Contains(rep.Error, "connect") {
		t.Errorf("unreachable: exit %d, %s %s", code, out, errOut)
	}
	out, _, code = f.run(t, "status", "--pool", pool)
	if code != 1 || !strings.Contains(out, "error:") {
		t.Errorf("unreachable, text: exit %d %s", code, out)
	}
	// Bad input: exit 2, one line and a hint.
	_, errOut, code = f.run(t, "status", "--pool", "haproxy:"+f.lb.Sock)
	if code != 2 || !strings.Contains(errOut, "want haproxy:ADDR#BACKEND") || !strings.Contains(errOut, "hint:") {
		t.Errorf("bad --pool: exit %d %s", code, errOut)
	}
}

// startPoolEtcd starts a real etcd (Debian's etcd-server) on random 127.0.0.1
// ports with a data directory of its own; its client URL.
func startPoolEtcd(t *testing.T) string {
	t.Helper()
	requireServers(t, "etcd")
	bin, err := testbed.Find("etcd")
	must(t, err)
	client, err := testbed.FreeAddr()
	must(t, err)
	peer, err := testbed.FreeAddr()
	must(t, err)
	dir := t.TempDir()
	cmd := exec.Command(bin, "--name", "pool-view", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", "http://"+client, "--advertise-client-urls", "http://"+client,
		"--listen-peer-urls", "http://"+peer, "--initial-advertise-peer-urls", "http://"+peer,
		"--initial-cluster", "pool-view=http://"+peer, "--listen-metrics-urls", "")
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	must(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitFor(t, func() bool {
		res, err := http.Post("http://"+client+"/v3/kv/range", "application/json", strings.NewReader(`{"key":"AA=="}`))
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	return "http://" + client
}

// etcdPut writes key=value through etcd's v3 JSON gateway.
func etcdPut(t *testing.T, endpoint, key, value string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"key": base64.StdEncoding.EncodeToString([]byte(key)), "value": base64.StdEncoding.EncodeToString([]byte(value))})
	res, err := http.Post(endpoint+"/v3/kv/put", "application/json", strings.NewReader(string(b)))
	must(t, err)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("etcd put: %s", res.Status)
	}
}

// TestStatusPoolEtcd: with --lock etcd:URL the fleet view shows who took a
// server out on another machine, from the out record the budget's pool lock
// keeps in etcd (/drain/pools/<pool>/out/<server>); etcd unreachable is
// exit 1, said, with the balancer's rows still shown.
func TestStatusPoolEtcd(t *testing.T) {
	f := startFarm(t, testbed.Check{Inter: 100 * time.Millisecond, Fall: 1, Rise: 1}, "a", "b")
	etcd := startPoolEtcd(t)
	pool := "haproxy:" + f.lb.Sock + "#web"
	// Another machine took b out: its drain set drain on the shared LB and
	// wrote the record (the budget's JSON).
	if _, err := f.lb.Cmd("set server web/b state drain"); err != nil {
		t.Fatal(err)
	}
	since := time.Date(2026, 11, 29, 21, 40, 0, 0, time.UTC)
	etcdPut(t, etcd, "/drain/pools/"+url.PathEscape("haproxy:unix:"+f.lb.Sock+"#web")+"/out/b",
		`{"server":"b","target":"haproxy:unix:`+f.lb.Sock+`#web/b","by":"deploy@web2","host":"web2","pid":4242,"command":"run","reason":"release 1.3","since":"`+since.Format(time.RFC3339)+`"}`)
	out, errOut, code := f.run(t, "status", "--pool", pool, "--lock", "etcd:"+etcd, "--output", "json")
	var rep poolJSON
	must(t, json.Unmarshal([]byte(out), &rep))
	if code != 0 || len(rep.Members) != 2 || rep.Members[0].Drain != nil {
		t.Fatalf("exit %d %s %s", code, out, errOut)
	}
	if d := rep.Members[1].Drain; d == nil || d.From != "etcd" || d.By != "deploy@web2" || d.Why != "release 1.3" || !d.Since.Equal(since) {
		t.Errorf("b's record from etcd: %+v", d)
	}
	out, _, _ = f.run(t, "status", "--pool", pool, "--lock", "etcd:"+etcd)
	if !strings.Contains(out, "run by deploy@web2") || !strings.Contains(out, `"release 1.3"`) {
		t.Errorf("table:\n%s", out)
	}
	// etcd unreachable: exit 1, said; the balancer's rows still shown.
	dead, err := testbed.FreeAddr()
	must(t, err)
	out, _, code = f.run(t, "status", "--pool", pool, "--lock", "etcd:http://"+dead)
	if code != 1 || !strings.Contains(out, "etcd http://"+dead+" unreachable") || !strings.Contains(out, "1 of 2 in rotation") {
		t.Errorf("etcd unreachable: exit %d\n%s", code, out)
	}
	// --lock without --pool, or not etcd: exit 2.
	if _, e, code := f.run(t, "status", "--lock", "etcd:"+etcd, "--rotate", pool+"/a"); code != 2 || !strings.Contains(e, "needs --pool") {
		t.Errorf("--lock without --pool: exit %d %s", code, e)
	}
	if _, e, code := f.run(t, "status", "--pool", pool, "--lock", "zk:h:1"); code != 2 || !strings.Contains(e, "the only lock service is etcd") {
		t.Errorf("--lock zk: exit %d %s", code, e)
	}
}
