package rotation

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/drain-cli/drain/internal/apachebm"
)

var osGetenv = os.Getenv

func init() {
	Register(Type{
		Name:    "apache",
		Syntax:  "URL#BALANCER/WORKER_URL",
		Example: "apache:http://lb/balancer-manager#web/http://10.0.0.5:8080",
		Summary: "sets the worker's drain mode (Drn) through Apache's balancer-manager; only its sticky sessions still reach it",
		New:     newApache,
	})
}

// Apache takes a worker out of an Apache httpd mod_proxy_balancer through
// the balancer-manager form: out sets drain mode (status flag N, shown as
// Drn: only requests sticky to the worker still reach it), in clears it.
// It touches no other flag, so a worker the operator had disabled or made a
// hot standby stays so. Changes live in Apache's shared memory and are lost
// on an Apache restart (the page says so).
type Apache struct {
	client  apachebm.Client
	opts    Options
	manager string // the page URL, normalised
	bal     string // balancer name, without balancer://
	worker  string // worker URL as given
	notes   []string
}

// apacheUndo is what in needs: the worker's flags before out.
type apacheUndo struct {
	Before string `json:"before"` // the page's status words, e.g. "Init Dis Ok"
}

// apacheFlags are the status flags drain reads as administrative: Dis
// (disabled) and Stop (stopped) take a worker out like Drn does.
var apacheOutFlags = []string{"Drn", "Dis", "Stop"}

func newApache(target string, opts Options) (Method, error) {
	raw, rest, ok := strings.Cut(target, "#")
	bal, worker, ok2 := strings.Cut(strings.TrimPrefix(strings.TrimSpace(rest), "balancer://"), "/")
	bal = strings.TrimSpace(bal)
	if !ok || !ok2 || bal == "" || strings.TrimSpace(worker) == "" {
		return nil, configErrorf("apache target %q: want URL#BALANCER/WORKER_URL, e.g. http://lb/balancer-manager#web/http://10.0.0.5:8080", apacheShown(target))
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, configErrorf("apache target: %q is not an http(s) URL of a balancer-manager page", apachebm.Shown(raw))
	}
	if u.User != nil {
		return nil, configErrorf("apache target: no user or password in the URL (records and logs would keep it): set DRAIN_APACHE_USER and DRAIN_APACHE_PASSWORD")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, configErrorf("apache target: %q: the balancer-manager URL takes no query", apachebm.Shown(raw))
	}
	wu, err := url.Parse(strings.TrimSpace(worker))
	if err != nil || wu.Scheme == "" || wu.Host == "" {
		return nil, configErrorf("apache target: worker %q is not a URL as the balancer names it, e.g. http://10.0.0.5:8080", worker)
	}
	u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	getenv := opts.Getenv
	if getenv == nil {
		getenv = osGetenv
	}
	hc := opts.Client
	if hc == nil {
		hc = &http.Client{Timeout: opts.Timeout}
	}
	a := &Apache{
		opts:    opts,
		manager: u.String(),
		bal:     bal,
		worker:  strings.TrimSpace(worker),
	}
	a.client = apachebm.Client{URL: a.manager, HTTP: hc, User: getenv("DRAIN_APACHE_USER"), Password: getenv("DRAIN_APACHE_PASSWORD")}
	return a, nil
}

// apacheShown hides a URL's user info in a whole target.
func apacheShown(target string) string {
	raw, rest, _ := strings.Cut(target, "#")
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		u.User = nil
		raw = u.String()
	}
	if rest == "" {
		return raw
	}
	return raw + "#" + rest
}

// Type implements Method.
func (a *Apache) Type() string { return "apache" }

// Target implements Method.
func (a *Apache) Target() string {
	return a.manager + "#" + a.bal + "/" + apachebm.NormURL(a.worker)
}

func (a *Apache) name() string { return "apache " + a.Target() }

func (a *Apache) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	if a.opts.Timeout > 0 {
		return context.WithTimeout(ctx, a.opts.Timeout)
	}
	return context.WithCancel(ctx)
}

// load reads the page and finds the balancer and the worker; an unknown one
// is ErrConfig naming those that exist.
func (a *Apache) load(ctx context.Context) (apachebm.Balancer, apachebm.Worker, error) {
	ctx, cancel := a.ctx(ctx)
	defer cancel()
	bs, err := a.client.Get(ctx)
	if err != nil {
		return apachebm.Balancer{}, apachebm.Worker{}, fmt.Errorf("%s: %w", a.name(), err)
	}
	var names []string
	for _, b := range bs {
		if b.Name != a.bal {
			names = append(names, b.Name)
			continue
		}
		w, ok := b.Worker(a.worker)
		if !ok {
			return b, w, configErrorf("apache: no worker %q in balancer://%s (it has: %s)%s", a.worker, a.bal,
				strings.Join(b.WorkerURLs(), ", "), nearestName(a.worker, b.WorkerURLs()))
		}
		return b, w, nil
	}
	if len(names) == 0 {
		return apachebm.Balancer{}, apachebm.Worker{}, configErrorf("apache: %s lists no balancer (is it the balancer-manager of the Apache that balances?)", apachebm.Shown(a.manager))
	}
	sort.Strings(names)
	return apachebm.Balancer{}, apachebm.Worker{}, configErrorf("apache: no balancer %q at %s (it has: %s)%s", a.bal, apachebm.Shown(a.manager),
		strings.Join(names, ", "), nearestName(a.bal, names))
}

func apacheOut(w apachebm.Worker) bool {
	return slices.ContainsFunc(apacheOutFlags, w.Has)
}

// Status implements Method: OUT when the worker is in drain mode, disabled
// or stopped (no new requests but sticky ones), else IN.
func (a *Apache) Status(ctx context.Context) (Status, error) {
	_, w, err := a.load(ctx)
	if err != nil {
		return Unknown, err
	}
	if apacheOut(w) {
		return Out, nil
	}
	return In, nil
}

// set posts the drain flag and reads it back.
func (a *Apache) set(ctx context.Context, b apachebm.Balancer, w apachebm.Worker, drain bool) (apachebm.Worker, error) {
	pctx, cancel := a.ctx(ctx)
	err := a.client.SetFlags(pctx, b, w.URL, map[string]bool{"N": drain})
	cancel()
	if err != nil {
		return w, fmt.Errorf("%s: set drain mode %v: %w", a.name(), drain, err)
	}
	_, got, err := a.load(ctx)
	if err != nil {
		return w, err
	}
	if got.Has("Drn") != drain {
		return got, fmt.Errorf("%s: status is %q after setting drain mode %v: Apache ignored the change (a stale nonce, or a Referer it does not accept: see AH10187 in its error log)", a.name(), got.Status, drain)
	}
	return got, nil
}

// Out implements Method: drain mode on, unless the worker is already out
// (drained, disabled or stopped, as Status reads it): then nothing changes
// and in leaves it as the operator left it.
func (a *Apache) Out(ctx context.Context, save func(any) error) (bool, error) {
	b, w, err := a.load(ctx)
	if err != nil {
		return false, err
	}
	if apacheOut(w) {
		return false, nil
	}
	if err := save(apacheUndo{Before: w.Status}); err != nil {
		return false, err
	}
	if _, err := a.set(ctx, b, w, true); err != nil {
		return false, err
	}
	return true, nil
}

// In implements Method: drain mode off, unless the undo data says it was
// already on before out. Other flags are left as they are; one that differs
// from before out (or keeps the worker out) is named in Notes.
func (a *Apache) In(ctx context.Context, undo json.RawMessage) (bool, error) {
	a.notes = nil
	var u *apacheUndo
	if len(undo) > 0 && string(undo) != "null" {
		u = &apacheUndo{}
		if err := json.Unmarshal(undo, u); err != nil {
			return false, fmt.Errorf("%s: undo data: %w", a.name(), err)
		}
	}
	b, w, err := a.load(ctx)
	if err != nil {
		return false, err
	}
	before := apachebm.Worker{}
	if u != nil {
		before.Flags = strings.Fields(u.Before)
		if before.Has("Drn") {
			a.notes = append(a.notes, fmt.Sprintf("%s left in drain mode: it was already %q before out", a.name(), u.Before))
			return false, nil
		}
	}
	changed := false
	if w.Has("Drn") {
		if w, err = a.set(ctx, b, w, false); err != nil {
			return false, err
		}
		changed = true
	}
	// A hot standby or spare is in rotation as such: only the flags that
	// keep the worker out are worth a note.
	for _, f := range []string{"Dis", "Stop"} {
		switch {
		case w.Has(f) && u != nil && before.Has(f):
			a.notes = append(a.notes, fmt.Sprintf("%s left %s as it was before out (%q)", a.name(), f, u.Before))
		case w.Has(f):
			a.notes = append(a.notes, fmt.Sprintf("%s is still %s: drain sets only drain mode, so it leaves that to you (balancer-manager)", a.name(), f))
		}
	}
	return changed, nil
}

// Notes implements Noter.
func (a *Apache) Notes() []string { return a.notes }

// PoolID implements the pool identity (budget locks and etcd records): the
// balancer-manager page and the balancer, not the worker, e.g.
// "apache:http://lb/balancer-manager#web", so that drains of two workers of
// one balancer take one lock. The page is named with its default port and a
// trailing slash dropped: two spellings of one page give one ID.
func (a *Apache) PoolID() string {
	u, err := url.Parse(a.manager)
	if err != nil {
		return "apache:" + a.manager + "#" + a.bal
	}
	u.Host = strings.TrimSuffix(u.Host, map[string]string{"http": ":80", "https": ":443"}[u.Scheme])
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return "apache:" + u.String() + "#" + a.bal
}

// Pool implements Pooler: the balancer's workers as balancer-manager shows
// them. Sessions is the Busy column (requests Apache has in flight to the
// worker).
func (a *Apache) Pool(ctx context.Context) (Pool, error) {
	b, _, err := a.load(ctx)
	if err != nil {
		return Pool{}, err
	}
	p := Pool{Name: "balancer://" + b.Name}
	self := apachebm.NormURL(a.worker)
	for _, w := range b.Workers {
		m := Member{Name: w.URL, Admin: AdminEnabled, Health: HealthUp, Detail: w.Status, Sessions: w.Busy}
		if u, err := url.Parse(w.URL); err == nil {
			m.Addr = u.Host
		}
		switch {
		case w.Has("Dis") || w.Has("Stop"):
			m.Admin = AdminDisabled
		case w.Has("Drn"):
			m.Admin = AdminDrain
		}
		if w.Has("Err") || w.Has("HcFl") {
			m.Health = HealthDown
		}
		standby := w.Has("Stby") || w.Has("Spar")
		m.InRotation = m.Admin == AdminEnabled && m.Health == HealthUp && !standby
		if standby {
			m.Detail += " (hot standby: used only when the others fail)"
		}
		if w.Elected != nil {
			m.Detail += fmt.Sprintf(", elected %.0f", *w.Elected)
		}
		m.Self = apachebm.NormURL(w.URL) == self
		p.Members = append(p.Members, m)
	}
	return p, nil
}
