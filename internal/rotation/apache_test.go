package rotation

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/apachebm"
	"github.com/drain-cli/drain/internal/apachetest"
)

// countingBackend counts the requests it answers, and separately those
// sent after the test's "out" (marked ?after=1 by the client).
type countingBackend struct {
	*httptest.Server
	all, after atomic.Int64
}

func newCountingBackend(t *testing.T) *countingBackend {
	t.Helper()
	b := &countingBackend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.all.Add(1)
		if r.URL.Query().Get("after") == "1" {
			b.after.Add(1)
		}
		time.Sleep(5 * time.Millisecond)
		_, _ = io.WriteString(w, "ok\n")
	}))
	t.Cleanup(b.Close)
	return b
}

func needApache(t *testing.T) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("Debian's apache2 runs on Linux; the Windows build shares this code")
	}
}

func newApacheMethod(t *testing.T, target string, opts Options) *Apache {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	m, err := NewMethod("apache:"+target, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m.(*Apache)
}

func apacheWorker(t *testing.T, a *Apache) apachebm.Worker {
	t.Helper()
	_, w, err := a.load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestApacheOutInUnderLoad drains a worker of a real Apache while clients
// go through it: no request fails, none sent after out reaches the drained
// worker, and in gives back exactly the status before.
func TestApacheOutInUnderLoad(t *testing.T) {
	needApache(t)
	a1, a2 := newCountingBackend(t), newCountingBackend(t)
	ap := apachetest.Start(t, "", apachetest.Member{URL: a1.URL}, apachetest.Member{URL: a2.URL})
	m := newApacheMethod(t, ap.Manager()+"#web/"+a1.URL, Options{})
	ctx := context.Background()
	before := apacheWorker(t, m).Status

	var after atomic.Bool
	var failed, sent atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 400; i++ {
				select {
				case <-stop:
					return
				default:
				}
				q := "0"
				if after.Load() {
					q = "1"
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ap.URL("/x?after="+q), http.NoBody)
				resp, err := client.Do(req)
				sent.Add(1)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("HTTP %d", resp.StatusCode)
					}
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("traffic on both workers", func() bool { return a1.all.Load() > 5 && a2.all.Load() > 5 })

	var saved []byte
	changed, err := m.Out(ctx, func(u any) error {
		var err error
		saved, err = json.Marshal(u)
		return err
	})
	if err != nil || !changed {
		t.Fatalf("out: %v, changed %v\n%s", err, changed, ap.ErrorLog())
	}
	after.Store(true)
	if st, err := m.Status(ctx); st != Out || err != nil {
		t.Fatalf("status after out: %s, %v", st, err)
	}
	if w := apacheWorker(t, m); !w.Has("Drn") {
		t.Fatalf("page shows %q after out", w.Status)
	}
	n2 := a2.after.Load()
	waitFor("50 requests after out", func() bool { return a2.after.Load() >= n2+50 })
	if got := a1.after.Load(); got != 0 {
		t.Errorf("the drained worker got %d requests sent after out", got)
	}
	// Out again: already out, nothing saved.
	if changed, err := m.Out(ctx, func(any) error { t.Error("save called when already out"); return nil }); changed || err != nil {
		t.Errorf("second out: changed %v, %v", changed, err)
	}

	changed, err = m.In(ctx, saved)
	if err != nil || !changed {
		t.Fatalf("in: %v, changed %v", err, changed)
	}
	if w := apacheWorker(t, m); w.Status != before {
		t.Errorf("status after in %q, before out %q", w.Status, before)
	}
	n1 := a1.all.Load()
	waitFor("traffic back on the worker", func() bool { return a1.all.Load() > n1+5 })
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		t.Errorf("%d of %d requests failed, first: %v", failed.Load(), sent.Load(), firstErr.Load())
	}
	if changed, err := m.In(ctx, saved); changed || err != nil {
		t.Errorf("second in: changed %v, %v", changed, err)
	}
}

// TestApacheKeepsOtherFlags: a hot standby and a disabled worker are
// drained and given back with exactly their flags; without undo data in
// clears only drain mode and says the worker is still disabled.
func TestApacheKeepsOtherFlags(t *testing.T) {
	needApache(t)
	b1, b2, b3 := newCountingBackend(t), newCountingBackend(t), newCountingBackend(t)
	ap := apachetest.Start(t, "",
		apachetest.Member{URL: b1.URL},
		apachetest.Member{URL: b2.URL, Params: "status=+H"},
		apachetest.Member{URL: b3.URL, Params: "status=+D"})
	ctx := context.Background()

	stby := newApacheMethod(t, ap.Manager()+"#web/"+b2.URL, Options{})
	before := apacheWorker(t, stby).Status
	if !strings.Contains(before, "Stby") {
		t.Fatalf("hot standby shows %q", before)
	}
	if st, _ := stby.Status(ctx); st != In {
		t.Errorf("hot standby status %s, want IN", st)
	}
	var undo []byte
	if _, err := stby.Out(ctx, func(u any) (err error) { undo, err = json.Marshal(u); return err }); err != nil {
		t.Fatal(err)
	}
	if w := apacheWorker(t, stby); !w.Has("Drn") || !w.Has("Stby") {
		t.Errorf("after out %q, want Drn and Stby", w.Status)
	}
	if _, err := stby.In(ctx, undo); err != nil {
		t.Fatal(err)
	}
	if n := stby.Notes(); len(n) != 0 {
		t.Errorf("notes for a hot standby put back as it was: %q", n)
	}
	if w := apacheWorker(t, stby); w.Status != before {
		t.Errorf("after in %q, before %q", w.Status, before)
	}

	dis := newApacheMethod(t, ap.Manager()+"#web/"+b3.URL, Options{})
	before = apacheWorker(t, dis).Status
	if st, _ := dis.Status(ctx); st != Out {
		t.Errorf("disabled worker status %s, want OUT", st)
	}
	// Already out (disabled by the operator): out changes nothing, as the
	// Method contract says (the conformance suite's "already out").
	changed, err := dis.Out(ctx, func(any) error { t.Error("save called for a worker already out"); return nil })
	if err != nil || changed {
		t.Fatalf("out of a disabled worker: %v %v, want unchanged", changed, err)
	}
	if w := apacheWorker(t, dis); w.Status != before {
		t.Errorf("out of a disabled worker changed it: %q, before %q", w.Status, before)
	}
	// A record of an earlier release, which drained a disabled worker too:
	// in clears drain mode and leaves Dis as it was.
	drainByHand(t, dis)
	undo = json.RawMessage(`{"before":"` + before + `"}`)
	changed, err = dis.In(ctx, undo)
	if err != nil || !changed {
		t.Fatalf("in: %v %v", changed, err)
	}
	if w := apacheWorker(t, dis); w.Status != before {
		t.Errorf("after in %q, before %q", w.Status, before)
	}
	if n := dis.Notes(); len(n) != 1 || !strings.Contains(n[0], "left Dis as it was") {
		t.Errorf("notes %q", n)
	}

	// No record: in clears drain mode only, and says what keeps it out.
	drainByHand(t, dis)
	changed, err = dis.In(ctx, nil)
	if err != nil || !changed {
		t.Fatalf("in without undo: %v %v", changed, err)
	}
	if w := apacheWorker(t, dis); w.Status != before {
		t.Errorf("after in without undo %q, before %q", w.Status, before)
	}
	if n := dis.Notes(); len(n) != 1 || !strings.Contains(n[0], "still Dis") {
		t.Errorf("notes %q", n)
	}

	// Undo data saying drain mode was already on: in leaves it.
	drainByHand(t, dis)
	if changed, err := dis.In(ctx, json.RawMessage(`{"before":"Init Drn Dis Ok"}`)); changed || err != nil {
		t.Errorf("in with drain on before: %v %v", changed, err)
	}
	if w := apacheWorker(t, dis); !w.Has("Drn") {
		t.Errorf("drain mode cleared although it was on before out: %q", w.Status)
	}
}

// drainByHand sets the worker's drain mode through balancer-manager.
func drainByHand(t *testing.T, a *Apache) {
	t.Helper()
	b, w, err := a.load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.set(context.Background(), b, w, true); err != nil {
		t.Fatal(err)
	}
}

func TestApacheUnknownTargets(t *testing.T) {
	needApache(t)
	b1 := newCountingBackend(t)
	ap := apachetest.Start(t, "", apachetest.Member{URL: b1.URL})
	ctx := context.Background()
	for _, tc := range []struct{ target, want string }{
		{ap.Manager() + "#web/http://127.0.0.1:1", "no worker \"http://127.0.0.1:1\" in balancer://web (it has: " + b1.URL + ")"},
		{ap.Manager() + "#wbe/" + b1.URL, "no balancer \"wbe\" at " + ap.Manager() + " (it has: web); did you mean web?"},
		{ap.URL("/x") + "#web/" + b1.URL, "not an Apache balancer-manager page"},
	} {
		m := newApacheMethod(t, tc.target, Options{})
		_, err := m.Out(ctx, func(any) error { t.Error("save called"); return nil })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.target, err, tc.want)
		}
		if strings.Contains(tc.want, "no ") && !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v is not ErrConfig", tc.target, err)
		}
		if st, _ := m.Status(ctx); st != Unknown {
			t.Errorf("%s: status %s", tc.target, st)
		}
	}
	if w := (apacheWorker(t, newApacheMethod(t, ap.Manager()+"#web/"+b1.URL, Options{}))); w.Has("Drn") {
		t.Error("changed")
	}
}

// TestApacheIgnoredChange: a proxy that drops the Referer makes Apache
// ignore the form (AH10187) while answering 200: out must see it by reading
// back, fail, and leave the worker in.
func TestApacheIgnoredChange(t *testing.T) {
	needApache(t)
	b1 := newCountingBackend(t)
	ap := apachetest.Start(t, "", apachetest.Member{URL: b1.URL})
	up, _ := url.Parse("http://" + ap.Addr)
	rp := httputil.NewSingleHostReverseProxy(up)
	strip := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Del("Referer")
		rp.ServeHTTP(w, r)
	}))
	defer strip.Close()
	m := newApacheMethod(t, strip.URL+"/balancer-manager#web/"+b1.URL, Options{})
	ctx := context.Background()
	_, err := m.Out(ctx, func(any) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "Apache ignored the change") {
		t.Fatalf("out through a Referer-stripping proxy: %v", err)
	}
	if st, err := m.Status(ctx); st != In || err != nil {
		t.Errorf("status %s %v, want IN", st, err)
	}
	if !strings.Contains(ap.ErrorLog(), "AH10187") {
		t.Errorf("Apache did not log the ignored change:\n%s", ap.ErrorLog())
	}
}

// TestApacheCredentials: a balancer-manager behind basic auth refuses
// drain without DRAIN_APACHE_USER/PASSWORD (and says so, without the
// password), and accepts them from the environment.
func TestApacheCredentials(t *testing.T) {
	needApache(t)
	b1 := newCountingBackend(t)
	dir := t.TempDir()
	sum := sha1.Sum([]byte("s3cret-pw"))
	pw := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(pw, []byte("ops:{SHA}"+base64.StdEncoding.EncodeToString(sum[:])+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mods := filepath.Dir(must1(apachetest.ModulePath("mod_proxy.so")))
	extra := fmt.Sprintf(`LoadModule auth_basic_module %q
LoadModule authn_core_module %q
LoadModule authn_file_module %q
LoadModule authz_user_module %q
<Location "/balancer-manager">
  AuthType Basic
  AuthName drain
  AuthUserFile %q
  Require valid-user
</Location>`, filepath.Join(mods, "mod_auth_basic.so"), filepath.Join(mods, "mod_authn_core.so"),
		filepath.Join(mods, "mod_authn_file.so"), filepath.Join(mods, "mod_authz_user.so"), pw)
	ap := apachetest.Start(t, extra, apachetest.Member{URL: b1.URL})
	ctx := context.Background()
	target := ap.Manager() + "#web/" + b1.URL

	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	m := newApacheMethod(t, target, Options{Getenv: getenv})
	_, err := m.Out(ctx, func(any) error { t.Error("save called"); return nil })
	if err == nil || !errors.Is(err, apachebm.ErrAuth) || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "set DRAIN_APACHE_USER") {
		t.Fatalf("without credentials: %v", err)
	}
	env["DRAIN_APACHE_USER"], env["DRAIN_APACHE_PASSWORD"] = "ops", "wrong"
	m = newApacheMethod(t, target, Options{Getenv: getenv})
	if _, err = m.Status(ctx); err == nil || strings.Contains(err.Error(), "wrong") || !strings.Contains(err.Error(), "check DRAIN_APACHE_USER") {
		t.Fatalf("wrong password: %v", err)
	}
	env["DRAIN_APACHE_PASSWORD"] = "s3cret-pw"
	m = newApacheMethod(t, target, Options{Getenv: getenv})
	if changed, err := m.Out(ctx, func(any) error { return nil }); err != nil || !changed {
		t.Fatalf("with credentials: %v %v", changed, err)
	}
	if changed, err := m.In(ctx, nil); err != nil || !changed {
		t.Fatalf("in: %v %v", changed, err)
	}
	if strings.Contains(m.Target(), "ops") {
		t.Errorf("target %q holds the user", m.Target())
	}
}

func must1[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestApacheUnreachable(t *testing.T) {
	l := httptest.NewServer(http.NotFoundHandler())
	addr := l.URL
	l.Close()
	m := newApacheMethod(t, addr+"/balancer-manager#web/http://10.0.0.5:8080", Options{})
	st, err := m.Status(context.Background())
	if st != Unknown || err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("status %s, %v", st, err)
	}
	if _, err := m.Out(context.Background(), func(any) error { t.Error("save called"); return nil }); err == nil || errors.Is(err, ErrConfig) {
		t.Errorf("out: %v", err)
	}
}

func TestApacheBadTargets(t *testing.T) {
	for _, tc := range []struct {
		target, want string
		settings     map[string]any
	}{
		{target: "http://lb/balancer-manager", want: "want URL#BALANCER/WORKER_URL"},
		{target: "http://lb/balancer-manager#web", want: "want URL#BALANCER/WORKER_URL"},
		{target: "ftp://lb/bm#web/http://a:1", want: "not an http(s) URL"},
		{target: "http://ops:pw@lb/bm#web/http://a:1", want: "no user or password in the URL"},
		{target: "http://lb/bm?x=1#web/http://a:1", want: "takes no query"},
		{target: "http://lb/bm#web/a1", want: "is not a URL as the balancer names it"},
		{target: "http://lb/bm#web/http://a:1", settings: map[string]any{"user": "x"}, want: `unknown setting "user" (apache has no settings)`},
	} {
		_, err := NewMethod("apache:"+tc.target, Options{Settings: tc.settings})
		if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "pw@") {
			t.Errorf("%s: %v, want %q", tc.target, err, tc.want)
		}
	}
	a := newApacheMethod(t, "HTTP://LB:80/balancer-manager#balancer://web/http://Web1:8080/", Options{})
	if got, want := a.Target(), "http://lb:80/balancer-manager#web/http://web1:8080"; got != want {
		t.Errorf("target %q, want %q", got, want)
	}
}

func TestApachePool(t *testing.T) {
	needApache(t)
	b1, b2, b3 := newCountingBackend(t), newCountingBackend(t), newCountingBackend(t)
	ap := apachetest.Start(t, "",
		apachetest.Member{URL: b1.URL},
		apachetest.Member{URL: b2.URL, Params: "status=+H"},
		apachetest.Member{URL: b3.URL, Params: "status=+D"})
	m := newApacheMethod(t, ap.Manager()+"#web/"+b1.URL, Options{})
	ctx := context.Background()
	if _, err := m.Out(ctx, func(any) error { return nil }); err != nil {
		t.Fatal(err)
	}
	p, err := m.Pool(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "balancer://web" || len(p.Members) != 3 {
		t.Fatalf("pool %+v", p)
	}
	want := []struct {
		admin string
		in    bool
		self  bool
	}{{AdminDrain, false, true}, {AdminEnabled, false, false}, {AdminDisabled, false, false}}
	for i, w := range want {
		mb := p.Members[i]
		if mb.Admin != w.admin || mb.InRotation != w.in || mb.Self != w.self || mb.Health != HealthUp || mb.Sessions == nil || mb.Addr == "" {
			t.Errorf("member %d: %+v, want %+v", i, mb, w)
		}
	}
	if !strings.Contains(p.Members[1].Detail, "hot standby") {
		t.Errorf("standby detail %q", p.Members[1].Detail)
	}
	if _, err := m.In(ctx, nil); err != nil {
		t.Fatal(err)
	}
	p, _ = m.Pool(ctx)
	if !p.Members[0].InRotation || p.Members[0].Admin != AdminEnabled {
		t.Errorf("after in: %+v", p.Members[0])
	}
}

// TestApacheDrainKeepsStickySessions: drain mode (not disabled) is what
// out sets: requests sticky to the worker still reach it, new ones do not.
func TestApacheDrainKeepsStickySessions(t *testing.T) {
	needApache(t)
	a1, a2 := newCountingBackend(t), newCountingBackend(t)
	ap := apachetest.Start(t, "ProxySet balancer://web stickysession=ROUTEID",
		apachetest.Member{URL: a1.URL, Params: "route=a"}, apachetest.Member{URL: a2.URL, Params: "route=b"})
	m := newApacheMethod(t, ap.Manager()+"#web/"+a1.URL, Options{})
	ctx := context.Background()
	if _, err := m.Out(ctx, func(any) error { return nil }); err != nil {
		t.Fatal(err)
	}
	get := func(cookie string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ap.URL("/x?after=1"), http.NoBody)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("HTTP %d", resp.StatusCode)
		}
	}
	for range 10 {
		get("")
	}
	if n := a1.after.Load(); n != 0 {
		t.Errorf("the drained worker got %d of 10 requests without a session", n)
	}
	for range 5 {
		get("ROUTEID=sess1.a")
	}
	if n := a1.after.Load(); n != 5 {
		t.Errorf("the drained worker got %d of 5 requests sticky to it, want all 5", n)
	}
	if _, err := m.In(ctx, nil); err != nil {
		t.Fatal(err)
	}
}
