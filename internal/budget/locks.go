package budget

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/drain-cli/drain/internal/clock"
	"github.com/drain-cli/drain/internal/etcdlock"
	"github.com/drain-cli/drain/internal/state"
)

var jsonUnmarshal = json.Unmarshal

// Holder is what both locks write: who holds the pool.
type Holder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	By      string    `json:"by,omitempty"`
	Command string    `json:"command"`
	Server  string    `json:"server,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	Since   time.Time `json:"since"`
}

// Me is this process as a lock holder.
func Me(command, server, reason string) Holder {
	host, _ := os.Hostname()
	return Holder{PID: os.Getpid(), Host: host, By: state.Who(), Command: command, Server: server, Reason: reason, Since: time.Now().UTC()}
}

// LocalKey is the machine-wide lock's target for a pool.
func LocalKey(pool string) string { return "pool:" + pool }

// Local is the machine-wide pool lock: an OS file lock in the state
// directory (state.Store.Lock), freed by the OS when the holder dies.
type Local struct {
	Store state.Store
	Me    Holder
	// Retry is how often a held lock is tried again (100 ms when 0).
	Retry time.Duration
	// Clock is the time of the retries (the real clock when nil).
	Clock clock.Clock
}

// Name implements Locker.
func (l *Local) Name() string { return "this machine's lock" }

// Lock implements Locker: try, and again every Retry (100 ms) while another
// drain on this machine holds it.
func (l *Local) Lock(ctx context.Context, pool string, waiting func(string)) (Held, error) {
	me := state.Holder{PID: l.Me.PID, Host: l.Me.Host, By: l.Me.By, Command: l.Me.Command, Reason: l.Me.Reason, Since: clock.Or(l.Clock).Now().UTC()}
	retry := l.Retry
	if retry <= 0 {
		retry = 100 * time.Millisecond
	}
	for {
		lk, _, err := l.Store.Lock(LocalKey(pool), me)
		if err == nil {
			return localHeld{lk}, nil
		}
		var le *state.LockedError
		if !errors.As(err, &le) {
			return nil, fmt.Errorf("pool lock: %w", err)
		}
		if waiting != nil {
			b, _ := json.Marshal(le.Holder)
			if le.Holder.PID == 0 {
				b = nil
			}
			waiting(string(b))
		}
		if err := clock.Sleep(ctx, l.Clock, retry); err != nil {
			return nil, err
		}
	}
}

type localHeld struct{ l *state.Lock }

func (h localHeld) Lost() error { return nil } // an OS lock is held until released or the process ends
func (h localHeld) Release()    { h.l.Release() }

// Etcd is the pool lock across machines: a lease-bound key in etcd.
type Etcd struct {
	Client *etcdlock.Client
	TTL    time.Duration
	Me     Holder
	// Change is how long a change may take (the rotation's timeout): a
	// lock whose lease has less left than that (half its TTL at most) is
	// too short for the change, and treated as lost.
	Change time.Duration
}

// Name implements Locker.
func (e *Etcd) Name() string { return "etcd " + strings.Join(e.Client.Endpoints, ",") }

// Lock implements Locker.
func (e *Etcd) Lock(ctx context.Context, pool string, waiting func(string)) (Held, error) {
	me := e.Me
	me.Since = time.Now().UTC()
	b, err := json.Marshal(me)
	if err != nil {
		return nil, err
	}
	lk, err := e.Client.Acquire(ctx, etcdlock.LockKey(pool), string(b), e.TTL, waiting)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("pool lock: %w", err)
	}
	return &etcdHeld{lk: lk, c: e.Client, pool: pool, change: e.Change}, nil
}

type etcdHeld struct {
	lk     *etcdlock.Lock
	c      *etcdlock.Client
	pool   string
	change time.Duration
}

// Lost implements Held: the lease expired or the key is gone, or what is
// left of the lease is too short for a change.
func (h *etcdHeld) Lost() error {
	if err := h.lk.Lost(); err != nil {
		return fmt.Errorf("etcd lock %s lost: %w", h.lk.Key(), err)
	}
	need := min(h.change, h.lk.TTL()/2)
	if left := h.lk.Remaining(); left < need {
		return fmt.Errorf("etcd lock %s: only %s of its lease left, less than the %s a change may take", h.lk.Key(), left.Round(time.Millisecond), need)
	}
	return nil
}

func (h *etcdHeld) Release() { h.lk.Release() }

// RecordOut implements Recorder: /drain/pools/<pool>/out/<server>, no
// lease (it says the server is out until 'drain in' removes it).
func (h *etcdHeld) RecordOut(ctx context.Context, server string, r OutRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return h.c.Put(ctx, etcdlock.OutKey(h.pool, server), string(b))
}

// ForgetOut implements Recorder: the change did not happen, or was put
// back.
func (h *etcdHeld) ForgetOut(ctx context.Context, server string) error {
	return h.c.Delete(ctx, etcdlock.OutKey(h.pool, server))
}
