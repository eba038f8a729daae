package cli

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/drain-cli/drain/internal/budget"
	"github.com/drain-cli/drain/internal/clock"
	"github.com/drain-cli/drain/internal/config"
	"github.com/drain-cli/drain/internal/drain"
	"github.com/drain-cli/drain/internal/etcdlock"
	"github.com/drain-cli/drain/internal/redact"
	"github.com/drain-cli/drain/internal/rotation"
	"github.com/drain-cli/drain/internal/state"
)

// budgetLockWait bounds waiting for a pool lock another drain holds, when
// --wait-turn is shorter: a holder keeps it only while it checks the pool
// and takes its server out.
const budgetLockWait = 30 * time.Second

// budgetGate builds the disruption budget (--min-in-rotation, --wait-turn,
// --lock) for run and out: nil without --min-in-rotation. A rotation
// without a pool view, or a bad --lock, is a usage error before anything
// changes.
func budgetGate(cfg *config.Config, rot *rotation.Set, store state.Store, client *http.Client, command string, clk clock.Clock) (drain.Gate, error) {
	if cfg.MinInRotation == 0 && len(cfg.Lock) > 0 {
		return nil, usageErr("add --min-in-rotation N (how many other servers of the pool must stay in rotation)", "--lock needs --min-in-rotation: it locks the disruption budget's check and change")
	}
	if cfg.MinInRotation == 0 || rot == nil {
		return nil, nil
	}
	pool, ids, err := budgetPool(cfg, rot, client)
	if err != nil {
		return nil, err
	}
	if pool == nil {
		return nil, usageErr(fmt.Sprintf("name the pool to read, only read: --pool TYPE:TARGET with this server (e.g. --pool haproxy:/run/haproxy/admin.sock#web/app1 next to --keepalive), or rotate with a method whose balancer lists its pool: %s", strings.Join(poolTypes(), ", ")),
			"--min-in-rotation needs the pool as the load balancer sees it, and %s cannot read it", methodList(rot.Methods()))
	}
	g := &budget.Guard{
		Pooler: pool, Pools: ids, Min: cfg.MinInRotation, WaitTurn: cfg.WaitTurn,
		Interval: cfg.Interval, LockWait: budgetLockWait, Clock: clk,
		Record: budget.OutRecord{Target: rot.Target(), By: state.Who(), PID: os.Getpid(), Command: command, Reason: cfg.Reason},
	}
	g.Record.Host, _ = os.Hostname()
	g.Hold = holdPauses
	if cfg.IntervalAuto {
		// A waiting roll reads the pool every 100 ms and takes its turn as
		// soon as the count allows; the locks are still taken every
		// --interval at most.
		g.Peek = drain.FastInterval
	}
	me := budget.Me(command, rot.Target(), cfg.Reason)
	g.Locks = append(g.Locks, &budget.Local{Store: store, Me: me, Clock: clk})
	if len(cfg.Lock) > 0 {
		ec, err := etcdClient(cfg, client)
		if err != nil {
			return nil, err
		}
		if ec != nil {
			ec.Clock = clk
		}
		g.Locks = append(g.Locks, &budget.Etcd{Client: ec, Me: me, Change: 2 * cfg.ReadTimeout})
	}
	return g, nil
}

// budgetPool is the pool the budget counts and the IDs its locks and etcd
// records name: the --pool view when given (only read, never changed: a
// keep-alive page's balancer), else the rotation methods that read their
// pool. nil, nil, nil when there is neither.
func budgetPool(cfg *config.Config, rot *rotation.Set, client *http.Client) (rotation.Pooler, []string, error) {
	view, err := poolView(cfg, client)
	if err != nil || view != nil {
		if view == nil {
			return nil, nil, err
		}
		id := poolID(view)
		if id == "" {
			id = view.Target()
		}
		return view, []string{id}, nil
	}
	if rot == nil {
		return nil, nil, nil
	}
	var poolers []rotation.Method
	for _, m := range rot.Methods() {
		if _, ok := m.(rotation.Pooler); ok {
			poolers = append(poolers, m)
		}
	}
	if len(poolers) == 0 {
		return nil, nil, nil
	}
	for _, m := range poolers[1:] {
		if m.Type() != poolers[0].Type() {
			return nil, nil, usageErr("give --min-in-rotation one balancer type to read the pool from (several instances of one type are fine), or name one with --pool",
				"--min-in-rotation reads one pool, and these methods are of different balancers: %s", methodList(poolers))
		}
	}
	pool := &budget.Pools{}
	for _, m := range poolers {
		pool.Add(m)
	}
	return pool, pool.IDs(), nil
}

// poolView builds --pool: a pool view that drain only reads, naming this
// server (haproxy:ADDR#BACKEND/SERVER); nil without --pool. A bad one is a
// usage error before anything changes.
func poolView(cfg *config.Config, client *http.Client) (rotation.PoolView, error) {
	if cfg.Pool == nil {
		return nil, nil
	}
	v, err := rotation.NewPoolOf(*cfg.Pool, rotation.Options{Client: client, Timeout: cfg.ReadTimeout * 2, Getenv: os.Getenv})
	if err != nil {
		return nil, err // a usage error with the type's hint
	}
	if hp, ok := v.(*rotation.HAProxyPool); ok && hp.Self == "" {
		return nil, usageErr(fmt.Sprintf("add this server after the backend: --pool haproxy:%s#%s/SERVER", hp.Addr.String(), hp.Backend),
			"--pool %s names no server: the budget and --wait-healthy must know which one is this server", redact.String(cfg.Pool.String()))
	}
	return v, nil
}

// etcdClient is the --lock etcd:URL client; nil without --lock.
func etcdClient(cfg *config.Config, client *http.Client) (*etcdlock.Client, error) {
	if len(cfg.EtcdEndpoints) == 0 {
		return nil, nil
	}
	return &etcdlock.Client{Endpoints: cfg.EtcdEndpoints, HTTP: client, Timeout: max(cfg.ReadTimeout, 2*time.Second)}, nil
}

// clearOutRecord deletes etcd's record of who took this server out
// (/drain/pools/<pool>/out/<server>) once a command leaves it IN: drain
// in, or a run or out that put it back. A failure is a warning: the
// server's state is the balancer's, the record only says who.
func clearOutRecord(ctx context.Context, cfg *config.Config, rot *rotation.Set, emit func(drain.Event)) {
	client, err := httpClient(cfg)
	if err != nil {
		return
	}
	ec, err := etcdClient(cfg, client)
	if err != nil || ec == nil || rot == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	pools, ids, err := budgetPool(cfg, rot, client)
	if err != nil || pools == nil {
		return
	}
	p, err := pools.Pool(ctx)
	if err == nil && len(p.Members) == 0 {
		return
	}
	var c budget.Count
	if err == nil {
		c, err = budget.CountPool(p)
	}
	for _, id := range ids {
		if err == nil {
			err = ec.Delete(ctx, etcdlock.OutKey(id, c.Self))
		}
	}
	if err != nil {
		emit(drain.Event{Event: drain.EvWarning, Message: fmt.Sprintf("the server is IN, but its out record in etcd could not be removed (%v): 'drain status --pool' may still say who took it out", err)})
	}
}

// poolTypes lists the registered rotation types whose methods read their
// pool (implement rotation.Pooler), found by building each from its own
// example target: constructors only parse, and those that want credentials
// are given placeholders (never a file to read).
func poolTypes() []string {
	placeholder := func(name string) string {
		if strings.HasSuffix(name, "_FILE") || strings.HasSuffix(name, "_CREDENTIALS_FILE") {
			return ""
		}
		return "placeholder"
	}
	var out []string
	for _, t := range rotation.Types() {
		_, target, err := rotation.ParseSpec(t.Example)
		if err != nil {
			continue
		}
		m, err := t.New(target, rotation.Options{Client: http.DefaultClient, Timeout: time.Second, Getenv: placeholder})
		if err != nil {
			continue
		}
		if _, ok := m.(rotation.Pooler); ok {
			out = append(out, t.Name)
		}
	}
	sort.Strings(out)
	return out
}

func methodList(ms []rotation.Method) string {
	var s []string
	for _, m := range ms {
		s = append(s, m.Type()+":"+m.Target())
	}
	return strings.Join(s, ", ")
}
