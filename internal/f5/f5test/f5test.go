// Package f5test is a stand-in for an F5 BIG-IP's iControl REST API,
// limited to what drain uses: token login, a pool's members, one member
// (GET, PATCH session/state), a member's stats. No real BIG-IP can run in
// CI; the paths, bodies, error shapes and state words follow F5's iControl
// REST reference and public captures:
//
//   - members collection and member JSON: pr8kerl/f5er README.md (a capture
//     from 11.6: "kind":"tm:ltm:pool:members:membersstate", "session":
//     "monitor-enabled", "state":"up", "address":"10.60.61.215%6")
//   - PATCH bodies: joel74/POSH-LTM-Rest Disable-PoolMember.ps1 (session
//     user-disabled; with -Force state user-down) and Enable-PoolMember.ps1
//   - stats: {"entries":{"https://localhost/mgmt/tm/ltm/pool/~P~POOL/members/
//     ~P~M/stats":{"nestedStats":{"entries":{"serverside.curConns":
//     {"value":N}}}}}} (F5 BigStats, the nestedStats shape)
//   - token login at /mgmt/shared/authn/login, X-F5-Auth-Token, and the 401
//     an expired token gets: {"code":401,"message":"X-F5-Auth-Token has
//     expired.",...} (f5devcentral/f5-cli#8)
//   - errors {"code":404,"message":"01020036:3: The requested Pool Member
//     (/Common/web_pool /Common/web09:80) was not found.","errorStack":[]}
//
// Tests of drain's f5 method and source run against it; the docs say so.
package f5test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"time"
)

// Member is one pool member's state in the stand-in.
type Member struct {
	Name     string // web01:80
	Address  string
	Session  string // monitor-enabled, user-disabled, ...
	State    string // up, down, user-down, unchecked
	CurConns float64
	// TotConns and TotRequests are the member's serverside.totConns and
	// totRequests: counters that only grow (connections the BIG-IP opened
	// to it, HTTP requests it sent it).
	TotConns, TotRequests float64
}

// Server is the stand-in. Set fields before the first request or under
// Lock/Unlock.
type Server struct {
	*httptest.Server
	User, Password string
	// TokenTTL is how long a login token lasts (F5's default is 1200 s).
	TokenTTL time.Duration
	// IgnorePatch makes PATCH answer 200 without changing anything: the
	// "change not taking effect" fault.
	IgnorePatch bool
	// FailPatch, when not 0, is the status PATCH answers (with F5's error
	// body) without changing anything.
	FailPatch int

	mu     sync.Mutex
	pools  map[string][]*Member // "/Common/web_pool"
	tokens map[string]time.Time // token -> expiry
	// Counters for tests.
	Logins, Patches, Unauthorized int
	// Requests lists "METHOD PATH" in order.
	Requests []string
}

// New starts a TLS stand-in with one user.
func New(user, password string) *Server {
	s := &Server{
		User: user, Password: password, TokenTTL: 20 * time.Minute,
		pools: map[string][]*Member{}, tokens: map[string]time.Time{},
	}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	// a client refusing the certificate (the default) is a test case, not noise
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.StartTLS()
	return s
}

// Lock guards fields changed while requests run.
func (s *Server) Lock() { s.mu.Lock() }

// Unlock releases Lock.
func (s *Server) Unlock() { s.mu.Unlock() }

// AddPool adds a pool (full path /PARTITION/POOL) with its members.
func (s *Server) AddPool(path string, members ...Member) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ms []*Member
	for i := range members {
		m := members[i]
		ms = append(ms, &m)
	}
	s.pools[path] = ms
}

// Get returns a copy of a member's state (ok false when unknown).
func (s *Server) Get(pool, member string) (Member, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.pools[pool] {
		if m.Name == member {
			return *m, true
		}
	}
	return Member{}, false
}

// Set changes a member's state or connection count.
func (s *Server) Set(pool, member string, f func(*Member)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.pools[pool] {
		if m.Name == member {
			f(m)
		}
	}
}

// ExpireTokens makes every token issued so far expired.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t := range s.tokens {
		s.tokens[t] = time.Now().Add(-time.Second)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"code": status, "message": msg, "errorStack": []any{}, "apiError": 3})
}

// untilde reads ~Common~web_pool as /Common/web_pool.
func untilde(s string) string { return strings.ReplaceAll(s, "~", "/") }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Requests = append(s.Requests, r.Method+" "+r.URL.Path)
	if r.URL.Path == "/mgmt/shared/authn/login" && r.Method == http.MethodPost {
		s.login(w, r)
		return
	}
	if !s.authorized(w, r) {
		s.Unauthorized++
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/mgmt/tm/ltm/pool/")
	if !ok {
		fail(w, http.StatusNotFound, fmt.Sprintf("URI path %s not registered.  Please verify URI is supported and wait for /available suffix to be responsive.", r.URL.Path))
		return
	}
	parts := strings.Split(rest, "/")
	pool := untilde(parts[0])
	members, known := s.pools[pool]
	if !known {
		fail(w, http.StatusNotFound, fmt.Sprintf("01020036:3: The requested Pool (%s) was not found.", pool))
		return
	}
	partition := strings.Split(pool, "/")[1]
	switch {
	case len(parts) == 2 && parts[1] == "members" && r.Method == http.MethodGet:
		items := []any{}
		for _, m := range members {
			items = append(items, s.memberJSON(pool, partition, m))
		}
		writeJSON(w, 200, map[string]any{
			"kind":     "tm:ltm:pool:members:memberscollectionstate",
			"selfLink": "https://localhost/mgmt/tm/ltm/pool/" + parts[0] + "/members?ver=15.1.0", "items": items,
		})
		return
	case len(parts) == 3 && parts[1] == "members" && parts[2] == "stats" && r.Method == http.MethodGet:
		entries := map[string]any{}
		for _, m := range members {
			self := "https://localhost/mgmt/tm/ltm/pool/" + parts[0] + "/members/~" + partition + "~" + m.Name + "/stats"
			entries[self] = map[string]any{"nestedStats": map[string]any{"entries": map[string]any{
				"addr":                map[string]any{"description": m.Address},
				"nodeName":            map[string]any{"description": "/" + partition + "/" + m.Address},
				"serverside.curConns": map[string]any{"value": m.CurConns},
				"serverside.totConns": map[string]any{"value": m.TotConns},
				"totRequests":         map[string]any{"value": m.TotRequests},
			}}}
		}
		writeJSON(w, 200, map[string]any{"kind": "tm:ltm:pool:members:membersstats", "entries": entries})
		return
	case len(parts) >= 3 && parts[1] == "members":
		full := untilde(parts[2]) // /Common/web01:80
		var m *Member
		for _, c := range members {
			if "/"+partition+"/"+c.Name == full {
				m = c
			}
		}
		if m == nil {
			fail(w, http.StatusNotFound, fmt.Sprintf("01020036:3: The requested Pool Member (%s %s) was not found.", pool, full))
			return
		}
		switch {
		case len(parts) == 3 && r.Method == http.MethodGet:
			writeJSON(w, 200, s.memberJSON(pool, partition, m))
		case len(parts) == 3 && r.Method == http.MethodPatch:
			s.patch(w, r, pool, partition, m)
		case len(parts) == 4 && parts[3] == "stats" && r.Method == http.MethodGet:
			self := "https://localhost/mgmt/tm/ltm/pool/" + parts[0] + "/members/" + parts[2]
			writeJSON(w, 200, map[string]any{
				"kind": "tm:ltm:pool:members:membersstats", "selfLink": self + "/stats?ver=15.1.0",
				"entries": map[string]any{self + "/stats": map[string]any{"nestedStats": map[string]any{"entries": map[string]any{
					"addr":                     map[string]any{"description": m.Address},
					"serverside.curConns":      map[string]any{"value": m.CurConns},
					"serverside.totConns":      map[string]any{"value": m.TotConns},
					"totRequests":              map[string]any{"value": m.TotRequests},
					"status.availabilityState": map[string]any{"description": "available"},
					"status.enabledState":      map[string]any{"description": map[bool]string{true: "disabled", false: "enabled"}[m.Session == "user-disabled"]},
				}}}},
			})
		default:
			fail(w, http.StatusMethodNotAllowed, "Method not allowed")
		}
		return
	}
	fail(w, http.StatusNotFound, fmt.Sprintf("URI path %s not registered.", r.URL.Path))
}

func (s *Server) memberJSON(pool, partition string, m *Member) map[string]any {
	return map[string]any{
		"kind": "tm:ltm:pool:members:membersstate", "name": m.Name, "partition": partition,
		"fullPath": "/" + partition + "/" + m.Name, "address": m.Address, "session": m.Session, "state": m.State,
		"monitor": "default", "ratio": 1, "connectionLimit": 0,
		"selfLink": "https://localhost/mgmt/tm/ltm/pool/" + strings.ReplaceAll(pool, "/", "~") + "/members/~" + partition + "~" + m.Name + "?ver=15.1.0",
	}
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username, Password, LoginProviderName string
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		fail(w, http.StatusBadRequest, "Found invalid JSON body in the request.")
		return
	}
	if in.Username != s.User || in.Password != s.Password || in.LoginProviderName != "tmos" {
		s.Unauthorized++
		fail(w, http.StatusUnauthorized, "Authentication failed.")
		return
	}
	b := make([]byte, 13)
	_, _ = rand.Read(b)
	tok := strings.ToUpper(hex.EncodeToString(b))
	s.tokens[tok] = time.Now().Add(s.TokenTTL)
	s.Logins++
	writeJSON(w, 200, map[string]any{
		"username": in.Username, "loginProviderName": "tmos",
		"token": map[string]any{
			"token": tok, "name": tok, "userName": in.Username, "timeout": int(s.TokenTTL.Seconds()),
			"expirationMicros": time.Now().Add(s.TokenTTL).UnixMicro(), "kind": "shared:authz:tokens:authtokenitemstate",
		},
	})
}

func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if tok := r.Header.Get("X-F5-Auth-Token"); tok != "" {
		exp, ok := s.tokens[tok]
		switch {
		case !ok:
			fail(w, http.StatusUnauthorized, "X-F5-Auth-Token does not exist.")
			return false
		case time.Now().After(exp):
			fail(w, http.StatusUnauthorized, "X-F5-Auth-Token has expired.")
			return false
		}
		return true
	}
	if u, p, ok := r.BasicAuth(); ok {
		if u == s.User && p == s.Password {
			return true
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="Enterprise Manager"`)
		fail(w, http.StatusUnauthorized, "Authorization failed: user="+u+" resource=/mgmt/tm/ltm/pool")
		return false
	}
	fail(w, http.StatusUnauthorized, "Authorization failed: no user authentication header or token detected. Uri:"+r.URL.Path+" Referrer:"+r.RemoteAddr+" Sender:"+r.RemoteAddr)
	return false
}

func (s *Server) patch(w http.ResponseWriter, r *http.Request, pool, partition string, m *Member) {
	var in map[string]any
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		fail(w, http.StatusBadRequest, "Found invalid JSON body in the request.")
		return
	}
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	session, state := "", ""
	for _, k := range keys {
		v, _ := in[k].(string)
		switch {
		case k == "session" && (v == "user-enabled" || v == "user-disabled"):
			session = v
		case k == "state" && (v == "user-up" || v == "user-down"):
			state = v
		default:
			fail(w, http.StatusBadRequest, fmt.Sprintf("invalid property value \"%s\":\"%v\"", k, in[k]))
			return
		}
	}
	s.Patches++
	if s.FailPatch != 0 {
		fail(w, s.FailPatch, "01070734:3: Configuration error: the stand-in refuses this change")
		return
	}
	if !s.IgnorePatch {
		// F5's semantics: user-down forces offline (and disables);
		// user-up lets the monitor decide; user-enabled with a monitor
		// reads back as monitor-enabled.
		if state == "user-down" {
			m.State, m.Session = "user-down", "user-disabled"
		}
		if state == "user-up" && m.State == "user-down" {
			m.State = "up"
		}
		switch session {
		case "user-disabled":
			m.Session = "user-disabled"
		case "user-enabled":
			m.Session = "monitor-enabled"
		}
	}
	writeJSON(w, 200, s.memberJSON(pool, partition, m))
}
