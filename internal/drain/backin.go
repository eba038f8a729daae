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
func (p *Plan) CanSeeHealth() bool { return len(p.poolers()) > 0 }

// selfHealth reads where a pool's balancer has this server: ok when it is
// admin-enabled and not down by the balancer's checks (no checks: up as
// far as the balancer can tell); what says how it stands.
func selfHealth(pool rotation.Pool) (ok bool, what string) {
	for _, m := range pool.Members {
		if !m.Self {
			continue
		}
		what = fmt.Sprintf("admin %s, health %s", m.Admin, m.Health)
		if m.Detail != "" {
			what += " (" + m.Detail + ")"
		}
		return m.Admin == rotation.AdminEnabled && m.Health != rotation.HealthDown, what
	}
	return false, fmt.Sprintf("not in pool %s", pool.Name)
}

// waitBalancers polls each pool-viewing method until its balancer reports
// the server up, until ctx ends; the error says which did not and how it
// last stood.
func (p *run) waitBalancers(ctx context.Context) error {
	start := time.Now()
	for _, m := range p.poolers() {
		pl := m.(rotation.Pooler)
		name := rotation.Key(m)
		last := "not read yet"
		for {
			pool, err := pl.Pool(ctx)
			if err != nil && ctx.Err() == nil {
				last = "pool unreadable: " + err.Error()
			} else if err == nil {
				ok, what := selfHealth(pool)
				last = what
				if ok {
					p.emit(Event{Event: EvHealthy, Target: name, Message: "the load balancer reports the server up: " + what, Elapsed: secs(time.Since(start))})
					break
				}
			}
			t := time.NewTimer(p.Interval)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("%s: the load balancer does not report the server up after %s (last: %s): %w", name, time.Since(start).Round(time.Second), strings.TrimSpace(last), ctx.Err())
			case <-t.C:
			}
		}
	}
	return nil
}
