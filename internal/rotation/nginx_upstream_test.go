package rotation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/nginxlbtest"
)

// upstreamFile is the pool file the nginx load balancer includes, with
// comments and parameters that out and in must keep byte for byte.
const upstreamFile = `# web pool, managed by hand
server %s weight=2;   # web1
server   %s  max_fails=3 fail_timeout=10s ; # web2
`

func startNginxLB(t *testing.T, backends ...string) *nginxlbtest.LB {
	t.Helper()
	args := make([]any, len(backends))
	for i, b := range backends {
		args[i] = b
	}
	return nginxlbtest.Start(t, fmt.Sprintf(upstreamFile, args...))
}

func lbSettings(lb *nginxlbtest.LB) map[string]any {
	return map[string]any{"test": toAny(lb.Argv("-t")), "reload": toAny(lb.Argv("-s", "reload"))}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func newUpstream(t *testing.T, target string, opts Options) *NginxUpstream {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Second
	}
	m, err := NewMethod("nginx-upstream:"+target, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m.(*NginxUpstream)
}

func hostOf(u string) string { return strings.TrimPrefix(u, "http://") }

// TestNginxUpstreamUnderLoad drains a backend of a real nginx through its
// upstream file while clients go through it: no request fails through out
// and in (two graceful reloads), none sent after the reload reaches the
// drained backend, and in gives back the file's exact bytes.
func TestNginxUpstreamUnderLoad(t *testing.T) {
	a, b := newCountingBackend(t), newCountingBackend(t)
	lb := startNginxLB(t, hostOf(a.URL), hostOf(b.URL))
	orig, _ := os.ReadFile(lb.Upstream)
	m := newUpstream(t, lb.Upstream+"#"+hostOf(a.URL), Options{Settings: lbSettings(lb)})
	ctx := context.Background()

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
			for i := 0; i < 600; i++ {
				select {
				case <-stop:
					return
				default:
				}
				q := "0"
				if after.Load() {
					q = "1"
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, lb.URL("/x?after="+q), http.NoBody)
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
	waitUntil(t, "traffic on both backends", func() bool { return a.all.Load() > 5 && b.all.Load() > 5 })

	old := lb.Workers()
	var saved []byte
	changed, err := m.Out(ctx, func(u any) (err error) { saved, err = json.Marshal(u); return err })
	if err != nil || !changed {
		t.Fatalf("out: %v %v\n%s", changed, err, lb.Log())
	}
	got, _ := os.ReadFile(lb.Upstream)
	want := strings.Replace(string(orig), "weight=2;", "weight=2 down;", 1)
	if string(got) != want {
		t.Fatalf("file after out:\n%s\nwant:\n%s", got, want)
	}
	lb.WaitReloaded(t, old)
	after.Store(true)
	nb := b.after.Load()
	waitUntil(t, "50 requests after the reload", func() bool { return b.after.Load() >= nb+50 })
	if n := a.after.Load(); n != 0 {
		t.Errorf("the drained backend got %d requests sent after the reload", n)
	}
	if st, err := m.Status(ctx); st != Out || err != nil {
		t.Errorf("status %s %v", st, err)
	}
	if changed, err := m.Out(ctx, func(any) error { t.Error("save called"); return nil }); changed || err != nil {
		t.Errorf("second out: %v %v", changed, err)
	}

	old = lb.Workers()
	changed, err = m.In(ctx, saved)
	if err != nil || !changed {
		t.Fatalf("in: %v %v", changed, err)
	}
	if got, _ := os.ReadFile(lb.Upstream); string(got) != string(orig) {
		t.Errorf("file after in:\n%s\nwant the original:\n%s", got, orig)
	}
	if fi, _ := os.Stat(lb.Upstream); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v after in, want 0640", fi.Mode().Perm())
	}
	lb.WaitReloaded(t, old)
	na := a.all.Load()
	waitUntil(t, "traffic back on the backend", func() bool { return a.all.Load() > na+5 })
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		t.Errorf("%d of %d requests failed, first: %v", failed.Load(), sent.Load(), firstErr.Load())
	}
	if changed, err := m.In(ctx, saved); changed || err != nil {
		t.Errorf("second in: %v %v", changed, err)
	}
}

// TestNginxUpstreamFailedTest: when nginx -t fails, out changes nothing:
// the file keeps its bytes and nginx is not reloaded. A failing reload
// likewise puts the bytes back.
func TestNginxUpstreamFailedTest(t *testing.T) {
	a, b := newCountingBackend(t), newCountingBackend(t)
	lb := startNginxLB(t, hostOf(a.URL), hostOf(b.URL))
	orig, _ := os.ReadFile(lb.Upstream)
	goodConf, _ := os.ReadFile(lb.Conf)
	ctx := context.Background()
	m := newUpstream(t, lb.Upstream+"#"+hostOf(a.URL), Options{Settings: lbSettings(lb)})

	// A configuration error elsewhere (a deploy left a typo).
	if err := os.WriteFile(lb.Conf, append(append([]byte{}, goodConf...), "bogus_directive on;\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	workers := lb.Workers()
	var saved bool
	_, err := m.Out(ctx, func(any) error { saved = true; return nil })
	if err == nil || !strings.Contains(err.Error(), "configuration test `nginx -t") || !strings.Contains(err.Error(), "exit code 1") ||
		!strings.Contains(err.Error(), `unknown directive "bogus_directive"`) || !strings.Contains(err.Error(), "nginx not reloaded") {
		t.Fatalf("out with a broken configuration: %v", err)
	}
	if !saved {
		t.Error("out changed the file without saving undo data first")
	}
	if got, _ := os.ReadFile(lb.Upstream); string(got) != string(orig) {
		t.Errorf("file changed:\n%s", got)
	}
	time.Sleep(300 * time.Millisecond) // a reload would have replaced the workers by now
	if now := lb.Workers(); fmt.Sprint(now) != fmt.Sprint(workers) {
		t.Errorf("nginx workers changed (reloaded?): %v -> %v", workers, now)
	}
	if st, _ := m.Status(ctx); st != In {
		t.Errorf("status %s", st)
	}

	// The reload fails (no pid file): the bytes go back too.
	if err := os.WriteFile(lb.Conf, goodConf, 0o644); err != nil {
		t.Fatal(err)
	}
	pid := filepath.Join(lb.Dir, "nginx.pid")
	pidBytes, _ := os.ReadFile(pid)
	_ = os.Remove(pid)
	_, err = m.Out(ctx, func(any) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "reload `nginx -s reload") || !strings.Contains(err.Error(), "bytes from before are back") {
		t.Fatalf("out with a failing reload: %v", err)
	}
	if got, _ := os.ReadFile(lb.Upstream); string(got) != string(orig) {
		t.Errorf("file changed:\n%s", got)
	}
	noErr(t, os.WriteFile(pid, pidBytes, 0o644))

	// in with a broken configuration: the drained file stays, the server
	// OUT, and a second in once it is fixed puts the original back.
	var undo []byte
	if _, err := m.Out(ctx, func(u any) (err error) { undo, err = json.Marshal(u); return err }); err != nil {
		t.Fatal(err)
	}
	drained, _ := os.ReadFile(lb.Upstream)
	noErr(t, os.WriteFile(lb.Conf, append(append([]byte{}, goodConf...), "bogus_directive on;\n"...), 0o644))
	if _, err := m.In(ctx, undo); err == nil || !strings.Contains(err.Error(), "configuration test") {
		t.Fatalf("in with a broken configuration: %v", err)
	}
	if got, _ := os.ReadFile(lb.Upstream); string(got) != string(drained) {
		t.Errorf("file after a failed in:\n%s", got)
	}
	if st, _ := m.Status(ctx); st != Out {
		t.Errorf("status after a failed in: %s", st)
	}
	noErr(t, os.WriteFile(lb.Conf, goodConf, 0o644))
	if changed, err := m.In(ctx, undo); err != nil || !changed {
		t.Fatalf("in: %v %v", changed, err)
	}
	if got, _ := os.ReadFile(lb.Upstream); string(got) != string(orig) {
		t.Errorf("file after in:\n%s", got)
	}
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestNginxUpstreamChangedSinceOut(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "up.conf")
	orig := "server 10.0.0.5:8080;\nserver 10.0.0.6:8080;\n"
	if err := os.WriteFile(f, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	ok := map[string]any{"test": okCmd(), "reload": okCmd()}
	m := newUpstream(t, f+"#10.0.0.5:8080", Options{Settings: ok})
	ctx := context.Background()
	var saved []byte
	if _, err := m.Out(ctx, func(u any) (err error) { saved, err = json.Marshal(u); return err }); err != nil {
		t.Fatal(err)
	}
	// An edit of other lines since out is not a change of this server's:
	// in removes its `down` and keeps the edit.
	if err := os.WriteFile(f, []byte("server 10.0.0.5:8080 down;\nserver 10.0.0.6:8080;\nserver 10.0.0.7:8080;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if changed, err := m.In(ctx, saved); err != nil || !changed {
		t.Fatalf("in after another line was added: %v %v", changed, err)
	}
	if got, _ := os.ReadFile(f); string(got) != "server 10.0.0.5:8080;\nserver 10.0.0.6:8080;\nserver 10.0.0.7:8080;\n" {
		t.Errorf("in after another line was added: %q", got)
	}
	// An edit of this server's line is a change: refused, untouched.
	edited := "server 10.0.0.5:8080 weight=3 down;\nserver 10.0.0.6:8080;\n"
	if err := os.WriteFile(f, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := m.In(ctx, saved)
	if !errors.Is(err, ErrUpstreamChanged) || !strings.Contains(err.Error(), "--force-restore") {
		t.Fatalf("in after an edit: %v", err)
	}
	if got, _ := os.ReadFile(f); string(got) != edited {
		t.Errorf("file touched: %q", got)
	}
	m = newUpstream(t, f+"#10.0.0.5:8080", Options{Settings: ok, ForceRestore: true})
	if changed, err := m.In(ctx, saved); err != nil || !changed {
		t.Fatalf("in --force-restore: %v %v", changed, err)
	}
	if got, _ := os.ReadFile(f); string(got) != "server 10.0.0.5:8080 weight=3;\nserver 10.0.0.6:8080;\n" {
		t.Errorf("after --force-restore: %q", got)
	}
	// Without undo data in removes `down` from the server's line.
	_ = os.WriteFile(f, []byte("server 10.0.0.5:8080 weight=2  down ; # a\n"), 0o644)
	if changed, err := m.In(ctx, nil); err != nil || !changed {
		t.Fatalf("in without undo: %v %v", changed, err)
	}
	if got, _ := os.ReadFile(f); string(got) != "server 10.0.0.5:8080 weight=2 ; # a\n" {
		t.Errorf("in without undo: %q", got)
	}
}

func TestNginxUpstreamBadTargets(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "up.conf")
	if err := os.WriteFile(f, []byte("upstream web {\n  server 10.0.0.5:8080;\n  server 10.0.0.6:8080 backup;\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		target, want string
		settings     map[string]any
	}{
		{target: f + "#10.0.0.5:8081", want: `no server "10.0.0.5:8081" in ` + f + " (it has: 10.0.0.5:8080, 10.0.0.6:8080); did you mean 10.0.0.5:8080?"},
		{target: filepath.Join(dir, "none.conf") + "#a:1", want: "none.conf not found"},
		{target: f, want: "want FILE#SERVER_ADDR"},
		{target: f + "#10.0.0.5:8080", settings: map[string]any{"tset": []any{"true"}}, want: `unknown setting "tset" (settings: test, reload); did you mean test?`},
		{target: f + "#10.0.0.5:8080", settings: map[string]any{"test": "nginx -t"}, want: "rotation.nginx-upstream.test: want a list of strings"},
		{target: f + "#10.0.0.5:8080", settings: map[string]any{"reload": []any{}}, want: "rotation.nginx-upstream.reload: want a list"},
	} {
		m, err := NewMethod("nginx-upstream:"+tc.target, Options{Settings: tc.settings})
		if err == nil {
			_, err = m.Out(ctx, func(any) error { t.Error("save called"); return nil })
		}
		if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.target, err, tc.want)
		}
	}
	m := newUpstream(t, f+"#10.0.0.5:8080", Options{})
	p, err := m.Pool(ctx)
	if err != nil || p.Name != "web" || len(p.Members) != 2 || !p.Members[0].Self || !p.Members[0].InRotation ||
		p.Members[1].InRotation || p.Members[1].Detail != "backup" || p.Members[0].Health != HealthUnknown {
		t.Errorf("pool %+v %v", p, err)
	}
	if a, b := newUpstream(t, f+"#10.0.0.5:8080", Options{}), newUpstream(t, filepath.Join(dir, ".", "up.conf")+"#10.0.0.5:8080", Options{}); a.Target() != b.Target() {
		t.Errorf("two spellings, two targets: %s %s", a.Target(), b.Target())
	}
}

func TestMarkDown(t *testing.T) {
	for _, tc := range []struct{ in, addr, want string }{
		{"server a:80;", "a:80", "server a:80 down;"},
		{"server a:80 ;", "a:80", "server a:80 down ;"},
		{"server a weight=2; # c\nserver b;", "a:80", "server a weight=2 down; # c\nserver b;"},
		{"upstream u {\n server a:80 max_fails=1;\n}\nserver { listen 80; }\n", "A:80", "upstream u {\n server a:80 max_fails=1 down;\n}\nserver { listen 80; }\n"},
		{"# server a:80;\nserver a:80; server \"a:80\";", "a:80", "# server a:80;\nserver a:80 down; server \"a:80\" down;"},
	} {
		n := &NginxUpstream{norm: normUpstreamAddr(tc.addr)}
		all, err := parseUpstreams([]byte(tc.in))
		if err != nil {
			t.Fatal(err)
		}
		var mine []upstreamServer
		for _, s := range all {
			if normUpstreamAddr(s.addr) == n.norm {
				mine = append(mine, s)
			}
		}
		got := markDown([]byte(tc.in), mine)
		if string(got) != tc.want {
			t.Errorf("%q: %q, want %q", tc.in, got, tc.want)
		}
		again, _ := parseUpstreams(got)
		var mine2 []upstreamServer
		for _, s := range again {
			if normUpstreamAddr(s.addr) == n.norm {
				mine2 = append(mine2, s)
			}
		}
		if back := unmarkDown(got, mine2); string(back) != tc.in {
			t.Errorf("unmark %q: %q", got, back)
		}
	}
	for _, bad := range []string{"upstream u {", "}", "server 'a"} {
		if _, err := parseUpstreams([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzParseUpstreams(f *testing.F) {
	f.Add(upstreamFile)
	f.Add("upstream u { server a:80 weight=2; } # x")
	f.Fuzz(func(t *testing.T, s string) {
		all, err := parseUpstreams([]byte(s))
		if err != nil {
			return
		}
		out := markDown([]byte(s), all)
		again, err := parseUpstreams(out)
		if err != nil || len(again) != len(all) {
			t.Fatalf("%q -> %q: %v, %d servers, was %d", s, out, err, len(again), len(all))
		}
		for _, sv := range again {
			if _, ok := sv.down(); !ok {
				t.Fatalf("%q -> %q: %s not down", s, out, sv.addr)
			}
		}
	})
}
