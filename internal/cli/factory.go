package cli

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/drain-cli/drain/internal/auditlog"
	"github.com/drain-cli/drain/internal/clock"
	"github.com/drain-cli/drain/internal/config"
	"github.com/drain-cli/drain/internal/iostreams"
	"github.com/drain-cli/drain/internal/source/pdh"
	"github.com/drain-cli/drain/internal/trace"
)

// Factory is what every command is built from (like gh's cmdutil.Factory):
// the streams, the clock, the environment and the audit trail. Tests give
// their own instead of overwriting package variables.
type Factory struct {
	IOStreams *iostreams.IOStreams
	Now       func() time.Time
	// Clock is what every wait reads: the drain loop, the budget's wait for
	// a turn and for its locks, an etcd lock's retries and lease (nil: the
	// real clock). One per command, so they agree on when a wait began.
	Clock  clock.Clock
	Getenv func(string) string
	// OpenAudit opens the audit trail (the Windows Event Log); nil and a
	// warning when it cannot.
	OpenAudit func() (auditlog.Log, string)
	// PerfNames loads the localized-to-English counter names (Windows).
	PerfNames func() (*pdh.Names, error)
	// SystemConfig is the machine's config file, read before the user's
	// when it exists (config.SystemFile: /etc/drain/drain.yaml,
	// %ProgramData%\drain\drain.yaml; tests point it elsewhere).
	SystemConfig string
	// Heartbeat is the longest a wait in plain mode stays silent (0:
	// sink.DefaultHeartbeat, 30 s; tests shorten it).
	Heartbeat time.Duration

	args []string // the command line, for errors before flags are parsed
}

// NewFactory returns the factory of a real process on ios.
func NewFactory(ios *iostreams.IOStreams) *Factory {
	return &Factory{IOStreams: ios, Now: time.Now, Clock: clock.Real{}, Getenv: os.Getenv, OpenAudit: auditlog.Open, PerfNames: loadPerfNames, SystemConfig: config.SystemFile(os.Getenv)}
}

// loadConfig resolves a command's settings: its flags, the environment, the
// user's config file (--config, DRAIN_CONFIG) over the machine's, defaults.
func (f *Factory) loadConfig(c *cobra.Command, args []string) (*config.Config, error) {
	configFile := flagString(c, configFlag)
	cfg, err := config.LoadWithSystem(c.Flags(), args, configFile, f.SystemConfig, nil)
	if err == nil && cfg.Verbose {
		cfg.VerboseLog = &lockedWriter{w: f.IOStreams.ErrOut}
		// The rest of what drain asks of other servers and programs
		// (HAProxy's runtime API, programs, PowerShell) is logged by the
		// packages that do it, through the command's context.
		c.SetContext(trace.With(c.Context(), trace.New(cfg.VerboseLog, f.Now)))
	}
	return cfg, err
}

// lockedWriter serializes writes from the requests running at once.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// verboseTransport logs each request drain makes (--verbose): method, URL
// with its user info masked (redact), status or error, time taken; never a
// header or a body (credentials travel there).
type verboseTransport struct {
	next http.RoundTripper
	w    io.Writer
	now  func() time.Time
}

func (v verboseTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := v.next.RoundTrip(req)
	what := ""
	switch {
	case err != nil:
		what = "error: " + err.Error()
	default:
		what = resp.Status
	}
	// trace.Line masks the URL's user info and escapes what the server said.
	trace.New(v.w, v.now).Line("http", req.Method+" "+req.URL.String(), what, time.Since(start))
	return resp, err
}

// newRenderer returns the event renderer of one command.
func (f *Factory) newRenderer(asJSON bool, command string) *renderer {
	r := newRenderer(f.IOStreams, asJSON, command)
	r.now = f.Now
	r.heartbeat = f.Heartbeat
	return r
}

// outputJSON tells whether --output json (the root's persistent flag, or a
// command's own) or DRAIN_OUTPUT=json was asked for, for an error raised
// before the command could set up its sinks: a flag error stops parsing, so
// the flag is read here from the whole command line, unknown flags allowed.
func (f *Factory) outputJSON() bool {
	fs := pflag.NewFlagSet("output", pflag.ContinueOnError)
	fs.ParseErrorsAllowlist.UnknownFlags = true
	fs.SetOutput(io.Discard)
	out := fs.String("output", "", "")
	if err := fs.Parse(f.args); err == nil && fs.Changed("output") {
		return strings.EqualFold(*out, "json")
	}
	return strings.EqualFold(f.Getenv("DRAIN_OUTPUT"), "json")
}

// httpClient builds every HTTP client drain makes, in this one place: for
// the sources, the balancer APIs (rotation and pool views), the verify URL,
// the warm-up, the etcd lock. Each gets the --read-timeout (a caller that
// needs longer copies it and changes Timeout) and the https settings: the
// extra CA file, or the no-verify opt-in. A client built elsewhere would
// refuse a server only --ca-file vouches for.
//
// They all share one transport per process (per https settings), so that
// connections are kept and reused from one poll to the next: it keeps an
// idle connection per source at least, also when every source is on one
// host:port (the default transport keeps 2 per host, so 20 sources on one
// host reconnected on every poll).
func httpClient(cfg *config.Config) (*http.Client, error) {
	key := transportKey{insecure: cfg.Insecure}
	var pool *x509.CertPool
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, usageErr("check --ca-file", "cannot read CA file: %v", err)
		}
		pool, err = x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, usageErr("give PEM-encoded certificates", "no certificate found in CA file %s", cfg.CAFile)
		}
		key.ca = string(pem)
	}
	// One idle connection per source, plus the verify URL, the warm-up,
	// the balancer's API and etcd, which may share a host with them.
	idle := len(cfg.Sources) + 4
	var rt http.RoundTripper = sharedTransport(key, pool, idle)
	if cfg.VerboseLog != nil {
		rt = verboseTransport{next: rt, w: cfg.VerboseLog, now: time.Now}
	}
	return &http.Client{Timeout: cfg.ReadTimeout, Transport: rt}, nil
}

// transportKey tells transports with different https settings apart.
type transportKey struct {
	insecure bool
	ca       string // the --ca-file's PEM
}

var transports struct {
	sync.Mutex
	m map[transportKey]*http.Transport
}

// sharedTransport returns the process's transport for these https settings,
// built on first use, or built anew (bigger) when a later command of the
// same process (a test) needs more idle connections than it keeps.
func sharedTransport(key transportKey, pool *x509.CertPool, idle int) *http.Transport {
	transports.Lock()
	defer transports.Unlock()
	if tr := transports.m[key]; tr != nil && tr.MaxIdleConnsPerHost >= idle {
		return tr
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = idle
	tr.MaxIdleConns = max(tr.MaxIdleConns, idle)
	if key.ca != "" || key.insecure {
		tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
		tlsCfg.InsecureSkipVerify = key.insecure //nolint:gosec // explicit opt-in, documented as for test servers
		tr.TLSClientConfig = tlsCfg
	}
	if transports.m == nil {
		transports.m = map[transportKey]*http.Transport{}
	}
	transports.m[key] = tr
	return tr
}
