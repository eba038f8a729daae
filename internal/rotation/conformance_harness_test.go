package rotation_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/awselb/elbtest"
	"github.com/drain-cli/drain/internal/f5/f5test"
	"github.com/drain-cli/drain/internal/rotation"
	"github.com/drain-cli/drain/internal/state"
	"github.com/drain-cli/drain/internal/winps"
	"github.com/drain-cli/drain/internal/winps/winpstest"
)

// harnesses is the suite's table: one line per rotation method. Methods
// whose server runs on Linux only (HAProxy, Apache, nginx) are in
// serverHarnesses (conformance_unix_test.go).
func harnesses() []harness {
	return append([]harness{
		{"keepalive", keepaliveBed},
		{"exec", execBed},
		{"f5", f5Bed},
		{"aws-elb", awsELBBed},
		{"arr", arrBed},
		{"nlb", nlbBed},
	}, serverHarnesses...)
}

// keepaliveBed: two servers' keep-alive pages (real files), each probed
// over HTTP as the balancer would (a real file server on 127.0.0.1).
func keepaliveBed(t *testing.T) *bed {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	page := func(i int) string { return filepath.Join(dir, fmt.Sprintf("s%d", i), "keepalive.htm") }
	for i := range 2 {
		must(t, os.MkdirAll(filepath.Dir(page(i)), 0o755))
		must(t, os.WriteFile(page(i), []byte("OK\n"), 0o644))
	}
	probe := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(probe.Close)
	return &bed{
		spec: func(i int) string { return "keepalive:" + page(i) },
		view: func(t *testing.T, i int) map[string]string {
			v := fileView(page(i), "page")
			for k, x := range fileView(page(i)+".disabled", "disabled") {
				v[k] = x
			}
			resp, err := probe.Client().Get(probe.URL + fmt.Sprintf("/s%d/keepalive.htm", i))
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			v["probe"] = resp.Status
			return v
		},
		byHand: func(t *testing.T, i int) { must(t, os.Rename(page(i), page(i)+".disabled")) },
		// A deploy puts the page back; the copy drain renamed away stays.
		forget: func(t *testing.T) { must(t, os.WriteFile(page(0), []byte("OK\n"), 0o644)) },
		v1: func(t *testing.T, store state.Store, i int) {
			must(t, os.Rename(page(i), page(i)+".disabled"))
			placeV1(t, store, "rename.json", map[string]string{
				"/tmp/drainv1fx/rename/www/keepalive.htm": page(i),
				"/tmp/drainv1fx/rename/www/ka-off.htm":    page(i) + ".disabled",
			})
		},
	}
}

// fileView is a file as a balancer's probe could tell it: there or not,
// its bytes' digest and its mode.
func fileView(p, name string) map[string]string {
	v := map[string]string{}
	b, err := os.ReadFile(p)
	if err != nil {
		v[name] = "absent"
		return v
	}
	sum := sha256.Sum256(b)
	v[name] = hex.EncodeToString(sum[:8])
	if fi, err := os.Stat(p); err == nil {
		v[name+".mode"] = fi.Mode().String()
	}
	return v
}

// placeV1 writes a fixture of testdata/v1records, its paths replaced, where
// the release before kept it: the state directory, under its target.
func placeV1(t *testing.T, store state.Store, fixture string, replace map[string]string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "v1records", fixture))
	must(t, err)
	s := string(b)
	for from, to := range replace {
		q, err := json.Marshal(to) // a Windows path's backslashes, escaped
		must(t, err)
		s = strings.ReplaceAll(s, from, strings.Trim(string(q), `"`))
	}
	if strings.Contains(s, "/tmp/drainv1fx/") {
		t.Fatalf("fixture %s: a path left to replace:\n%s", fixture, s)
	}
	var doc struct{ Target string }
	must(t, json.Unmarshal([]byte(s), &doc))
	target := doc.Target
	must(t, os.MkdirAll(store.Dir, 0o700))
	must(t, os.WriteFile(store.File(target), []byte(s), 0o600))
}

// execBed: a balancer CLI run as real processes (the test binary's lbcli,
// exec_test.go), one member state file per server.
func execBed(t *testing.T) *bed {
	dir := t.TempDir()
	state := func(i int) string { return filepath.Join(dir, fmt.Sprintf("web0%d", i)) }
	settings := map[string]any{}
	for i := range 2 {
		must(t, os.WriteFile(state(i), []byte("IN\n"), 0o644))
		cmd := func(sub string) []any { return []any{os.Args[0], "lbcli", state(i), sub} }
		settings[fmt.Sprintf("web0%d", i)] = map[string]any{"out": cmd("out"), "in": cmd("in"), "status": cmd("status")}
	}
	read := func(t *testing.T, i int) string {
		b, err := os.ReadFile(state(i))
		must(t, err)
		return strings.TrimSpace(string(b))
	}
	return &bed{
		opts:   rotation.Options{Timeout: 20 * time.Second, Settings: settings},
		spec:   func(i int) string { return fmt.Sprintf("exec:web0%d", i) },
		view:   func(t *testing.T, i int) map[string]string { return map[string]string{"member": read(t, i)} },
		byHand: func(t *testing.T, i int) { must(t, os.WriteFile(state(i), []byte("OUT\n"), 0o644)) },
		forget: func(t *testing.T) { must(t, os.WriteFile(state(0), []byte("IN\n"), 0o644)) },
		refuse: func(t *testing.T) (string, func()) {
			// The balancer's CLI cannot reach it: status fails.
			must(t, os.Rename(state(0), state(0)+".away"))
			return "exec web00", func() { must(t, os.Rename(state(0)+".away", state(0))) }
		},
	}
}

// refusingFront starts a front (TLS when the upstream is) that forwards to
// upstream with the Host header kept, or refuses while told to.
func refusingFront(t *testing.T, upstream string, transport http.RoundTripper) (*httptest.Server, *front) {
	t.Helper()
	u, err := url.Parse(upstream)
	must(t, err)
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.Host = r.In.Host // signed requests (SigV4) name the host they were sent to
		},
		Transport: transport,
	}
	f := &front{}
	var s *httptest.Server
	if u.Scheme == "https" {
		s = httptest.NewTLSServer(f.handler(rp))
	} else {
		s = httptest.NewServer(f.handler(rp))
	}
	t.Cleanup(s.Close)
	return s, f
}

// f5Bed: the f5test stand-in of iControl REST (see that package) behind a
// front that can refuse; two pools.
func f5Bed(t *testing.T) *bed {
	s := f5test.New("admin", "s3cr3t-Pa55")
	t.Cleanup(s.Close)
	s.AddPool("/Common/web_pool",
		f5test.Member{Name: "web01:80", Address: "10.0.0.5", Session: "monitor-enabled", State: "up"},
		f5test.Member{Name: "web02:80", Address: "10.0.0.6", Session: "monitor-enabled", State: "up"},
		f5test.Member{Name: "web03:80", Address: "10.0.0.7", Session: "monitor-enabled", State: "up"},
	)
	s.AddPool("/Common/api_pool", f5test.Member{Name: "web01:8080", Address: "10.0.0.5", Session: "monitor-enabled", State: "up"})
	fs, f := refusingFront(t, s.URL, s.Client().Transport)
	client := fs.Client()
	member := func(i int) string { return fmt.Sprintf("web0%d:80", i+1) }
	set := func(i int, session, st string) {
		s.Set("/Common/web_pool", member(i), func(m *f5test.Member) { m.Session, m.State = session, st })
	}
	return &bed{
		opts: rotation.Options{Client: client, Timeout: 5 * time.Second, Getenv: env("DRAIN_F5_USER", "admin", "DRAIN_F5_PASSWORD", "s3cr3t-Pa55")},
		spec: func(i int) string { return "f5:" + fs.URL + "#/Common/web_pool/" + member(i) },
		view: func(t *testing.T, i int) map[string]string {
			m, ok := s.Get("/Common/web_pool", member(i))
			if !ok {
				t.Fatalf("no member %s", member(i))
			}
			return map[string]string{"session": m.Session, "state": m.State}
		},
		byHand:    func(t *testing.T, i int) { set(i, "user-disabled", "up") },
		otherPool: func(t *testing.T) string { return "f5:" + fs.URL + "#/Common/api_pool/web01:8080" },
		// A config sync from a peer that never had the change.
		forget: func(t *testing.T) { set(0, "monitor-enabled", "up") },
		refuse: func(t *testing.T) (string, func()) {
			f.set(true)
			return strings.TrimPrefix(fs.URL, "https://"), func() { f.set(false) }
		},
	}
}

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// awsELBBed: the elbtest stand-in of the ELBv2 Query API (see that
// package), reached through a front that can refuse; two target groups.
// ELB keeps its registrations: nothing to forget.
func awsELBBed(t *testing.T) *bed {
	const key, secret = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	s := elbtest.New("eu-west-1", key, secret)
	t.Cleanup(s.Close)
	ids := []string{"i-0abc1234def567890", "i-0abc1234def567891", "i-0abc1234def567892"}
	s.AddGroup(s.ARN("web"), 80, elbtest.Registration{ID: ids[0]}, elbtest.Registration{ID: ids[1]}, elbtest.Registration{ID: ids[2]})
	s.AddGroup(s.ARN("api"), 8080, elbtest.Registration{ID: ids[0]})
	fs, f := refusingFront(t, s.URL, &http.Transport{DisableKeepAlives: true})
	getenv := env("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", fs.URL, "AWS_EC2_METADATA_DISABLED", "true", "HOME", t.TempDir(),
		"AWS_ACCESS_KEY_ID", key, "AWS_SECRET_ACCESS_KEY", secret)
	return &bed{
		opts: rotation.Options{Client: fs.Client(), Timeout: 5 * time.Second, Getenv: getenv},
		spec: func(i int) string { return "aws-elb:" + s.ARN("web") + "#" + ids[i] },
		view: func(t *testing.T, i int) map[string]string {
			v := map[string]string{"registrations": "0"}
			regs := s.Get(s.ARN("web"), ids[i])
			v["registrations"] = fmt.Sprint(len(regs))
			for j, r := range regs {
				v[fmt.Sprintf("%d.port", j)] = fmt.Sprint(r.Port)
				v[fmt.Sprintf("%d.state", j)] = r.State
			}
			return v
		},
		byHand:    func(t *testing.T, i int) { s.Set(s.ARN("web"), ids[i], "draining") },
		otherPool: func(t *testing.T) string { return "aws-elb:" + s.ARN("api") + "#" + ids[0] },
		refuse: func(t *testing.T) (string, func()) {
			f.set(true)
			return "aws-elb web/" + ids[0], func() { f.set(false) }
		},
	}
}

// arrBed: IIS ARR through the stand-in powershell (winpstest), run as a
// real process as on Windows; two web farms on this machine.
func arrBed(t *testing.T) *bed {
	rotation.LiftWindows(t)
	path := winpstest.Install(t, winpstest.State{ARR: winpstest.ARR{Farms: []winps.ARRFarm{
		{Name: "web", Servers: []winps.ARRServer{
			{Address: "10.0.0.5", Enabled: true, HTTPPort: 8080, IsHealthy: true},
			{Address: "10.0.0.6", Enabled: true, HTTPPort: 8080, IsHealthy: true},
			{Address: "10.0.0.7", Enabled: true, HTTPPort: 8080, IsHealthy: true},
		}},
		{Name: "api", Servers: []winps.ARRServer{{Address: "10.0.0.5", Enabled: true, IsHealthy: true}}},
	}}})
	addr := func(i int) string { return fmt.Sprintf("10.0.0.%d", 5+i) }
	edit := func(t *testing.T, f func(st *winpstest.State)) {
		st := winpstest.Load(t, path)
		f(&st)
		winpstest.Save(t, path, st)
	}
	setState := func(t *testing.T, i, state int) {
		edit(t, func(st *winpstest.State) { st.ARR.Farms[0].Servers[i].State = state })
	}
	return &bed{
		spec: func(i int) string { return "arr:web#" + addr(i) },
		view: func(t *testing.T, i int) map[string]string {
			s := winpstest.Load(t, path).ARR.Farms[0].Servers[i]
			return map[string]string{"state": winps.ARRStateName(s.State), "enabled": fmt.Sprint(s.Enabled), "healthy": fmt.Sprint(s.IsHealthy)}
		},
		byHand:    func(t *testing.T, i int) { setState(t, i, winps.ARRDrain) },
		otherPool: func(t *testing.T) string { return "arr:api#10.0.0.5" },
		// An IIS restart: runtime state is lost, every server Available.
		forget: func(t *testing.T) { setState(t, 0, winps.ARRAvailable) },
		refuse: func(t *testing.T) (string, func()) {
			edit(t, func(st *winpstest.State) {
				st.ARR.Error = "Filename: redirection.config Error: Cannot read configuration file due to insufficient permissions"
			})
			return "arr web#10.0.0.5 on this machine", func() { edit(t, func(st *winpstest.State) { st.ARR.Error = "" }) }
		},
	}
}

// nlbBed: Windows NLB through the stand-in powershell (winpstest), nodes
// reached by name (one target without its cluster, one with); two
// clusters.
func nlbBed(t *testing.T) *bed {
	rotation.LiftWindows(t)
	path := winpstest.Install(t, winpstest.State{NLB: winpstest.NLB{Nodes: []winps.NLBNode{
		{Name: "web01", Cluster: "webfarm", HostID: 1, State: "Converged"},
		{Name: "web02", Cluster: "webfarm", HostID: 2, State: "Converged"},
		{Name: "web03", Cluster: "webfarm", HostID: 3, State: "Converged"},
		{Name: "app01", Cluster: "appfarm", HostID: 1, State: "Converged"},
	}}})
	edit := func(t *testing.T, f func(st *winpstest.State)) {
		st := winpstest.Load(t, path)
		f(&st)
		winpstest.Save(t, path, st)
	}
	setState := func(t *testing.T, i int, state string) {
		edit(t, func(st *winpstest.State) { st.NLB.Nodes[i].State = state })
	}
	return &bed{
		spec: func(i int) string { return []string{"nlb:web01", "nlb:WebFarm#web02"}[i] },
		view: func(t *testing.T, i int) map[string]string {
			n := winpstest.Load(t, path).NLB.Nodes[i]
			return map[string]string{"state": n.State, "cluster": n.Cluster}
		},
		byHand:    func(t *testing.T, i int) { setState(t, i, "Stopped") },
		otherPool: func(t *testing.T) string { return "nlb:app01" },
		// The node rebooted: NLB starts it again (initial host state started).
		forget: func(t *testing.T) { setState(t, 0, "Converged") },
		refuse: func(t *testing.T) (string, func()) {
			edit(t, func(st *winpstest.State) {
				st.NLB.Error = "The RPC server is unavailable. (Exception from HRESULT: 0x800706BA)"
			})
			return "nlb web01", func() { edit(t, func(st *winpstest.State) { st.NLB.Error = "" }) }
		},
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
