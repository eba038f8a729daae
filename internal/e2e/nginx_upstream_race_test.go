//go:build !windows

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/nginxlbtest"
)

// The disruption budget and the pool lock on an open-source nginx load
// balancer, through its upstream file (issue 23, items 5 and 6), with the
// built binary and a real nginx that tests and reloads every change.

// upstreamBed is a real nginx balancer, its upstream file, real backends,
// and an `nginx` first on PATH that points drain's `nginx -t` and
// `nginx -s reload` at this instance.
type upstreamBed struct {
	lb    *nginxlbtest.LB
	drain string
	dir   string
	env   []string
	addrs map[string]string // backend name -> ADDR as in the file
}

func startUpstreamBed(t *testing.T, names []string, file func(addr map[string]string) string, upstreams ...string) *upstreamBed {
	t.Helper()
	requireServers(t, "nginx")
	b := &upstreamBed{dir: t.TempDir(), addrs: map[string]string{}}
	for _, name := range names {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, name+"\n")
		}))
		t.Cleanup(srv.Close)
		b.addrs[name] = strings.TrimPrefix(srv.URL, "http://")
	}
	if len(upstreams) == 0 {
		b.lb = nginxlbtest.Start(t, file(b.addrs))
	} else {
		b.lb = nginxlbtest.StartUpstreams(t, file(b.addrs), upstreams...)
	}
	real, err := nginxlbtest.Binary()
	must(t, err)
	bin := filepath.Join(b.dir, "bin")
	must(t, os.MkdirAll(bin, 0o755))
	must(t, os.WriteFile(filepath.Join(bin, "nginx"), []byte(fmt.Sprintf("#!/bin/sh\nexec %s \"$@\" %s\n", real, strings.Join(b.lb.Args(), " "))), 0o755))
	b.env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	b.drain = buildDrain(t)
	return b
}

func (b *upstreamBed) rot(name string) string {
	return "nginx-upstream:" + b.lb.Upstream + "#" + b.addrs[name]
}

func (b *upstreamBed) run(ctx context.Context, args ...string) result {
	return runDrain(ctx, b.drain, b.env, args...)
}

// live counts the servers of upstream ("" for the file's top-level lines)
// not marked down in the file: what nginx runs once the change is tested
// and reloaded (drain writes it by rename, so a read is never half one).
func (b *upstreamBed) live(upstream string) (int, error) {
	data, err := os.ReadFile(b.lb.Upstream)
	if err != nil {
		return 0, err
	}
	n := 0
	cur := ""
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if name, ok := strings.CutPrefix(l, "upstream "); ok {
			cur = strings.TrimSpace(strings.TrimSuffix(name, "{"))
			continue
		}
		if l == "}" {
			cur = ""
			continue
		}
		if strings.HasPrefix(l, "server ") && cur == upstream && !strings.Contains(strings.Split(l, ";")[0], " down") {
			n++
		}
	}
	return n, nil
}

// upstreamSampler reads the file every 10 ms and asks nginx for a page
// every 20 ms, until stopped: the fewest live servers, and requests nginx
// failed (a 502 when no server of the upstream is left).
type upstreamSampler struct {
	stop, done chan struct{}
	fewest     int
	samples    int
	failed     []string
	err        error
}

func (b *upstreamBed) sample(upstream, path string) *upstreamSampler {
	s := &upstreamSampler{stop: make(chan struct{}), done: make(chan struct{}), fewest: 99}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wg.Add(1)
	go func() { // nginx's answers
		defer wg.Done()
		client := &http.Client{Timeout: 5 * time.Second}
		deadline := time.Now().Add(2 * time.Minute)
		for i := 0; i < 6000 && time.Now().Before(deadline); i++ {
			resp, err := client.Get(b.lb.URL(path))
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("HTTP %d", resp.StatusCode)
				}
			}
			if err != nil {
				mu.Lock()
				s.failed = append(s.failed, err.Error())
				mu.Unlock()
			}
			select {
			case <-s.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	go func() {
		defer close(s.done)
		defer wg.Wait()
		deadline := time.Now().Add(2 * time.Minute) // bounded whatever happens
		for time.Now().Before(deadline) {
			n, err := b.live(upstream)
			if err != nil {
				s.err = err
				return
			}
			s.samples++
			s.fewest = min(s.fewest, n)
			select {
			case <-s.stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return s
}

func (s *upstreamSampler) end(t *testing.T) (int, []string) {
	t.Helper()
	close(s.stop)
	<-s.done
	if s.err != nil {
		t.Fatalf("sampling the upstream file: %v", s.err)
	}
	t.Logf("%d samples of the upstream file, fewest live %d; %d request(s) through nginx failed", s.samples, s.fewest, len(s.failed))
	return s.fewest, s.failed
}

// raceOuts starts `drain out` on each server at the same moment.
func (b *upstreamBed) raceOuts(t *testing.T, args func(name string) []string, names ...string) []result {
	t.Helper()
	return raceAll(names, func(ctx context.Context, name string) result { return b.run(ctx, args(name)...) })
}

// nginxWinnerAndLoser: exactly one drain got the slot (exit 0), the other
// was refused (exit 5) with the budget's line and nothing changed.
func (b *upstreamBed) nginxWinnerAndLoser(t *testing.T, res []result) (result, result) {
	t.Helper()
	return oneWinner(t, "", res, func(loser string) string {
		return fmt.Sprintf("refused: taking %s out would leave 0 in rotation, the budget is 1", b.addrs[loser])
	})
}

// nginxRace: two drains race for the last free slot of a real nginx
// upstream of three (C down by hand) with --min-in-rotation 1, round after
// round: the file never has fewer than one live server, nginx never fails a
// request, exactly one drain wins each round, and the pool lock (one per
// upstream file) is what decides it.
func nginxRace(t *testing.T, extra func(b *upstreamBed, name string) []string) {
	b := startUpstreamBed(t, []string{"A", "B", "C"}, func(a map[string]string) string {
		return fmt.Sprintf("# web pool\nserver %s;\nserver %s weight=2;\nserver %s down; # by hand\n", a["A"], a["B"], a["C"])
	})
	orig, err := os.ReadFile(b.lb.Upstream)
	must(t, err)
	for round := range 4 { // a few rounds: the race is decided by timing
		old := b.lb.Workers()
		s := b.sample("", "/")
		res := b.raceOuts(t, func(name string) []string {
			return append([]string{"out", "--rotate", b.rot(name), "--min-in-rotation", "1", "--reason", "race " + name}, extra(b, name)...)
		}, "A", "B")
		// nginx's reload is asynchronous: go on asking it until the
		// workers of before the race are gone (every new connection then
		// meets the last configuration), and a moment more.
		b.lb.WaitReloaded(t, old)
		time.Sleep(300 * time.Millisecond)
		fewest, failed := s.end(t)
		if fewest < 1 || len(failed) > 0 {
			data, _ := os.ReadFile(b.lb.Upstream)
			t.Fatalf("round %d: the upstream had %d live server(s) during the race, the budget is 1; nginx failed %d request(s) %v; results %+v\n%s", round, fewest, len(failed), failed, res, data)
		}
		win, lose := b.nginxWinnerAndLoser(t, res)
		if n, _ := b.live(""); n != 1 {
			t.Fatalf("round %d: %d live after the race (winner %s, loser %s)", round, n, win.name, lose.name)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		in := b.run(ctx, append([]string{"in", "--rotate", b.rot(win.name)}, extra(b, win.name)...)...)
		cancel()
		if in.code != 0 {
			t.Fatalf("round %d: drain in %s: exit %d\n%s%s", round, win.name, in.code, in.stdout, in.stderr)
		}
		if got, _ := os.ReadFile(b.lb.Upstream); !bytes.Equal(got, orig) {
			t.Fatalf("round %d: after drain in:\n%s\nwant the original:\n%s", round, got, orig)
		}
	}
}

// TestNginxUpstreamBudgetRaceLocal: both drains on this machine (one state
// directory): the machine's pool lock, named by the upstream file.
func TestNginxUpstreamBudgetRaceLocal(t *testing.T) {
	nginxRace(t, func(b *upstreamBed, _ string) []string {
		return []string{"--state-dir", filepath.Join(b.dir, "state")}
	})
}

// TestNginxUpstreamBudgetRaceEtcd: "two machines" (a state directory each,
// so only etcd is shared) sharing the upstream file: the etcd pool lock,
// named by the upstream file.
func TestNginxUpstreamBudgetRaceEtcd(t *testing.T) {
	e := startEtcd(t)
	nginxRace(t, func(b *upstreamBed, name string) []string {
		return []string{"--state-dir", filepath.Join(b.dir, "state-"+name), "--lock", "etcd:" + e.URL}
	})
}

// TestNginxUpstreamBudgetServerInTwoUpstreams: A is in upstream web (with B
// and C) and in upstream api (with B, down). Taking A out would leave api
// with no live server, so the budget refuses (exit 5) though web would keep
// two, and nginx keeps answering /api/; C, only in web, goes.
func TestNginxUpstreamBudgetServerInTwoUpstreams(t *testing.T) {
	b := startUpstreamBed(t, []string{"A", "B", "C"}, func(a map[string]string) string {
		return fmt.Sprintf("upstream web {\n  server %s;\n  server %s;\n  server %s;\n}\nupstream api {\n  server %s;\n  server %s down;\n}\n", a["A"], a["B"], a["C"], a["A"], a["B"])
	}, "web", "api")
	orig, err := os.ReadFile(b.lb.Upstream)
	must(t, err)
	sd := filepath.Join(b.dir, "state")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := b.sample("api", "/api/")
	r := b.run(ctx, "out", "--rotate", b.rot("A"), "--min-in-rotation", "1", "--state-dir", sd)
	fewest, failed := s.end(t)
	if r.code != 5 || !strings.Contains(r.stderr, "would leave 0 in rotation, the budget is 1") {
		t.Errorf("out A (api's last live server): exit %d, want 5 and the budget's refusal\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got, _ := os.ReadFile(b.lb.Upstream); !bytes.Equal(got, orig) || fewest < 1 || len(failed) > 0 {
		t.Fatalf("api had %d live, nginx failed %v; the file:\n%s", fewest, failed, got)
	}
	// C is only in web, which keeps A and B: it goes.
	r = b.run(ctx, "out", "--rotate", b.rot("C"), "--min-in-rotation", "1", "--state-dir", sd)
	if r.code != 0 || !strings.Contains(r.stderr, "budget ok: 2 other(s) of 3 stay in rotation") {
		t.Errorf("out C: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// status --pool names the tightest upstream A leaves; each upstream can
	// be shown by name, with drain's record of C; the file alone is
	// ambiguous (exit 1, naming them).
	r = b.run(ctx, "status", "--pool", b.rot("A"), "--state-dir", sd)
	if r.code != 0 || !strings.Contains(r.stdout, "pool api (the tightest of the upstreams") || !strings.Contains(r.stdout, "1 of 2 in rotation") {
		t.Errorf("status --pool %s: exit %d\n%s%s", b.rot("A"), r.code, r.stdout, r.stderr)
	}
	r = b.run(ctx, "status", "--pool", "nginx-upstream:"+b.lb.Upstream+"#web", "--state-dir", sd)
	if r.code != 0 || !strings.Contains(r.stdout, "pool web ") || !strings.Contains(r.stdout, "2 of 3 in rotation") ||
		!regexp.MustCompile(regexp.QuoteMeta(b.addrs["C"])+` +OUT +disabled +unknown +- +- +out by `).MatchString(r.stdout) {
		t.Errorf("status --pool FILE#web: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = b.run(ctx, "status", "--pool", "nginx-upstream:"+b.lb.Upstream, "--state-dir", sd)
	if r.code != 1 || !strings.Contains(r.stdout, "has the upstreams web, api: name one") {
		t.Errorf("status --pool FILE: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Server lines inside and outside upstream blocks: the pool cannot be
	// known, so the budget refuses it as bad input, nothing changed.
	mixed := fmt.Sprintf("server %s;\nupstream api { server %s; server %s; }\n", b.addrs["A"], b.addrs["A"], b.addrs["B"])
	must(t, os.WriteFile(filepath.Join(b.dir, "mixed.conf"), []byte(mixed), 0o644))
	r = b.run(ctx, "out", "--rotate", "nginx-upstream:"+filepath.Join(b.dir, "mixed.conf")+"#"+b.addrs["A"], "--min-in-rotation", "1", "--state-dir", sd)
	if r.code != 2 || !strings.Contains(r.stderr, "cannot be known") || strings.TrimSpace(r.stdout) != "failed: nothing was changed; server is IN rotation" {
		t.Errorf("out on a mixed file: exit %d, want 2\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got, _ := os.ReadFile(filepath.Join(b.dir, "mixed.conf")); string(got) != mixed {
		t.Errorf("mixed file changed:\n%s", got)
	}
}

// TestNginxUpstreamConcurrentDrains: six `drain out` processes on six
// servers of one upstream file at once, then six `drain in`, against a
// real nginx: every change is kept (the file's lock), each command says
// what it did, and the ins give back the file's exact bytes.
func TestNginxUpstreamConcurrentDrains(t *testing.T) {
	names := []string{"A", "B", "C", "D", "E", "F"}
	b := startUpstreamBed(t, names, func(a map[string]string) string {
		var s strings.Builder
		s.WriteString("# six\n")
		for i, n := range names {
			fmt.Fprintf(&s, "server %s weight=%d; # %s\n", a[n], i+1, n)
		}
		return s.String()
	})
	orig, err := os.ReadFile(b.lb.Upstream)
	must(t, err)
	sd := filepath.Join(b.dir, "state")
	for round := range 2 {
		for _, verb := range []string{"out", "in"} {
			res := b.raceOuts(t, func(name string) []string {
				return []string{verb, "--rotate", b.rot(name), "--state-dir", sd}
			}, names...)
			want := "done; server is OUT of rotation"
			if verb == "in" {
				want = "done; server is IN rotation"
			}
			for _, r := range res {
				if r.code != 0 || strings.TrimSpace(r.stdout) != want {
					t.Errorf("round %d: drain %s %s: exit %d\n%s%s", round, verb, r.name, r.code, r.stdout, r.stderr)
				}
			}
			if n, _ := b.live(""); verb == "out" && n != 0 {
				data, _ := os.ReadFile(b.lb.Upstream)
				t.Fatalf("round %d: after six outs at once %d server(s) are not down:\n%s", round, n, data)
			}
		}
		if got, _ := os.ReadFile(b.lb.Upstream); !bytes.Equal(got, orig) {
			t.Fatalf("round %d: after six ins at once:\n%s\nwant the original:\n%s", round, got, orig)
		}
	}
}
