package rotation

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/drain-cli/drain/internal/redact"
	"github.com/drain-cli/drain/internal/usage"
)

// Method is one way of taking a server out of rotation: a keep-alive page,
// HAProxy's runtime API, Apache's balancer-manager, ... Each method type is
// one file that implements Method and calls Register in an init function.
//
// A Method knows nothing of records, locks or other methods: it is given its
// own undo data back, opaque to everyone else, and the engine combines
// several methods all-or-nothing.
type Method interface {
	// Type is the registered type name, e.g. "keepalive".
	Type() string
	// Target is the canonical target (a resolved path, a normalised
	// address): records and locks are keyed by Type()+":"+Target(), so two
	// spellings of one target must give the same string. It never holds a
	// secret.
	Target() string
	// Status reads where the server stands. An error means it cannot be
	// told (unreachable, refused, a state drain did not make); with an error
	// the status is still IN or OUT when that much is known, else Unknown.
	// ErrMixed marks parts that disagree (several HAProxy instances).
	Status(ctx context.Context) (Status, error)
	// Out takes the server out of rotation. Before changing anything it
	// calls save with its undo data (any value that marshals to JSON: the
	// state before, the original bytes, ...), so that a crash at any point
	// leaves a record In can undo; it may call save again with more. It
	// verifies the change by reading it back. changed is false when the
	// server was already out (then save may not have been called).
	// Errors wrapping ErrConfig are usage errors: nothing was changed.
	Out(ctx context.Context, save func(undo any) error) (changed bool, err error)
	// In puts the server back, undoing exactly what the undo data (as saved
	// by Out, possibly by an earlier release) says; undo is nil when there
	// is no record: then In puts the server back by the method's defaults.
	// It verifies the change by reading it back. changed is false when the
	// server was already in.
	In(ctx context.Context, undo json.RawMessage) (changed bool, err error)
}

// Optional interfaces a Method may implement, found by type assertion (as
// source.Noter is for sources).
type (
	// Prober is a method whose load balancer learns of the change only by
	// probing (a keep-alive page), not at once (an API): the engine then
	// warns when neither --lb-grace nor --verify-url covers the probe delay.
	Prober interface{ Probed() bool }

	// Noter is a method with something to say about its last In: a piece it
	// left as it was, and why. One line each.
	Noter interface{ Notes() []string }

	// Parter is a method made of pieces that may disagree (several HAProxy
	// instances): it lists where each stands, for status.
	Parter interface {
		Parts(ctx context.Context) ([]Part, error)
	}

	// Pooler is a method whose balancer can list the pool the target is in:
	// the servers and whether each is in rotation. The disruption budget
	// and 'drain status --pool' are built on it.
	Pooler interface {
		Pool(ctx context.Context) (Pool, error)
	}
)

// Pool is a load balancer's pool (HAProxy backend, Apache balancer, nginx
// upstream, F5 pool, ELB target group, ARR farm), as the balancer sees it.
type Pool struct {
	Name    string   `json:"name"`
	Members []Member `json:"members"`
}

// Member is one server of a pool.
type Member struct {
	Name string `json:"name"`           // as the balancer names it
	Addr string `json:"addr,omitempty"` // host:port when known
	// Admin is the administrative state, normalised: enabled, drain
	// (sticky/persistent sessions only), disabled; Detail keeps the
	// balancer's own words.
	Admin string `json:"admin"`
	// Health is the balancer's own check: up, down or unknown (no checks).
	Health string `json:"health"`
	// InRotation: admin enabled, not down by the balancer's checks, and
	// given new traffic (HAProxy: weight above 0).
	InRotation bool `json:"in_rotation"`
	// Self marks the member this method's target names.
	Self     bool     `json:"self,omitempty"`
	Sessions *float64 `json:"sessions,omitempty"` // current, when the balancer counts them
	Queue    *float64 `json:"queue,omitempty"`
	Detail   string   `json:"detail,omitempty"`
	// Why says why the member is not in rotation when its admin state and
	// health do not (HAProxy: an effective weight of 0, so no new traffic).
	Why string `json:"why,omitempty"`
	// LeavesWith names the members of this pool whose leaving rotation
	// takes this one out too (HAProxy: it tracks them, directly or through
	// other trackers): a budget counts it as leaving with any of them.
	LeavesWith []string `json:"leaves_with,omitempty"`
	// Failing says the balancer's checks have begun to fail, not yet often
	// enough to call it down (HAProxy: UP 1/3, going down): still in
	// rotation, and not up by a passing check.
	Failing bool `json:"failing,omitempty"`
}

// Admin and health words of a Member.
const (
	AdminEnabled  = "enabled"
	AdminDrain    = "drain"
	AdminDisabled = "disabled"
	HealthUp      = "up"
	HealthDown    = "down"
	HealthUnknown = "unknown"
)

// Options carries what method constructors share. Credentials are never in
// a target or a flag: a method reads them from the environment or a file
// named in its documentation, or from the platform's standard chain.
type Options struct {
	// Client is for HTTP APIs: TLS verification on unless --insecure,
	// --ca-file trusted. Its Timeout bounds one request.
	Client *http.Client
	// Timeout bounds one call to a balancer (socket, command).
	Timeout time.Duration
	// Keep-alive page options (--disabled-name, --down-content,
	// --force-restore); other methods ignore them.
	DisabledName string
	DownContent  *string
	ForceRestore bool
	// Settings is this type's section of the config file's "rotation" map
	// (rotation: {exec: {out: [...], in: [...], status: [...]}}), for
	// settings that have no flag. nil when absent.
	Settings map[string]any
	// Typed is Settings decoded into the type's settings (Type.Settings,
	// by DecodeSettings) before its New is called; nil for a type without.
	Typed any
	// Getenv reads the environment (credentials); os.Getenv when nil.
	Getenv func(string) string
}

// Type describes one registered method type.
type Type struct {
	Name string // e.g. "keepalive"
	// Syntax of the target, e.g. "PATH" or "ADDR#BACKEND/SERVER".
	Syntax  string
	Example string // a whole TYPE:TARGET example
	Summary string // one line: what out does
	// Settings makes the type's settings of the config file's rotation:
	// section, with their defaults: a pointer to a struct whose fields are
	// tagged `setting:"name"`, or to a map from names to such structs
	// (settings.go). nil: the type has none, and refuses any.
	Settings func() any
	// SettingsNote says why a type without settings needs none (where
	// credentials come from), shown when a setting is given.
	SettingsNote string
	// New builds the method; opts.Typed holds the decoded settings.
	New func(target string, opts Options) (Method, error)
	// Pool names a pool on its own ('drain status --pool TYPE:TARGET'
	// without the server); nil: the pool is read through a method target
	// (its Pooler), when the method is one.
	Pool *PoolTarget
}

var (
	regMu sync.RWMutex
	reg   = map[string]Type{}
)

// Register adds a method type; each method file calls it from init.
func Register(t Type) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := reg[t.Name]; dup {
		panic("rotation: type registered twice: " + t.Name)
	}
	// Every way to build a method (NewMethod, NewPool, a budget's check)
	// goes through New: its settings are decoded here, once.
	build := t.New
	t.New = func(target string, opts Options) (Method, error) {
		typed, err := decodeSettings(t, opts.Settings)
		if err != nil {
			return nil, err
		}
		opts.Typed = typed
		return build(target, opts)
	}
	reg[t.Name] = t
}

// Lookup returns the registered type named name.
func Lookup(name string) (Type, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	t, ok := reg[name]
	return t, ok
}

// Types lists the registered method types, sorted by name.
func Types() []Type {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]Type, 0, len(reg))
	for _, t := range reg {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// TypeNames lists the registered type names, sorted.
func TypeNames() []string {
	ts := Types()
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

// Spec is a TYPE:TARGET parsed once, by its type: what --rotate (or a
// shorthand) names, kept typed until the method is built.
type Spec struct {
	Type   Type
	Target string
}

// String is TYPE:TARGET.
func (s Spec) String() string { return s.Type.Name + ":" + s.Target }

// New builds the method with opts; the type's settings come from
// opts.Settings. Errors wrap ErrConfig: nothing was changed. A usage error
// the method gave no hint gets the type's (Hint).
func (s Spec) New(opts Options) (Method, error) {
	m, err := s.Type.New(s.Target, opts)
	return m, usage.WithHint(err, s.Hint())
}

// Hint says how the target of the spec's type is written.
func (s Spec) Hint() string { return s.Type.Hint() }

// Hint says how the type's target is written.
func (t Type) Hint() string {
	return fmt.Sprintf("check the %s target, %s (e.g. %s)", t.Name, t.Syntax, t.Example)
}

// typesHint is the hint for a spec whose type is missing or unknown.
const typesHint = "docs/balancers.md lists every type and its target, e.g. --rotate keepalive:/var/www/keepalive.htm"

// Parse reads TYPE:TARGET as flag (--rotate, --keepalive, --haproxy,
// --pool) gives it. Errors are *usage.Error naming flag and raw, with a
// hint.
func Parse(flag, raw string) (Spec, error) {
	t, target, err := parseSpec(flag, raw)
	return Spec{Type: t, Target: target}, err
}

// ParseSpec splits TYPE:TARGET as --rotate gives it. An unknown type is an
// ErrConfig error that lists the known types and the closest one.
func ParseSpec(spec string) (Type, string, error) { return parseSpec("--rotate", spec) }

// parseSpec is ParseSpec for the flag that gave spec (--rotate, --pool):
// its errors name that flag.
func parseSpec(flag, spec string) (Type, string, error) {
	typ, target, ok := strings.Cut(strings.TrimSpace(spec), ":")
	typ = strings.ToLower(strings.TrimSpace(typ))
	names := TypeNames()
	bad := func(hint, format string, a ...any) error {
		return &usage.Error{Flag: flag, Spec: redact.String(spec), Msg: fmt.Sprintf(format, a...), Hint: hint}
	}
	types := typesHint
	if flag == "--pool" {
		types = Type{}.poolHint() // the pool targets
	}
	if !ok || typ == "" {
		return Type{}, "", bad(types, "want TYPE:TARGET (types: %s)", strings.Join(names, ", "))
	}
	t, known := Lookup(typ)
	if !known {
		return Type{}, "", bad(types, "unknown type %q (types: %s)%s", typ, strings.Join(names, ", "), nearestName(typ, names))
	}
	target = strings.TrimSpace(target)
	if target == "" {
		return Type{}, "", bad(t.Hint(), "empty target after %q (e.g. %s)", typ+":", t.Example)
	}
	return t, target, nil
}

// NewMethod builds the method a TYPE:TARGET spec names. Errors wrap
// ErrConfig (usage errors): nothing was changed.
func NewMethod(spec string, opts Options) (Method, error) {
	t, target, err := ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	m, err := t.New(target, opts)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Key is the record and lock key of a method: TYPE:TARGET.
func Key(m Method) string { return m.Type() + ":" + m.Target() }

type awaitCheckKey struct{}

// AwaitCheck marks ctx for an In after which the server may have been
// restarted since out (drain in --wait-healthy: a deploy ran in between,
// and the caller waits for the balancer's own check), so that the
// balancer's health from checks made before the in is stale: a method
// that can make its balancer wait for a check made after the in, before
// it sends the server new requests, does so (HAProxy: NOLB until its next
// check passes). A put-back within a run, before anything ran, has no such
// mark: the server was never stopped, and goes back at once.
func AwaitCheck(ctx context.Context) context.Context {
	return context.WithValue(ctx, awaitCheckKey{}, true)
}

// awaitsCheck says whether ctx carries AwaitCheck's mark.
func awaitsCheck(ctx context.Context) bool {
	v, _ := ctx.Value(awaitCheckKey{}).(bool)
	return v
}
