// Package f5 is a small iControl REST client for F5 BIG-IP LTM pool
// members: read a member, change its session/state, list a pool's members,
// read a member's statistics. It is shared by the f5 rotation method and
// the f5 source.
//
// The API, as documented by F5 (iControl REST API reference, "ltm pool
// members") and as seen in real captures:
//
//   - GET   /mgmt/tm/ltm/pool/~PARTITION~POOL/members          the pool's members
//     ({"kind":"tm:ltm:pool:members:memberscollectionstate","items":[{"name":
//     "web01:80","address":"10.0.0.5","session":"monitor-enabled","state":
//     "up",...}]}; capture in pr8kerl/f5er README.md)
//   - GET   .../members/~PARTITION~MEMBER                      one member
//   - PATCH .../members/~PARTITION~MEMBER  {"session":"user-disabled"}
//     (disable: only persistent and active connections), {"state":
//     "user-down"} (force offline), {"session":"user-enabled","state":
//     "user-up"} (enable); the values joel74/POSH-LTM-Rest
//     Disable-PoolMember.ps1 and Enable-PoolMember.ps1 send
//   - GET   .../members/~PARTITION~MEMBER/stats                nested stats:
//     {"entries":{"https://localhost/...":{"nestedStats":{"entries":
//     {"serverside.curConns":{"value":3},"serverside.totConns":{"value":
//     812},"totRequests":{"value":1650},...}}}}} (curConns: connections
//     open to the member now; totConns, totRequests: counters that only
//     grow, connections opened to it and HTTP requests sent to it: the
//     arrivals counter; "ltm pool members stats" in the iControl REST
//     reference, the same names tmsh show ltm pool members lists)
//   - POST  /mgmt/shared/authn/login {"username","password",
//     "loginProviderName":"tmos"} -> {"token":{"token":"...","timeout":1200}};
//     later requests send X-F5-Auth-Token. An expired token is a 401 whose
//     body says "X-F5-Auth-Token has expired." (f5devcentral/f5-cli#8).
//   - Errors: {"code":404,"message":"01020036:3: The requested Pool Member
//     ... was not found.","errorStack":[]}.
package f5

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// Credential environment variables and file (never flags).
const (
	EnvUser     = "DRAIN_F5_USER"
	EnvPassword = "DRAIN_F5_PASSWORD"
	EnvToken    = "DRAIN_F5_TOKEN"
	EnvFile     = "DRAIN_F5_CREDENTIALS_FILE"
)

// ErrNotFound marks a 404: no such pool or member.
var ErrNotFound = errors.New("not found")

// ErrAuth marks refused credentials (401, 403) or none given.
var ErrAuth = errors.New("credentials refused")

// Target is https://HOST#/PARTITION/POOL/MEMBER.
type Target struct {
	Base      string // https://host[:port], no path
	Partition string
	Pool      string // may hold folders: app.app/app_pool
	Member    string // as F5 names it: web01:80, 10.0.0.5:80
}

// ParseTarget reads https://HOST[:PORT]#/PARTITION/POOL/MEMBER.
func ParseTarget(s string) (Target, error) {
	const want = "want https://HOST#/PARTITION/POOL/MEMBER, e.g. https://bigip.example.com#/Common/web_pool/web01:80"
	loc, path, ok := strings.Cut(strings.TrimSpace(s), "#")
	if !ok {
		return Target{}, fmt.Errorf("%q: no '#' before the member: %s", s, want)
	}
	u, err := url.Parse(loc)
	if err != nil || u.Host == "" || u.Scheme == "" {
		return Target{}, fmt.Errorf("%q: not a URL before '#': %s", s, want)
	}
	if u.User != nil {
		return Target{}, fmt.Errorf("credentials in the URL are not accepted: set %s/%s or %s (or %s) in the environment", EnvUser, EnvPassword, EnvToken, EnvFile)
	}
	if u.Scheme != "https" {
		return Target{}, fmt.Errorf("%q: iControl REST is HTTPS only (https://%s)", s, u.Host)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return Target{}, fmt.Errorf("%q: give the management host only before '#' (no path): %s", s, want)
	}
	parts := strings.Split(path, "/")
	if len(parts) < 4 || parts[0] != "" {
		return Target{}, fmt.Errorf("%q: %s", s, want)
	}
	for _, p := range parts[1:] {
		if p == "" || strings.ContainsAny(p, "~?# \t") {
			return Target{}, fmt.Errorf("%q: empty or invalid part %q in /PARTITION/POOL/MEMBER", s, p)
		}
	}
	host := strings.ToLower(u.Host)
	if u.Port() == "443" { // one spelling per BIG-IP: records and locks are keyed by it
		host = strings.TrimSuffix(host, ":443")
	}
	return Target{
		Base:      "https://" + host,
		Partition: parts[1],
		Pool:      strings.Join(parts[2:len(parts)-1], "/"),
		Member:    parts[len(parts)-1],
	}, nil
}

// String is the canonical target.
func (t Target) String() string {
	return t.Base + "#/" + t.Partition + "/" + t.Pool + "/" + t.Member
}

// PoolPath is /PARTITION/POOL.
func (t Target) PoolPath() string { return "/" + t.Partition + "/" + t.Pool }

// tilde encodes a full path the iControl way: /Common/web -> ~Common~web.
func tilde(parts ...string) string {
	return "~" + strings.ReplaceAll(strings.Join(parts, "/"), "/", "~")
}

func (t Target) poolURL() string {
	return t.Base + "/mgmt/tm/ltm/pool/" + tilde(t.Partition, t.Pool) + "/members"
}

func (t Target) memberURL() string {
	return t.poolURL() + "/" + tilde(t.Partition, t.Member)
}

// Member is a pool member as iControl REST shows it.
type Member struct {
	Name     string `json:"name"`
	FullPath string `json:"fullPath,omitempty"`
	Address  string `json:"address,omitempty"`
	Session  string `json:"session"` // monitor-enabled, user-enabled, user-disabled
	State    string `json:"state"`   // up, down, unchecked, checking, user-down
}

// Disabled tells a member no longer taking new connections: disabled
// (session user-disabled) or forced offline (state user-down).
func (m Member) Disabled() bool { return m.Session == "user-disabled" || m.State == "user-down" }

// Credentials for iControl REST.
type Credentials struct {
	User, Password string
	Token          string // a token obtained elsewhere: no refresh
}

// LoadCredentials reads them from DRAIN_F5_TOKEN, DRAIN_F5_USER and
// DRAIN_F5_PASSWORD, or from the file DRAIN_F5_CREDENTIALS_FILE (lines
// user=..., password=..., token=...; # comments). getenv nil is os.Getenv.
func LoadCredentials(getenv func(string) string) (Credentials, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	c := Credentials{User: getenv(EnvUser), Password: getenv(EnvPassword), Token: getenv(EnvToken)}
	if f := getenv(EnvFile); f != "" && c.Token == "" && c.User == "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return Credentials{}, fmt.Errorf("%s: %w", EnvFile, err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			k, v, ok := strings.Cut(line, "=")
			switch k = strings.ToLower(strings.TrimSpace(k)); {
			case !ok:
				return Credentials{}, fmt.Errorf("%s %s line %d: want KEY=VALUE (user, password, token)", EnvFile, f, n)
			case k == "user" || k == "username":
				c.User = strings.TrimSpace(v)
			case k == "password":
				c.Password = strings.TrimSpace(v)
			case k == "token":
				c.Token = strings.TrimSpace(v)
			default:
				return Credentials{}, fmt.Errorf("%s %s line %d: unknown key %q (user, password, token)", EnvFile, f, n, k)
			}
		}
	}
	if c.Token == "" && (c.User == "" || c.Password == "") {
		return Credentials{}, fmt.Errorf("%w: no F5 credentials: set %s and %s, or %s, or %s", ErrAuth, EnvUser, EnvPassword, EnvToken, EnvFile)
	}
	return c, nil
}

// Client talks to one BIG-IP.
type Client struct {
	HTTP  *http.Client
	Creds Credentials
	// Basic sends user and password with every request instead of
	// logging in for a token.
	Basic bool
	// LoginProvider is the login provider name; "tmos" when empty.
	LoginProvider string

	mu    sync.Mutex
	token string // from login
}

// Error is an iControl REST error answer.
type Error struct {
	Status  int
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	msg := strings.Join(strings.Fields(e.Message), " ")
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("iControl REST answered %d: %s", e.Status, msg)
}

// Unwrap maps the status to ErrNotFound or ErrAuth.
func (e *Error) Unwrap() error {
	switch e.Status {
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusUnauthorized, http.StatusForbidden:
		return ErrAuth
	}
	return nil
}

const maxBody = 8 << 20

func (c *Client) login(ctx context.Context, base string) error {
	provider := c.LoginProvider
	if provider == "" {
		provider = "tmos"
	}
	body, _ := json.Marshal(map[string]string{"username": c.Creds.User, "password": c.Creds.Password, "loginProviderName": provider})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/mgmt/shared/authn/login", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	var out struct {
		Token struct {
			Token string `json:"token"`
		} `json:"token"`
	}
	if err := c.send(req, &out); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	if out.Token.Token == "" {
		return errors.New("login: the answer holds no token")
	}
	c.token = out.Token.Token
	return nil
}

// Do sends a request to base+path with JSON body in (nil: none) and decodes
// the answer into out (nil: discard). With token auth it logs in first, and
// again once when the token is refused (expired).
func (c *Client) Do(ctx context.Context, method, url string, in, out any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	base := url
	if i := strings.Index(url, "/mgmt/"); i >= 0 {
		base = url[:i]
	}
	login := c.Creds.Token == "" && !c.Basic
	for attempt := 0; ; attempt++ {
		if login && c.token == "" {
			if err := c.login(ctx, base); err != nil {
				return err
			}
		}
		var body io.Reader
		if in != nil {
			b, err := json.Marshal(in)
			if err != nil {
				return err
			}
			body = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(ctx, method, url, body)
		if err != nil {
			return err
		}
		if in != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		switch {
		case c.Creds.Token != "":
			req.Header.Set("X-F5-Auth-Token", c.Creds.Token)
		case c.Basic:
			req.SetBasicAuth(c.Creds.User, c.Creds.Password)
		default:
			req.Header.Set("X-F5-Auth-Token", c.token)
		}
		err = c.send(req, out)
		var e *Error
		if login && attempt == 0 && errors.As(err, &e) && e.Status == http.StatusUnauthorized {
			c.token = "" // expired or revoked: log in again, once
			continue
		}
		return err
	}
}

func (c *Client) send(req *http.Request, out any) error {
	req.Header.Set("Accept", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		e := &Error{Status: resp.StatusCode}
		_ = json.Unmarshal(b, e)
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("iControl REST answer is not the JSON expected: %w", err)
	}
	return nil
}

// Member reads the target's member.
func (c *Client) Member(ctx context.Context, t Target) (Member, error) {
	var m Member
	err := c.Do(ctx, http.MethodGet, t.memberURL(), nil, &m)
	return m, err
}

// Members lists the target's pool.
func (c *Client) Members(ctx context.Context, t Target) ([]Member, error) {
	var out struct {
		Items []Member `json:"items"`
	}
	err := c.Do(ctx, http.MethodGet, t.poolURL(), nil, &out)
	return out.Items, err
}

// Patch changes the member: fields session and/or state.
func (c *Client) Patch(ctx context.Context, t Target, fields map[string]string) error {
	return c.Do(ctx, http.MethodPatch, t.memberURL(), fields, nil)
}

// CurConns reads the member's serverside.curConns from its stats.
func (c *Client) CurConns(ctx context.Context, t Target) (float64, error) {
	st, err := c.MemberStats(ctx, t)
	return st.CurConns, err
}

// Stats is what drain reads of a member's statistics.
type Stats struct {
	CurConns float64 // serverside.curConns
	// Arrivals is serverside.totConns + totRequests, the BIG-IP's own count
	// of what it sent the member (a sum: with OneConnect a request may
	// reuse a connection, without an HTTP profile totRequests stays 0);
	// HasArrivals is false when the answer has neither.
	Arrivals    float64
	HasArrivals bool
}

// MemberStats reads the member's serverside.curConns and its arrivals
// counters from its stats.
func (c *Client) MemberStats(ctx context.Context, t Target) (Stats, error) {
	var raw map[string]json.RawMessage
	if err := c.Do(ctx, http.MethodGet, t.memberURL()+"/stats", nil, &raw); err != nil {
		return Stats{}, err
	}
	cur, err := curConns(raw)
	if err != nil {
		return Stats{}, err
	}
	st := Stats{CurConns: cur}
	for _, name := range []string{"serverside.totConns", "totRequests"} {
		if v, err := statOf(raw, name); err == nil && v >= 0 {
			st.Arrivals += v
			st.HasArrivals = true
		}
	}
	return st, nil
}

// PoolConns reads serverside.curConns of every member of the pool from
// the members' stats collection (.../members/stats), by member name.
func (c *Client) PoolConns(ctx context.Context, t Target) (map[string]float64, error) {
	var raw struct {
		Entries map[string]json.RawMessage `json:"entries"`
	}
	if err := c.Do(ctx, http.MethodGet, t.poolURL()+"/stats", nil, &raw); err != nil {
		return nil, err
	}
	out := map[string]float64{}
	prefix := "/members/" + tilde(t.Partition) + "~"
	for k, e := range raw.Entries {
		// https://localhost/mgmt/tm/ltm/pool/~P~POOL/members/~P~NAME/stats
		i := strings.LastIndex(k, prefix)
		if i < 0 {
			continue
		}
		name := strings.TrimSuffix(k[i+len(prefix):], "/stats")
		if j := strings.Index(name, "?"); j >= 0 {
			name = name[:j]
		}
		one, _ := json.Marshal(map[string]json.RawMessage{k: e})
		v, err := curConns(map[string]json.RawMessage{"entries": one})
		if err != nil {
			continue
		}
		out[name] = v
	}
	return out, nil
}

type statValue struct {
	Value *float64 `json:"value"`
}

// curConns finds serverside.curConns in a stats answer: under entries,
// either directly (older releases) or in the one nested entry (the
// nestedStats shape of 11.5 and later).
func curConns(raw map[string]json.RawMessage) (float64, error) {
	return statOf(raw, "serverside.curConns")
}

// statOf finds the statistic name in a stats answer, as curConns does.
func statOf(raw map[string]json.RawMessage, name string) (float64, error) {
	var entries map[string]json.RawMessage
	if err := json.Unmarshal(raw["entries"], &entries); err != nil || entries == nil {
		return 0, errors.New("stats answer has no entries")
	}
	if v, ok := entries[name]; ok {
		return value(v, name)
	}
	var found []float64
	for _, e := range entries {
		var n struct {
			NestedStats struct {
				Entries map[string]json.RawMessage `json:"entries"`
			} `json:"nestedStats"`
		}
		if json.Unmarshal(e, &n) != nil {
			continue
		}
		if v, ok := n.NestedStats.Entries[name]; ok {
			f, err := value(v, name)
			if err != nil {
				return 0, err
			}
			found = append(found, f)
		}
	}
	switch len(found) {
	case 0:
		return 0, fmt.Errorf("stats answer has no %s", name)
	case 1:
		return found[0], nil
	}
	return 0, fmt.Errorf("stats answer has %d %s entries, want one", len(found), name)
}

func value(b json.RawMessage, name string) (float64, error) {
	var v statValue
	if err := json.Unmarshal(b, &v); err != nil || v.Value == nil {
		return 0, fmt.Errorf("%s has no numeric value", name)
	}
	return *v.Value, nil
}
