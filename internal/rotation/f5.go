package rotation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/drain-cli/drain/internal/f5"
	"github.com/drain-cli/drain/internal/suggest"
)

func init() {
	Register(Type{
		Name:     "f5",
		Syntax:   "https://HOST#/PARTITION/POOL/MEMBER",
		Example:  "f5:https://bigip.example.com#/Common/web_pool/web01:80",
		Summary:  "F5 BIG-IP pool member disabled through iControl REST (session user-disabled; persistent and active connections continue)",
		Settings: func() any { return &f5Settings{} },
		New:      newF5,
		Pool:     poolOfMethod("f5", "https://HOST#/PARTITION/POOL", "f5:https://bigip.example.com#/Common/web_pool", "/", "drain-pool-view:0"),
	})
}

// F5 takes a BIG-IP LTM pool member out of rotation through iControl REST:
// out is {"session":"user-disabled"} (new connections stop, persistent and
// active ones continue), or with the setting offline {"state":"user-down"}
// (forced offline: only active connections continue); in restores the
// member's session and state from before out. Credentials come from
// DRAIN_F5_USER/DRAIN_F5_PASSWORD, DRAIN_F5_TOKEN or the file named by
// DRAIN_F5_CREDENTIALS_FILE; the settings are rotation: {f5: {offline:
// true, auth: basic|token, login_provider: tmos}}.
type F5 struct {
	t       f5.Target
	client  *f5.Client
	offline bool
	timeout time.Duration
}

// f5Undo is what In needs: the member as it was before out.
type f5Undo struct {
	Session string `json:"session"`
	State   string `json:"state"`
}

// f5Settings is rotation: {f5: {...}}.
type f5Settings struct {
	Auth          string `setting:"auth" want:"token or basic"`
	LoginProvider string `setting:"login_provider" want:"a provider name (tmos)"`
	Offline       bool   `setting:"offline"`
}

func newF5(target string, opts Options) (Method, error) {
	t, err := f5.ParseTarget(target)
	if err != nil {
		return nil, configErrorf("f5: %w", err)
	}
	set := opts.Typed.(*f5Settings)
	m := &F5{t: t, timeout: opts.Timeout, offline: set.Offline}
	c := &f5.Client{HTTP: opts.Client, LoginProvider: set.LoginProvider}
	switch set.Auth {
	case "", "token":
	case "basic":
		c.Basic = true
	default:
		return nil, configErrorf("config file rotation.f5.auth: want token or basic, got %v", set.Auth)
	}
	creds, err := f5.LoadCredentials(opts.Getenv)
	if err != nil {
		return nil, configErrorf("f5: %w", err)
	}
	c.Creds = creds
	m.client = c
	return m, nil
}

// Type implements Method.
func (m *F5) Type() string { return "f5" }

// Target implements Method.
func (m *F5) Target() string { return m.t.String() }

func (m *F5) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	if m.timeout > 0 {
		return context.WithTimeout(ctx, m.timeout)
	}
	return context.WithCancel(ctx)
}

// name says which BIG-IP too: an error must name the balancer that failed.
func (m *F5) name() string { return "f5 " + m.t.String() }

// read reads the member; an unknown member or pool is ErrConfig naming
// the members that exist.
func (m *F5) read(ctx context.Context) (f5.Member, error) {
	ctx, cancel := m.ctx(ctx)
	defer cancel()
	mem, err := m.client.Member(ctx, m.t)
	if err == nil {
		return mem, nil
	}
	if errors.Is(err, f5.ErrNotFound) {
		return f5.Member{}, m.unknown(ctx)
	}
	return f5.Member{}, fmt.Errorf("%s: %w", m.name(), err)
}

func (m *F5) unknown(ctx context.Context) error {
	members, err := m.client.Members(ctx, m.t)
	if errors.Is(err, f5.ErrNotFound) {
		return configErrorf("f5: no pool %s on %s", m.t.PoolPath(), m.t.Base)
	}
	if err != nil {
		return configErrorf("f5: no member %s in pool %s (listing the pool: %w)", m.t.Member, m.t.PoolPath(), err)
	}
	names := make([]string, len(members))
	for i, x := range members {
		names[i] = x.Name
	}
	msg := fmt.Sprintf("f5: no member %q in pool %s (it has: %s)", m.t.Member, m.t.PoolPath(), someNames(names))
	if s := suggest.Similar(m.t.Member, names, 1); len(s) > 0 {
		msg += "; did you mean " + s[0] + "?"
	}
	return configErrorf("%s", msg)
}

func f5Status(mem f5.Member) Status {
	if mem.Disabled() {
		return Out
	}
	return In
}

// Status implements Method: OUT when the member is disabled or forced
// offline, else IN (whatever its monitor says).
func (m *F5) Status(ctx context.Context) (Status, error) {
	mem, err := m.read(ctx)
	if err != nil {
		return Unknown, err
	}
	return f5Status(mem), nil
}

// verify reads the member back until it is where want says, a few times
// (a BIG-IP applies a PATCH before answering; the retries cover a device
// group sync in between).
func (m *F5) verify(ctx context.Context, want func(f5.Member) bool) (f5.Member, error) {
	var mem f5.Member
	var err error
	for i := range 4 {
		if i > 0 {
			select {
			case <-ctx.Done():
				return mem, ctx.Err()
			case <-time.After(250 * time.Millisecond):
			}
		}
		mem, err = m.read(ctx)
		if err == nil && want(mem) {
			return mem, nil
		}
	}
	if err != nil {
		return mem, err
	}
	return mem, fmt.Errorf("%s: the BIG-IP accepted the change but the member reads session %s, state %s", m.name(), mem.Session, mem.State)
}

// Out implements Method.
func (m *F5) Out(ctx context.Context, save func(undo any) error) (bool, error) {
	mem, err := m.read(ctx)
	if err != nil {
		return false, err
	}
	if mem.Disabled() && (!m.offline || mem.State == "user-down") {
		return false, nil
	}
	if err := save(f5Undo{Session: mem.Session, State: mem.State}); err != nil {
		return false, err
	}
	patch := map[string]string{"session": "user-disabled"}
	if m.offline {
		patch["state"] = "user-down"
	}
	pctx, cancel := m.ctx(ctx)
	err = m.client.Patch(pctx, m.t, patch)
	cancel()
	if err != nil {
		return false, fmt.Errorf("%s: %w", m.name(), err)
	}
	_, err = m.verify(ctx, func(x f5.Member) bool {
		return x.Session == "user-disabled" && (!m.offline || x.State == "user-down")
	})
	return true, err
}

// In implements Method: the session and state from before out (enabled,
// or disabled without being forced offline when that is what it was);
// with no record, enabled.
func (m *F5) In(ctx context.Context, undo json.RawMessage) (bool, error) {
	prev := f5Undo{Session: "user-enabled", State: "up"}
	if len(undo) > 0 && string(undo) != "null" {
		if err := json.Unmarshal(undo, &prev); err != nil {
			return false, fmt.Errorf("f5: undo data: %w", err)
		}
	}
	mem, err := m.read(ctx)
	if err != nil {
		return false, err
	}
	wantDisabled := prev.Session == "user-disabled"
	wantDown := prev.State == "user-down"
	if (mem.Session == "user-disabled") == wantDisabled && (mem.State == "user-down") == wantDown {
		return false, nil
	}
	patch := map[string]string{"session": "user-enabled", "state": "user-up"}
	if wantDisabled {
		patch["session"] = "user-disabled"
	}
	if wantDown {
		patch["state"] = "user-down"
	}
	pctx, cancel := m.ctx(ctx)
	err = m.client.Patch(pctx, m.t, patch)
	cancel()
	if err != nil {
		return false, fmt.Errorf("%s: %w", m.name(), err)
	}
	_, err = m.verify(ctx, func(x f5.Member) bool {
		return (x.Session == "user-disabled") == wantDisabled && (x.State == "user-down") == wantDown
	})
	return true, err
}

// PoolID implements the pool identity (budget locks and etcd records): the
// BIG-IP and the pool with its partition, not the member, e.g.
// "f5:https://bigip.example.com#/Common/web_pool".
func (m *F5) PoolID() string { return "f5:" + m.t.Base + "#" + m.t.PoolPath() }

// Pool implements Pooler: the pool's members with F5's session and state.
func (m *F5) Pool(ctx context.Context) (Pool, error) {
	ctx, cancel := m.ctx(ctx)
	defer cancel()
	members, err := m.client.Members(ctx, m.t)
	if errors.Is(err, f5.ErrNotFound) {
		return Pool{}, configErrorf("f5: no pool %s on %s", m.t.PoolPath(), m.t.Base)
	}
	if err != nil {
		return Pool{}, fmt.Errorf("%s: %w", m.name(), err)
	}
	// Sessions where the stats can be read: the pool view stands without.
	conns, _ := m.client.PoolConns(ctx, m.t)
	p := Pool{Name: m.t.PoolPath()}
	for _, x := range members {
		mb := Member{
			Name: x.Name, Addr: f5Addr(x), Self: x.Name == m.t.Member,
			Detail: "session " + x.Session + ", state " + x.State,
		}
		switch {
		case x.State == "user-down":
			mb.Admin = AdminDisabled
		case x.Session == "user-disabled":
			mb.Admin = AdminDrain // persistent and active connections only
		default:
			mb.Admin = AdminEnabled
		}
		switch x.State {
		case "up":
			mb.Health = HealthUp
		case "down":
			mb.Health = HealthDown
		default: // unchecked, checking, user-down (monitor not shown)
			mb.Health = HealthUnknown
		}
		mb.InRotation = mb.Admin == AdminEnabled && mb.Health != HealthDown
		if v, ok := conns[x.Name]; ok {
			mb.Sessions = &v
		}
		p.Members = append(p.Members, mb)
	}
	return p, nil
}

// f5Addr is the member's address:port: the address field (without a
// route domain %N) and the port from the name.
func f5Addr(x f5.Member) string {
	addr, _, _ := strings.Cut(x.Address, "%")
	i := strings.LastIndexAny(x.Name, ":.")
	if addr == "" || i < 0 {
		return ""
	}
	port := x.Name[i+1:]
	if strings.Contains(addr, ":") {
		return "[" + addr + "]:" + port
	}
	return addr + ":" + port
}

var _ Pooler = (*F5)(nil)
