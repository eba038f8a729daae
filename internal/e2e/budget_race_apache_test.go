//go:build !windows

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/apachebm"
	"github.com/drain-cli/drain/internal/apachetest"
)

// apachePool3 is a real Apache balancer "web" of three real HTTP workers
// (a, b, c), all in rotation; its pool lock must be one for the balancer,
// whichever worker a drain names.
type apachePool3 struct {
	ap      *apachetest.Server
	workers map[string]string // name -> worker URL as Apache names it
	drain   string
	dir     string
}

func startApachePool3(t *testing.T) *apachePool3 {
	t.Helper()
	requireServers(t, "apache2")
	p := &apachePool3{dir: t.TempDir(), workers: map[string]string{}}
	var members []apachetest.Member
	for _, name := range []string{"a", "b", "c"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = fmt.Fprintln(w, name)
		}))
		t.Cleanup(srv.Close)
		p.workers[name] = srv.URL
		members = append(members, apachetest.Member{URL: srv.URL})
	}
	p.ap = apachetest.Start(t, "", members...)
	p.drain = buildDrain(t)
	return p
}

func (p *apachePool3) rotate(name string) string {
	return "apache:" + p.ap.Manager() + "#web/" + p.workers[name]
}

// inRotation reads the balancer from Apache's own balancer-manager page:
// a worker is in rotation unless drained, disabled, stopped or in error.
func (p *apachePool3) inRotation() (map[string]bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	bs, err := (&apachebm.Client{URL: p.ap.Manager(), HTTP: &http.Client{Timeout: 5 * time.Second}}).Get(ctx)
	if err != nil {
		return nil, err
	}
	in := map[string]bool{}
	for _, b := range bs {
		if b.Name != "web" {
			continue
		}
		for name, u := range p.workers {
			w, ok := b.Worker(u)
			if !ok {
				return nil, fmt.Errorf("balancer-manager lists no worker %s", u)
			}
			in[name] = !w.Has("Drn") && !w.Has("Dis") && !w.Has("Stop") && !w.Has("Err")
		}
	}
	if len(in) != 3 {
		return nil, fmt.Errorf("balancer-manager: balancer web has %d of the 3 workers", len(in))
	}
	return in, nil
}

// sample reads Apache's view every 10 ms until stopped (bounded), keeping
// the fewest workers it saw in rotation.
func (p *apachePool3) sample() *sampler { return sampleFewest(p.inRotation) }

// race starts one drain per worker at the same moment and waits for all.
func (p *apachePool3) race(argsFor func(name string) []string, names ...string) []result {
	return raceAll(names, func(ctx context.Context, name string) result {
		return runDrain(ctx, p.drain, nil, argsFor(name)...)
	})
}

// stateDir is one shared state directory ("one machine"), or with "" a
// directory per worker ("machines of their own": only etcd is shared).
func (p *apachePool3) stateDir(shared, name string) string {
	if shared != "" {
		return shared
	}
	return filepath.Join(p.dir, "state-"+name)
}

// rounds races drains of a and b for the one free slot of a budget of 2
// (three in rotation: one may leave) several times: Apache never shows
// fewer than 2 in rotation, exactly one drain wins (exit 0), the other is
// refused (exit 5) with nothing changed; the winner is put back each round.
func (p *apachePool3) rounds(t *testing.T, shared string, extra ...string) {
	t.Helper()
	for round := range 3 { // a few rounds: the race is decided by timing
		s := p.sample()
		res := p.race(func(name string) []string {
			return append([]string{
				"out", "--rotate", p.rotate(name), "--min-in-rotation", "2",
				"--state-dir", p.stateDir(shared, name), "--reason", "race " + name,
			}, extra...)
		}, "a", "b")
		if fewest := s.end(t); fewest < 2 {
			t.Errorf("round %d: Apache had %d worker(s) in rotation during the race, the budget is 2 (exits: a %d, b %d)", round, fewest, res[0].code, res[1].code)
		}
		win, lose := oneWinner(t, fmt.Sprintf("round %d: ", round), res, func(loser string) string {
			return fmt.Sprintf("refused: taking %s out would leave 1 in rotation, the budget is 2", p.workers[loser])
		})
		in, err := p.inRotation()
		must(t, err)
		if in[win.name] || !in[lose.name] || count(in) != 2 {
			t.Fatalf("round %d: after the race Apache shows %v (winner %s)", round, in, win.name)
		}
		args := append([]string{"in", "--rotate", p.rotate(win.name), "--state-dir", p.stateDir(shared, win.name)}, extra...)
		if out, err := exec.Command(p.drain, args...).CombinedOutput(); err != nil {
			t.Fatalf("round %d: drain in %s: %v\n%s", round, win.name, err, out)
		}
		if in, err := p.inRotation(); err != nil || count(in) != 3 {
			t.Fatalf("round %d: after drain in: %v %v", round, in, err)
		}
	}
}

// Two drains on one machine (one state directory) take two workers of one
// real Apache balancer out at once with --min-in-rotation 2: the
// machine-wide pool lock is the balancer's (manager URL + balancer), not
// the worker's, so exactly one gets the slot.
func TestBudgetRaceApacheLocal(t *testing.T) {
	p := startApachePool3(t)
	p.rounds(t, filepath.Join(p.dir, "state"))
}

// The same on "two machines" (a state directory each): only the etcd lock
// is shared, and it names the balancer too.
func TestBudgetRaceApacheEtcd(t *testing.T) {
	p := startApachePool3(t)
	e := startEtcd(t)
	p.rounds(t, "", "--lock", "etcd:"+e.URL)
	if rec := etcdGet(t, e, "/drain/pools/"); strings.Contains(rec, "/out/") {
		t.Errorf("out record left after the last drain in: %s", rec)
	}
}
