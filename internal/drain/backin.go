package drain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/drain-cli/drain/internal/rotation"
)

// Back in, really ready: drain in can warm the server up before it goes back
// (WarmUp), and with --wait-healthy waits until the load balancer itself
// reports it up (each rotation method with a pool view), not only the
// verify URL.

// Events of in.
const (
	EvWarmUp  = "warmup"  // a warm-up URL answered 2xx as often as asked
	EvHealthy = "healthy" // the load balancer reports the server up
)

// warmUp requests each WarmUp URL until it has answered 2xx WarmUpCount
// times, within Timeout, before anything changes. A URL that does not is a
// timeout (exit 3) with the server left out of rotation; an interrupt too.
func (p *run) warmUp(ctx context.Context) *Outcome {
	if len(p.WarmUp) == 0 {
		return nil
	}
	want := max(p.WarmUpCount, 1)
	client := p.Client // built by the CLI with the TLS settings, as every client
	if client == nil {
		return &Outcome{Result: ResultError, Rotation: p.status(ctx), Unchanged: true, Err: errors.New("warm-up: no HTTP client in the plan")}
	}
	wctx := ctx
	if p.Timeout > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, p.Timeout)
		defer cancel()
	}
	start := time.Now()
	for _, u := range p.WarmUp {
		ok, last := 0, ""
		for ok < want {
			code, err := get(wctx, client, u)
			switch {
			case err != nil:
				last = fmt.Sprintf("unreachable (%v)", unwrapURL(err))
			case code >= 200 && code <= 299:
				ok++
				continue
			default:
				last = fmt.Sprintf("answered %d", code)
			}
			t := time.NewTimer(p.Interval)
			select {
			case <-wctx.Done():
				t.Stop()
				oc := Outcome{Result: ResultTimeout, Rotation: p.status(context.WithoutCancel(ctx))}
				if errors.Is(ctx.Err(), context.Canceled) {
					oc.Result, oc.Err = ResultInterrupted, interrupted(ctx, "while warming up; the server was left out of rotation")
					return &oc
				}
				oc.Err = fmt.Errorf("not warm: warm-up URL %s answered 2xx %d of %d times in %s (last: %s); the server was left OUT of rotation",
					RedactURL(u), ok, want, time.Since(start).Round(time.Second), last)
				oc.Hint = "check the application, then run 'drain in' again (--warm-up-count, --timeout)"
				return &oc
			case <-t.C:
			}
		}
		p.emit(Event{Event: EvWarmUp, Message: fmt.Sprintf("%s answered 2xx %s", RedactURL(u), times(want)), Elapsed: secs(time.Since(start))})
	}
	return nil
}

func times(n int) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}

// get requests u and reads its whole answer (a warm-up is the work of
// answering): the status code, or an error when nothing answered.
func get(ctx context.Context, c *http.Client, u string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, http.NoBody)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<20))
	return resp.StatusCode, nil
}

// poolers are the rotation methods whose balancer lists its pool.
func (p *Plan) poolers() []rotation.Method {
	if p.Rotator == nil {
		return nil
	}
	var out []rotation.Method
	for _, m := range p.Rotator.Methods() {
		if _, ok := m.(rotation.Pooler); ok {
			out = append(out, m)
		}
	}
	return out
}

// CanSeeHealth says whether in --wait-healthy has a balancer to ask.
func (p *Plan) CanSeeHealth() bool { return len(p.poolers()) > 0 || len(p.PoolViews) > 0 }

// balancerView is one balancer's view of the pool to wait on, and its name
// for messages.
type balancerView struct {
	name string
	pool rotation.Pooler
}

// balancerViews are the rotation methods' own pool views, then the pools
// named on their own (--pool).
func (p *Plan) balancerViews() []balancerView {
	var out []balancerView
	for _, m := range p.poolers() {
		out = append(out, balancerView{rotation.Key(m), m.(rotation.Pooler)})
	}
	for _, v := range p.PoolViews {
		out = append(out, balancerView{v.Target(), v})
	}
	return out
}

// backInPoll is how often in --wait-healthy reads the verify URL and the
// balancer's view: --interval when given, else FastInterval, so that it
// returns within a poll of the balancer marking the server up (a read of a
// view or a URL costs about a millisecond of CPU; the wait is short).
func (p *Plan) backInPoll() time.Duration {
	if p.IntervalAuto || p.Interval <= 0 {
		return FastInterval
	}
	return p.Interval
}

// DefaultCheckInterval is HAProxy's default check interval (inter 2s): the
// least time a balancer is taken to check a server again when --lb-grace
// (the balancer's detection time) is not set or is shorter.
const DefaultCheckInterval = 2 * time.Second

// freshAfter is how long the balancer must keep reporting the server up,
// without a change, before drain trusts that a check made after the in
// says so: half as long again as its check takes to notice (--lb-grace, at
// least DefaultCheckInterval), so that at least one check has run.
func (p *Plan) freshAfter() time.Duration {
	return max(p.LBGrace, DefaultCheckInterval) * 3 / 2
}

// selfState reads where a pool's balancer has this server: up when it is
// admin-enabled, not down by the balancer's checks, not failing them (UP
// 1/3), and given traffic (nothing like a weight of 0 keeps it out; a
// backup server counts as up); checked when the balancer runs health checks
// on it; failed when its checks say down or failing; what says how it
// stands.
func selfState(pool rotation.Pool) (up, checked, failed bool, what string) {
	for _, m := range pool.Members {
		if !m.Self {
			continue
		}
		what = fmt.Sprintf("admin %s, health %s", m.Admin, m.Health)
		if m.Detail != "" {
			what += " (" + m.Detail + ")"
		}
		if m.Why != "" {
			what += "; " + m.Why
		}
		if m.Failing {
			what += "; its checks have begun to fail"
		}
		failed = m.Health == rotation.HealthDown || m.Failing
		return m.Admin == rotation.AdminEnabled && !failed && m.Why == "", m.Health != rotation.HealthUnknown, failed, what
	}
	return false, false, false, fmt.Sprintf("not in pool %s", pool.Name)
}

// waitBalancers polls each balancer's view until it reports the server up
// and in rotation from a check made after the in, until ctx ends; the
// error says which did not and how it last stood.
//
// A balancer's "up" may be stale: a restart faster than its check interval
// leaves the checks made before it standing (and HAProxy counts a server
// put back from drain as up at once). So only a check after the in counts:
// the server read down or failing (UP 1/3) by its checks since the in and
// up again, which only a passing check can do; or up with no check seen
// failing for freshAfter since the in, longer than the balancer takes to
// check again (a check that fails in that time shows as failing or down).
// A server the balancer does not check is up as far as it can tell.
func (p *run) waitBalancers(ctx context.Context) error {
	clk := p.clock()
	start := clk.Now()
	fresh := p.freshAfter()
	// Every view is read at every poll, so that two views of one balancer
	// (the rotation method's and --pool naming the same server) both see
	// the check that brings it up.
	views := p.balancerViews()
	type seen struct {
		last    string
		sawDown bool // checks read failing since the in: a later up is a passing check's
		done    bool
	}
	st := make([]seen, len(views))
	for i := range st {
		st[i].last = "not read yet"
	}
	for {
		pending := -1
		for i, v := range views {
			s := &st[i]
			if s.done {
				continue
			}
			pool, err := v.pool.Pool(ctx)
			if err != nil && ctx.Err() == nil {
				s.last = "pool unreadable: " + err.Error()
			} else if err == nil {
				up, checked, failed, what := selfState(pool)
				s.last = what
				s.sawDown = s.sawDown || failed
				why := ""
				switch {
				case !up:
				case !checked:
					why = "no health checks to wait for"
				case s.sawDown:
					why = "a check after the in brought it up"
				case clk.Now().Sub(start) >= fresh:
					why = fmt.Sprintf("no check failed in the %s since the in, longer than a check takes", clk.Now().Sub(start).Round(100*time.Millisecond))
				default:
					s.last += "; no check since the in has changed it yet (up from checks made before?)"
				}
				if why != "" {
					p.emit(Event{Event: EvHealthy, Target: v.name, Message: "the load balancer reports the server up: " + what + "; " + why, Elapsed: secs(clk.Now().Sub(start))})
					s.done = true
					continue
				}
			}
			if pending < 0 {
				pending = i
			}
		}
		if pending < 0 {
			return nil
		}
		t := clk.NewTimer(p.backInPoll())
		select {
		case <-ctx.Done():
			t.Stop()
			v := views[pending]
			return fmt.Errorf("%s: the load balancer does not report the server up after %s (last: %s): %w", v.name, clk.Now().Sub(start).Round(time.Second), strings.TrimSpace(st[pending].last), ctx.Err())
		case <-t.C():
		}
	}
}
