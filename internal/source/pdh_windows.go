package source

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/drain-cli/drain/internal/source/pdh"
)

// Variables so that tests can play an unelevated process and read a
// recorded applicationHost.config.
var (
	elevated      = pdh.Elevated
	appHostConfig = pdh.AppHostConfig
)

// counterSum is one counter path of a pdh source. For a wildcard path, keep
// selects the instances summed (nil: all but _Total).
type counterSum struct {
	path string
	keep func(instance string) bool
	what string // for notes: what an absent value means
	// aside: this counter's instances say nothing about whether the others
	// are readable (HTTP.sys queues are visible unelevated when worker
	// counters are not), so it is left out of the "nothing has data" rule.
	aside bool
}

// pdhSource reads performance counters through one PDH query kept open
// across polls; its value is the sum of its counters.
type pdhSource struct {
	sums []counterSum
	// confirm, if set, is a counter that reads 0 when an all-absent answer
	// is true (for a pool: its worker processes), for unelevated runs.
	confirm     string
	confirmPool string // the APP_POOL_WAS instance read from confirm's wildcard
	opts        Options

	// busy is set while a read runs in its goroutine (since busySince): a
	// PDH call to a machine that does not answer can block for long and
	// cannot be cancelled, so it is left to finish on its own.
	busyMu    sync.Mutex // guards busy, busySince and note
	busy      bool
	busySince time.Time
	note      string

	mu       sync.Mutex // held by the running read
	q        *pdh.Query
	counters []*pdh.Counter
	check    *pdh.Counter
}

func newPDH(target string, opts Options) (Source, error) {
	if _, err := pdh.Check(target); err != nil {
		return nil, err
	}
	return &pdhSource{sums: []counterSum{{path: target}}, opts: opts}, nil
}

func newIIS(target string, opts Options) (Source, error) {
	pool := target
	if strings.ContainsAny(pool, `\()`) {
		return nil, fmt.Errorf("want iis:APPPOOL (an app pool name), got %q", pool)
	}
	mine := func(inst string) bool {
		p, ok := pdh.WorkerPool(inst)
		return ok && strings.EqualFold(p, pool)
	}
	// HTTP.sys queues are named after the pool ("#N" on duplicates).
	queue := func(inst string) bool { return pdh.SamePool(inst, pool) }
	return &pdhSource{
		sums: []counterSum{
			{path: `\W3SVC_W3WP(*)\Active Requests`, keep: mine, what: "no worker process of pool " + pool},
			{path: `\W3SVC_W3WP(*)\WebSocket Active Requests`, keep: mine, what: "no worker process of pool " + pool},
			{path: `\HTTP Service Request Queues(*)\CurrentQueueSize`, keep: queue, what: "no HTTP.sys queue for pool " + pool, aside: true},
		},
		confirm:     `\APP_POOL_WAS(*)\Current Worker Processes`,
		confirmPool: pool,
		opts:        opts,
	}, nil
}

// siteSource builds a source summing counter over the ASP.NET app domains
// of one IIS site, found by its id in applicationHost.config.
func siteSource(site, object, counter string, opts Options) (Source, error) {
	id, err := pdh.SiteID(appHostConfig(), site)
	if err != nil {
		return nil, err
	}
	return &pdhSource{
		sums: []counterSum{{
			path: `\` + object + `(*)\` + counter,
			keep: func(inst string) bool { return pdh.SiteApp(inst, id) },
			what: fmt.Sprintf("no ASP.NET app domain of site %s (id %d)", site, id),
		}},
		opts: opts,
	}, nil
}

func newASPNet(target string, opts Options) (Source, error) {
	return siteSource(target, "ASP.NET Apps v4.0.30319", "Requests Executing", opts)
}

func newASPNetSessions(target string, opts Options) (Source, error) {
	return siteSource(target, "ASP.NET Applications", "Sessions Active", opts)
}

func newStateServer(target string, opts Options) (Source, error) {
	path := `\ASP.NET State Service\State Server Sessions Active`
	if host := strings.TrimPrefix(target, `\\`); host != "" && host != "." {
		if strings.ContainsAny(host, `\/:`) {
			return nil, fmt.Errorf("want state-server or state-server:HOST, got host %q", target)
		}
		path = `\\` + host + path
	}
	return &pdhSource{sums: []counterSum{{path: path}}, opts: opts}, nil
}

// Note says which counters were absent and counted as 0 at the last read.
func (s *pdhSource) Note() string {
	s.busyMu.Lock() // not mu: a stuck read holds it
	defer s.busyMu.Unlock()
	return s.note
}

func (s *pdhSource) setNote(n string) {
	s.busyMu.Lock()
	s.note = n
	s.busyMu.Unlock()
}

func (s *pdhSource) open() error {
	q, err := pdh.Open()
	if err != nil {
		return err
	}
	var cs []*pdh.Counter
	for _, sum := range s.sums {
		c, err := q.Add(sum.path)
		if err != nil {
			_ = q.Close()
			return err
		}
		cs = append(cs, c)
	}
	if s.confirm != "" {
		// A pool without this counter cannot be confirmed idle; that is
		// decided at read time, so a failure to add it is not an error.
		s.check, _ = q.Add(s.confirm)
	}
	s.q, s.counters = q, cs
	return nil
}

// reset closes the query so the next read starts afresh (after an error
// that may be gone next time, such as a remote machine being unreachable).
func (s *pdhSource) reset() {
	if s.q != nil {
		_ = s.q.Close()
	}
	s.q, s.counters, s.check = nil, nil, nil
}

// Read reads the counters within the read timeout. PDH calls cannot be
// cancelled, and one for a remote machine that does not answer blocks for
// long (tens of seconds), so the read runs in a goroutine: past the timeout
// or on ctx's end the value is unknown and that goroutine goes on alone;
// until it returns, later reads answer "previous read still running" rather
// than pile up stuck calls.
func (s *pdhSource) Read(ctx context.Context) (float64, error) {
	s.busyMu.Lock()
	if s.busy {
		since := time.Since(s.busySince).Round(time.Second)
		s.busyMu.Unlock()
		return 0, fmt.Errorf("previous read still running (for %s): PDH is not answering", since)
	}
	s.busy, s.busySince = true, time.Now()
	s.busyMu.Unlock()

	type result struct {
		v   float64
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := s.readLocked(ctx)
		s.busyMu.Lock()
		s.busy = false
		s.busyMu.Unlock()
		done <- result{v, err}
	}()
	limit := s.opts.ReadTimeout
	if limit <= 0 {
		limit = 5 * time.Second
	}
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-t.C:
		return 0, fmt.Errorf("no answer within the read timeout (%s): %s (a remote machine that does not answer?)", limit, s.sums[0].path)
	}
}

func (s *pdhSource) readLocked(ctx context.Context) (float64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.q == nil {
		if err := s.open(); err != nil {
			return 0, err
		}
	}
	v, err := s.read(ctx)
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		var pe *pdh.Error
		if errors.As(err, &pe) && (pe.Code == pdh.CStatusNoMachine || pe.Code == pdh.CannotConnect) {
			s.reset()
		}
	}
	return v, err
}

func (s *pdhSource) read(ctx context.Context) (float64, error) {
	if err := s.q.Collect(); err != nil && !errors.Is(err, pdh.ErrNoData) {
		return 0, err
	}
	total, absent, none, err := s.sum()
	if errors.Is(err, pdh.ErrNotReady) && s.q.Collects() == 1 {
		// A rate counter: its first sample has nothing to compare with.
		wait := min(time.Second, s.opts.ReadTimeout/2)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		case <-t.C:
		}
		if err := s.q.Collect(); err != nil && !errors.Is(err, pdh.ErrNoData) {
			return 0, err
		}
		total, absent, none, err = s.sum()
	}
	if err != nil {
		return 0, err
	}
	s.setNote("")
	if len(absent) == 0 {
		return finite(total)
	}
	if none {
		if err := s.trustAllAbsent(); err != nil {
			return 0, err
		}
	}
	s.setNote("absent, counted as 0: " + strings.Join(absent, "; "))
	return finite(total)
}

// sum adds up every counter. absent lists, in words for the note, what had
// no instance (idle); none is set when PDH answered "no instance" for every
// counter (or, for a wildcard, only its _Total instance), an answer that
// needs confirming (trustAllAbsent).
func (s *pdhSource) sum() (total float64, absent []string, none bool, err error) {
	noInstance, counted := 0, 0
	note := func(what string) {
		if !slices.Contains(absent, what) {
			absent = append(absent, what)
		}
	}
	for i, c := range s.counters {
		sum := s.sums[i]
		if !sum.aside {
			counted++
		}
		items, err := c.Read()
		if errors.Is(err, pdh.ErrNoInstance) {
			note(cmp(sum.what, sum.path))
			if !sum.aside {
				noInstance++
			}
			continue
		}
		if err != nil {
			return 0, nil, false, err
		}
		n, instances := 0, 0
		for _, it := range items {
			if c.Wildcard && pdh.IsTotal(it.Instance) {
				continue
			}
			instances++
			if c.Wildcard && sum.keep != nil && !sum.keep(it.Instance) {
				continue
			}
			total += it.Value
			n++
		}
		if n == 0 {
			note(cmp(sum.what, sum.path))
		}
		if instances == 0 && !sum.aside {
			// Real Windows answers a wildcard with _Total alone when no
			// instance exists (W3SVC_W3WP with no worker): as much "no
			// instance" as PDH_CSTATUS_NO_INSTANCE, and as much in need of
			// confirming when unelevated.
			noInstance++
		}
	}
	return total, absent, noInstance == counted, nil
}

// trustAllAbsent decides whether "nothing has data" can be believed: an
// unelevated process can get that answer for counters that do exist.
func (s *pdhSource) trustAllAbsent() error {
	if elevated() {
		return nil
	}
	if s.check != nil {
		items, err := s.check.Read()
		found, workers := 0, 0.0
		for _, it := range items {
			if pdh.SamePool(it.Instance, s.confirmPool) {
				found++
				workers += it.Value
			}
		}
		if err == nil && found > 0 && workers == 0 {
			return nil
		}
		if errors.Is(err, pdh.ErrNoInstance) || err == nil && found == 0 {
			return fmt.Errorf("%s: no app pool %q (or not readable without elevation)", s.check.Path, s.confirmPool)
		}
	}
	return errors.New("no counter has data (PDH_NO_DATA) and drain is not elevated, so idle cannot be told from unreadable: run drain as administrator")
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
