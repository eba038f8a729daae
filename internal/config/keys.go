package config

import (
	"strings"

	"github.com/drain-cli/drain/internal/action"
	"github.com/drain-cli/drain/internal/rotation"
	"github.com/drain-cli/drain/internal/source"
)

// Kind is how a key's value is parsed.
type Kind int

// Kinds of keys.
const (
	String Kind = iota
	Duration
	Bool
	List // repeatable flag; newline-separated in the environment
)

// Key is one setting: a flag, a DRAIN_* variable and a config-file key.
type Key struct {
	Name    string
	Kind    Kind
	Default string
	Usage   string
}

// Keys is every setting drain knows, the single source of flags, environment
// variables, config-file keys and `drain config show`.
var Keys = []Key{
	{"keepalive", String, "", "the keep-alive `PATH` the load balancer probes (shorthand for --rotate keepalive:PATH)"},
	{"disabled-name", String, "", "rename the page to `NAME` when out (default PATH.disabled)"},
	{"down-content", String, "", "content mode: write `TEXT` into the page instead of renaming it; in restores the original bytes"},
	{"haproxy", List, "", "HAProxy runtime API socket and server, ADDR#BACKEND/SERVER (repeatable, one per load balancer; shorthand for --rotate haproxy:ADDR#BACKEND/SERVER): out sets drain, in sets ready; ADDR is a socket path or host:port"},
	{"rotate", List, "", "rotation method `TYPE:TARGET` (repeatable; they change together or not at all): " + generated},
	{"verify-url", String, "", "`URL` of the keep-alive page: must stop answering 2xx after out, answer 2xx after in --wait-healthy"},
	{"reason", String, "", "who/why (`TEXT`), recorded with the change and shown by status"},
	{"lb-grace", Duration, "0s", "minimum time out of rotation before drained (probe interval x fall count)"},
	{"source", List, "", "what to wait on (repeatable): " + generated + "; <=N sets the threshold (default 0); NAME= in front names it for the live view and the report (api=prom:URL#SELECTOR)"},
	{"allow-unread-source", List, "", "run: let the source `NAME` (its NAME= or its spec) be unreadable before out, for a source that answers only once the server is out (repeatable); any other source that cannot be read then stops the run, exit 2, nothing changed"},
	{"interval", Duration, "1s", "poll period; when not given, polls every 100ms near the end (counters low, the balancer stopped sending, a window ending) and back off to 1s while far"},
	{"settle", Duration, "5s", "every source must stay at/below its threshold this long, continuously; when not given, 0 once the load balancer's own view says it stopped sending and its arrivals counter (haproxy: stot) stays still, else 5s"},
	{"timeout", Duration, "10m", "give up after this long (0 = no limit)"},
	{"read-timeout", Duration, "2s", "limit for one read of one source"},
	{"on-timeout", String, "fail", "on timeout: fail (do not run the action) or force (run it anyway, loudly)"},
	{"keep-out", Bool, "false", "on failure or interrupt leave the server out of rotation"},
	{"action", List, "", "the action when not given after -- (repeat for each argv word); built-ins (Windows): " + generated},
	{"action-timeout", Duration, "10m", "kill the action and its children after this long (0 = no limit)"},
	{"shell", Bool, "false", "run the action through the shell (sh -c / cmd /C)"},
	{"dry-run", Bool, "false", "read every source once, show what would change, change nothing"},
	{"output", String, "text", "text, or json for newline-delimited events on stdout"},
	{"quiet", Bool, "false", "text output: only the errors and the final line (no live view, no progress lines, no heartbeat)"},
	{"verbose", Bool, "false", "also log every call drain makes on stderr: HTTP requests (sources, load-balancer APIs, the verify and warm-up URLs, etcd), HAProxy runtime API commands, programs and PowerShell scripts it runs; what was asked (credentials masked), how it ended, time"},
	{"ci", String, "auto", "CI-native output: auto (GitHub Actions or Azure Pipelines, from GITHUB_ACTIONS/TF_BUILD), github, azure or off"},
	{"ca-file", String, "", "trust the CA certificates in `FILE` (PEM) for https sources, load-balancer APIs, the verify URL and warm-up URLs, besides the system ones"},
	{"insecure", Bool, "false", "do not verify https certificates of sources, load-balancer APIs, the verify URL and warm-up URLs (self-signed test servers only)"},
	{"bearer-token-file", String, "", "send the token in `FILE` as a bearer token to HTTP sources (or env DRAIN_BEARER_TOKEN)"},
	{"basic-auth-file", String, "", "send user:password from `FILE` as basic auth to HTTP sources (or env DRAIN_BASIC_AUTH)"},
	{"state-dir", String, "", "`DIR` for records of changes and locks (default: machine-wide for administrators, else per-user; see docs/state-and-security.md)"},
	{"wait-healthy", Bool, "false", "in: wait until --verify-url answers 2xx and the load balancer itself reports the server up and in rotation from a check made after the in (rotation methods with a pool view, --pool, an haproxy: source: HAProxy's check UP, weight above 0)"},
	{"warm-up", List, "", "in: request `URL` until it answers 2xx --warm-up-count times, before the server goes back into rotation (repeatable; not warm within --timeout: exit 3, left out)"},
	{"warm-up-count", String, "1", "in: 2xx answers each --warm-up URL must give (`N`)"},
	{"force-restore", Bool, "false", "in, content mode: restore the page from before out even if it changed since (a deploy); without it such a page is left as it is (exit 1)"},
	{"watch", Bool, "false", "status: keep refreshing every --interval"},
	{"min-in-rotation", String, "0", "disruption budget: refuse (exit 5) to take the server out when fewer than `N` other servers of its pool would stay in rotation, as the load balancer reports them (0 = no budget)"},
	{"wait-turn", Duration, "0s", "with --min-in-rotation: wait up to this long for the budget to allow the change instead of refusing at once"},
	{"pool", String, "", "the pool as the load balancer sees it, read only, never changed: `TYPE:TARGET` naming this server, e.g. haproxy:/run/haproxy/admin.sock#web/app1; what --min-in-rotation counts and in --wait-healthy waits on when the rotation method cannot read its pool (a keep-alive page)"},
	{"lock", List, "", "etcd v3 for the pool across machines, `etcd:URL` (client URLs, comma-separated or repeated): run and out with --min-in-rotation lock the pool there and record who took the server out; in (and a run put back) removes that record"},
}

// generated marks where a key's usage lists the types of a registry: the
// rotation methods, the source types, the built-in actions. Usage fills it
// in when the flags are made, after every plug-in has registered, so that
// the help (and docs/cli, made from it) names every type there is.
const generated = "{types}"

// Help is the key's usage text, with the registry's types filled in.
func (k Key) Help() string {
	if !strings.Contains(k.Usage, generated) {
		return k.Usage
	}
	var list string
	switch k.Name {
	case "rotate":
		ts := rotation.Types()
		specs := make([]string, len(ts))
		for i, t := range ts {
			specs[i] = t.Name + ":" + t.Syntax
		}
		list = strings.Join(specs, ", ")
	case "source":
		list = source.Help()
	case "action":
		list = action.BuiltinHelp()
	}
	return strings.Replace(k.Usage, generated, list, 1)
}

// Lookup returns the key with that name.
func Lookup(name string) (Key, bool) {
	for _, k := range Keys {
		if k.Name == name {
			return k, true
		}
	}
	return Key{}, false
}

// Secret environment variables: credentials for HTTP sources. They have no
// flag (a command line is visible to every user through ps) and are never
// shown, logged or recorded.
const (
	EnvBearerToken = "DRAIN_BEARER_TOKEN" // Authorization: Bearer <token>
	EnvBasicAuth   = "DRAIN_BASIC_AUTH"   // user:password for Authorization: Basic
)
