// Package config resolves drain's settings from flags, DRAIN_* environment
// variables, a config file and defaults, in that order of precedence, into a
// typed, validated Config. The config file is YAML, read node by node
// (file.go) so that every error names its key and line.
package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kballard/go-shellquote"
	"github.com/spf13/pflag"

	"github.com/drain-cli/drain/internal/etcdlock"
	"github.com/drain-cli/drain/internal/redact"
	"github.com/drain-cli/drain/internal/rotation"
	"github.com/drain-cli/drain/internal/source"
	"github.com/drain-cli/drain/internal/suggest"
	"github.com/drain-cli/drain/internal/usage"
)

// ErrUsage marks bad input: a bad flag value, config key or file (exit 2).
var ErrUsage = usage.Err

// UsageError is a bad-input error with a hint for the operator (the one
// type of usage error, internal/usage).
type UsageError = usage.Error

// usageErrorf is config's usage error: its text is redacted where it is
// made (a value echoed back may be a URL with a password).
func usageErrorf(hint, format string, a ...any) error {
	return &usage.Error{Msg: redact.String(fmt.Sprintf(format, a...)), Hint: redact.String(hint)}
}

// Config is the typed, validated result.
type Config struct {
	Keepalive string
	HAProxy   []string // ADDR#BACKEND/SERVER, one per load balancer
	Rotate    []string // TYPE:TARGET rotation methods, besides the shorthands above
	// Rotation is every rotation method of the run, parsed once: the
	// shorthands --keepalive and --haproxy first (in that order, as before
	// --rotate existed), then every --rotate.
	Rotation []rotation.Spec
	// RotationSettings is the config file's rotation: section, per type
	// (settings without a flag, e.g. the exec method's commands).
	RotationSettings map[string]map[string]any
	DisabledName     string
	DownContent      *string // nil: rename mode
	VerifyURL        string
	Reason           string
	LBGrace          time.Duration
	Sources          []source.Spec
	Interval         time.Duration
	Settle           time.Duration
	// IntervalAuto and SettleAuto: --interval, --settle not given (the
	// defaults follow the situation: timing.go).
	IntervalAuto  bool
	SettleAuto    bool
	Timeout       time.Duration
	ReadTimeout   time.Duration
	Force         bool // on-timeout force
	KeepOut       bool
	Action        []string
	ActionTimeout time.Duration
	Shell         bool
	DryRun        bool
	JSON          bool
	CI            string // auto, github, azure or off
	StateDir      string
	WaitHealthy   bool
	WarmUp        []string
	WarmUpCount   int
	ForceRestore  bool
	Watch         bool
	Quiet         bool // text output: only the errors and the final line
	Verbose       bool // log every HTTP request on stderr
	// VerboseLog is where --verbose writes (the CLI sets it; not a setting).
	VerboseLog io.Writer
	// MinInRotation is the disruption budget: other servers of the pool
	// that must stay in rotation (0: no budget). WaitTurn is how long to
	// wait for it; Lock the etcd:URL pool locks.
	MinInRotation int
	WaitTurn      time.Duration
	Lock          []string
	// EtcdEndpoints are the endpoints of every --lock etcd:URL[,URL],
	// parsed once.
	EtcdEndpoints []string
	// Pool is a pool view named on its own (--pool TYPE:TARGET, parsed
	// once), only read: the budget's pool, what in --wait-healthy waits on,
	// status's pool view. nil without --pool.
	Pool     *rotation.Spec
	CAFile   string
	Insecure bool
	// Authorization is the HTTP Authorization header value for sources,
	// from DRAIN_BEARER_TOKEN/DRAIN_BASIC_AUTH or their -file keys. Secret:
	// never printed; Origins holds only where it came from.
	Authorization string

	// AllowUnread names sources (their NAME= or spec) that may be
	// unreadable before run takes the server out: they answer only once it
	// is out.
	AllowUnread []string

	// Origins says where each key's value came from, and the value as given
	// with URL user info redacted (for config show).
	Origins map[string]Origin
	// File is the user's config file (--config, DRAIN_CONFIG), if any.
	File string
	// Files are the config files read, in order: the machine's (when it
	// exists), then the user's.
	Files []string
}

// Origin is where a value came from and the raw text.
type Origin struct {
	From  string // flag, env DRAIN_X, file PATH, default
	Value string
}

// EnvName is the environment variable for a key.
func EnvName(key string) string {
	return "DRAIN_" + strings.ToUpper(strings.ReplaceAll(key, "-", "_"))
}

// Load resolves every key. fs holds the command's flags (only those the
// command defines can come from flags); args are the action after --;
// configFile is --config (or "" to use DRAIN_CONFIG).
//
// Errors and the values in Origins have the user info of URLs redacted
// (redact.String): they are for showing. So is Reason, which is recorded and
// shown but never used.
func Load(fs *pflag.FlagSet, args []string, configFile string, getenv func(string) string) (*Config, error) {
	return LoadWithSystem(fs, args, configFile, "", getenv)
}

// LoadWithSystem is Load with the machine's config file systemFile (see
// SystemFile) read first when it exists: the user's file (--config,
// DRAIN_CONFIG) overrides it key by key (and rotation: type by type), the
// environment and the flags override both. "" reads none.
func LoadWithSystem(fs *pflag.FlagSet, args []string, configFile, systemFile string, getenv func(string) string) (*Config, error) {
	c, err := load(fs, args, configFile, systemFile, getenv)
	if err != nil {
		// As it was made, redacted there (usageErrorf, rotation.Parse,
		// source.ParseSpec): none rewrites another's text.
		return nil, err
	}
	for k, o := range c.Origins {
		o.Value = redact.String(o.Value)
		c.Origins[k] = o
	}
	c.Reason = redact.String(c.Reason)
	return c, nil
}

func load(fs *pflag.FlagSet, args []string, configFile, systemFile string, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if configFile == "" {
		configFile = getenv("DRAIN_CONFIG")
	}
	file := map[string]fileValue{}
	var files []string
	if systemFile != "" {
		if _, err := os.Stat(systemFile); err == nil || !errors.Is(err, os.ErrNotExist) {
			sys, err := readFile(systemFile)
			if err != nil {
				return nil, err
			}
			for k, v := range sys {
				v.path = systemFile
				file[k] = v
			}
			files = append(files, systemFile)
		}
	}
	if configFile != "" {
		user, err := readFile(configFile)
		if err != nil {
			return nil, err
		}
		for k, v := range user {
			v.path = configFile
			if k == RotationKey && file[k].settings != nil {
				merged := map[string]map[string]any{}
				for t, set := range file[k].settings {
					merged[t] = set
				}
				for t, set := range v.settings {
					merged[t] = set
				}
				v.settings = merged
			}
			file[k] = v
		}
		files = append(files, configFile)
	}

	raw := map[string]Origin{}
	lists := map[string][]string{}
	for _, k := range Keys {
		o, list, err := resolve(k, fs, args, file, configFile, getenv)
		if err != nil {
			return nil, err
		}
		raw[k.Name] = o
		lists[k.Name] = list
	}
	c := &Config{Origins: raw, File: configFile, Files: files, RotationSettings: file[RotationKey].settings}
	if err := c.fill(raw, lists); err != nil {
		return nil, err
	}
	// With --shell, an action written as one string (DRAIN_ACTION, or
	// action: as a string in the file) is the command line itself: splitting
	// it into words and joining them again would lose its quoting.
	if c.Shell {
		switch from := raw["action"].From; {
		case strings.HasPrefix(from, "env "):
			c.Action = []string{getenv(EnvName("action"))}
		case strings.HasPrefix(from, "file ") && !file["action"].isList:
			c.Action = []string{file["action"].text}
		}
	}
	if err := c.credentials(getenv); err != nil {
		return nil, err
	}
	return c, nil
}

// credentials resolves the Authorization header for HTTP sources: a file
// named by a flag/env/file key, or the secret itself in DRAIN_BEARER_TOKEN /
// DRAIN_BASIC_AUTH. The value is never put in Origins.
func (c *Config) credentials(getenv func(string) string) error {
	type cred struct{ key, env, scheme string }
	var found []string
	for _, cr := range []cred{{"bearer-token-file", EnvBearerToken, "Bearer"}, {"basic-auth-file", EnvBasicAuth, "Basic"}} {
		secret, from := getenv(cr.env), "env "+cr.env
		if path := c.Origins[cr.key].Value; path != "" {
			b, err := os.ReadFile(path)
			if err != nil {
				return usageErrorf("check the path and permissions of the credentials file", "cannot read %s %s: %s", cr.key, path, oneLine(err))
			}
			secret, from = strings.TrimSpace(string(b)), cr.key+" "+path
		}
		if secret == "" {
			continue
		}
		found = append(found, from)
		if cr.scheme == "Basic" {
			if !strings.Contains(secret, ":") {
				return usageErrorf("write user:password", "basic auth from %s is not user:password", from)
			}
			secret = base64.StdEncoding.EncodeToString([]byte(secret))
		}
		c.Authorization = cr.scheme + " " + secret
		c.Origins["authorization"] = Origin{From: from, Value: "(hidden)"}
	}
	if len(found) > 1 {
		return usageErrorf("keep one of them", "both a bearer token and basic auth are set (%s)", strings.Join(found, ", "))
	}
	return nil
}

// resolve applies flags > env > file > default to one key.
func resolve(k Key, fs *pflag.FlagSet, args []string, file map[string]fileValue, path string, getenv func(string) string) (Origin, []string, error) {
	if k.Name == "action" && len(args) > 0 {
		return Origin{"args after --", shellquote.Join(args...)}, args, nil
	}
	if f := fs.Lookup(k.Name); f != nil && f.Changed {
		if k.Kind == List {
			l := f.Value.(pflag.SliceValue).GetSlice()
			return Origin{"flag --" + k.Name, strings.Join(l, "\n")}, l, nil
		}
		return Origin{"flag --" + k.Name, f.Value.String()}, nil, nil
	}
	if v, ok := lookupEnv(getenv, EnvName(k.Name)); ok {
		o := Origin{"env " + EnvName(k.Name), v}
		if k.Kind == List {
			l, err := splitList(k, v)
			return o, l, err
		}
		return o, nil, nil
	}
	if v, ok := file[k.Name]; ok {
		if v.path != "" {
			path = v.path
		}
		o := Origin{"file " + path, v.text}
		if k.Kind != List {
			return o, nil, nil
		}
		l := v.list
		if !v.isList {
			var err error
			if l, err = splitList(k, v.text); err != nil {
				return o, nil, err
			}
		}
		o.Value = strings.Join(l, "\n")
		return o, l, nil
	}
	return Origin{"default", k.Default}, nil, nil
}

func lookupEnv(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

// splitList splits an environment or file string: sources one per line, an
// action like a shell would (quotes, no expansion).
func splitList(k Key, s string) ([]string, error) {
	if k.Name == "action" {
		l, err := shellquote.Split(s)
		if err != nil {
			return nil, usageErrorf("quote the action like a shell command line", "bad action %q: %v", s, err)
		}
		return l, nil
	}
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out, nil
}

// fill sets every field from the resolved settings and checks them, in
// this order: each value's syntax, the choices, the durations, the
// disruption budget and its locks, the keep-alive page settings, the
// rotation methods, the sources. The first problem found is the error.
func (c *Config) fill(raw map[string]Origin, lists map[string][]string) error {
	if err := c.fillValues(raw, lists); err != nil {
		return err
	}
	if err := c.fillChoices(raw); err != nil {
		return err
	}
	if err := c.checkDurations(raw); err != nil {
		return err
	}
	if err := c.fillBudget(raw); err != nil {
		return err
	}
	if err := c.fillLocks(); err != nil {
		return err
	}
	if err := c.checkPageSettings(); err != nil {
		return err
	}
	if err := c.ParseRotation(); err != nil {
		return err
	}
	return c.fillSources(lists["source"])
}

// values reads resolved settings by key and converts them; a value that
// does not convert gives the zero value and its error is kept, in the
// order read.
type values struct {
	raw  map[string]Origin
	errs []error
}

func (v *values) str(n string) string { return v.raw[n].Value }

func (v *values) dur(n string) time.Duration {
	d, err := parseDuration(n, v.raw[n])
	if err != nil {
		v.errs = append(v.errs, err)
	}
	return d
}

func (v *values) boolean(n string) bool {
	b, err := strconv.ParseBool(strings.TrimSpace(v.raw[n].Value))
	if err != nil {
		v.errs = append(v.errs, usageErrorf("use true or false", "invalid %s %q (from %s): not true or false", n, v.raw[n].Value, v.raw[n].From))
	}
	return b
}

// fillValues sets the plain values: strings, lists, durations, booleans,
// the reason and the warm-up count, whose first bad one is the error once
// all are read. A bad --pool is the error at once.
func (c *Config) fillValues(raw map[string]Origin, lists map[string][]string) error {
	v := &values{raw: raw}
	c.Keepalive = v.str("keepalive")
	c.HAProxy = lists["haproxy"]
	c.Rotate = lists["rotate"]
	c.DisabledName = v.str("disabled-name")
	if raw["down-content"].From != "default" {
		s := v.str("down-content")
		c.DownContent = &s
	}
	c.VerifyURL = v.str("verify-url")
	if s := strings.TrimSpace(v.str("pool")); s != "" {
		spec, err := rotation.ParsePool(s)
		if err != nil {
			return err // a *usage.Error with its hint
		}
		c.Pool = &spec
	}
	c.Reason = v.str("reason")
	if err := checkReason(c.Reason, raw["reason"].From); err != nil {
		v.errs = append(v.errs, err)
	}
	c.LBGrace = v.dur("lb-grace")
	c.Interval = v.dur("interval")
	c.Settle = v.dur("settle")
	c.IntervalAuto = raw["interval"].From == "default"
	c.SettleAuto = raw["settle"].From == "default"
	c.Timeout = v.dur("timeout")
	c.ReadTimeout = v.dur("read-timeout")
	c.KeepOut = v.boolean("keep-out")
	c.Action = lists["action"]
	c.ActionTimeout = v.dur("action-timeout")
	c.Shell = v.boolean("shell")
	c.DryRun = v.boolean("dry-run")
	c.StateDir = v.str("state-dir")
	c.WaitHealthy = v.boolean("wait-healthy")
	c.WarmUp = lists["warm-up"]
	c.AllowUnread = lists["allow-unread-source"]
	if n, err := parseWarmUpCount(raw["warm-up-count"]); err != nil {
		v.errs = append(v.errs, err)
	} else {
		c.WarmUpCount = n
	}
	c.ForceRestore = v.boolean("force-restore")
	c.Watch = v.boolean("watch")
	c.Quiet = v.boolean("quiet")
	c.Verbose = v.boolean("verbose")
	c.WaitTurn = v.dur("wait-turn")
	c.Lock = lists["lock"]
	c.CAFile = v.str("ca-file")
	c.Insecure = v.boolean("insecure")
	if len(v.errs) > 0 {
		return v.errs[0]
	}
	return nil
}

// checkReason refuses a reason that is not one line of text.
func checkReason(reason, from string) error {
	if strings.ContainsFunc(reason, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f || r >= 0x80 && r <= 0x9f }) {
		// A reason is one line on every output (status, the "already out"
		// line, other machines' pool view): a commit message's second line
		// would start a line of the log, where "::" is a workflow command.
		return usageErrorf("give the first line only, e.g. --reason \"$(git log -1 --format=%s)\"", "the reason (from %s) must be one line of text: it holds a line break or a control character", from)
	}
	return nil
}

// parseWarmUpCount reads warm-up-count: a whole number from 1 to 10000.
func parseWarmUpCount(o Origin) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(o.Value))
	if err != nil || n < 1 || n > 10000 {
		return 0, usageErrorf("use a whole number from 1 to 10000, e.g. --warm-up-count 3", "invalid warm-up-count %q (from %s)", o.Value, o.From)
	}
	return n, nil
}

// fillChoices sets the settings that take one of a few words: on-timeout,
// output and ci.
func (c *Config) fillChoices(raw map[string]Origin) error {
	switch v := strings.ToLower(raw["on-timeout"].Value); v {
	case "fail":
	case "force":
		c.Force = true
	default:
		return usageErrorf("use --on-timeout fail or --on-timeout force", "invalid on-timeout %q (from %s)", v, raw["on-timeout"].From)
	}
	switch v := strings.ToLower(raw["output"].Value); v {
	case "text":
	case "json":
		c.JSON = true
	default:
		return usageErrorf("use --output text or --output json", "invalid output %q (from %s)", v, raw["output"].From)
	}
	switch v := strings.ToLower(raw["ci"].Value); v {
	case "auto", "github", "azure", "off":
		c.CI = v
	default:
		return usageErrorf("use --ci auto, github, azure or off", "invalid ci %q (from %s)", v, raw["ci"].From)
	}
	return nil
}

// checkDurations refuses an interval or read-timeout that is not positive,
// then any duration too short to be meant.
func (c *Config) checkDurations(raw map[string]Origin) error {
	if c.Interval <= 0 {
		return usageErrorf("use e.g. --interval 1s", "interval must be positive, got %s", raw["interval"].Value)
	}
	if c.ReadTimeout <= 0 {
		return usageErrorf("use e.g. --read-timeout 2s", "read-timeout must be positive, got %s", raw["read-timeout"].Value)
	}
	// A few nanoseconds is a typo (a missing unit: 1ns for 1s?) that would
	// poll in a busy loop or time every read out; where 0 has a meaning it
	// stays allowed.
	for _, d := range []struct {
		name    string
		v       time.Duration
		zeroOK  string // what 0 means, if it is allowed
		example string
	}{
		{"interval", c.Interval, "", "1s"},
		{"read-timeout", c.ReadTimeout, "", "2s"},
		{"settle", c.Settle, "no settle window", "5s"},
		{"lb-grace", c.LBGrace, "no grace", "6s"},
		{"timeout", c.Timeout, "no limit", "10m"},
		{"action-timeout", c.ActionTimeout, "no limit", "10m"},
		{"wait-turn", c.WaitTurn, "refuse at once", "5m"},
	} {
		if d.v == 0 || d.v >= MinDuration {
			continue
		}
		hint := fmt.Sprintf("use at least %s, e.g. --%s %s", MinDuration, d.name, d.example)
		if d.zeroOK != "" {
			hint += fmt.Sprintf(", or 0 for %s", d.zeroOK)
		}
		return usageErrorf(hint, "%s %s (from %s) is too short: the minimum is %s", d.name, raw[d.name].Value, raw[d.name].From, MinDuration)
	}
	return nil
}

// fillBudget sets the disruption budget (min-in-rotation) and refuses the
// settings that need one when there is none.
func (c *Config) fillBudget(raw map[string]Origin) error {
	if v := strings.TrimSpace(raw["min-in-rotation"].Value); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return usageErrorf("give a whole number of servers, e.g. --min-in-rotation 2 (0 for no budget)", "invalid min-in-rotation %q (from %s): not a whole number >= 0", raw["min-in-rotation"].Value, raw["min-in-rotation"].From)
		}
		c.MinInRotation = n
	}
	if c.MinInRotation == 0 {
		for _, k := range []struct {
			name string
			set  bool
		}{{"wait-turn", c.WaitTurn > 0}} {
			if k.set {
				return usageErrorf("add --min-in-rotation N (how many other servers of the pool must stay in rotation)", "--%s needs --min-in-rotation: it waits for, or locks, the disruption budget", k.name)
			}
		}
	}
	return nil
}

// fillLocks parses every --lock etcd:URL[,URL] into EtcdEndpoints.
func (c *Config) fillLocks() error {
	var lockURLs []string
	for _, l := range c.Lock {
		typ, u, ok := strings.Cut(strings.TrimSpace(l), ":")
		if !ok || strings.ToLower(typ) != "etcd" {
			return usageErrorf("use --lock etcd:http://HOST:2379 (several endpoints comma-separated)", "invalid lock %q: the only lock service is etcd (etcd:URL)", l)
		}
		lockURLs = append(lockURLs, u)
	}
	if len(lockURLs) > 0 {
		eps, err := etcdlock.ParseEndpoints(lockURLs)
		if err != nil {
			return usageErrorf("use --lock etcd:http://HOST:2379 (several endpoints comma-separated)", "--lock: %v", err)
		}
		c.EtcdEndpoints = eps
	}
	return nil
}

// checkPageSettings checks the keep-alive page's settings: one of
// --down-content and --disabled-name, and a full http(s) verify-url.
func (c *Config) checkPageSettings() error {
	if c.DownContent != nil && c.DisabledName != "" {
		return usageErrorf("--disabled-name is for rename mode; drop one of them", "--down-content and --disabled-name do not go together")
	}
	if c.VerifyURL != "" {
		u, err := url.Parse(c.VerifyURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usageErrorf("use a full URL such as http://127.0.0.1/keepalive.htm", "invalid verify-url %q", c.VerifyURL)
		}
	}
	return nil
}

// fillSources parses every --source once and refuses two sources of one
// name.
func (c *Config) fillSources(specs []string) error {
	for _, s := range specs {
		spec, err := source.ParseSpec(s)
		if err != nil {
			return err // a *usage.Error with its hint
		}
		c.Sources = append(c.Sources, spec)
	}
	named := map[string]bool{}
	for _, spec := range c.Sources {
		if spec.Name != "" && named[spec.Name] {
			return usageErrorf("give each source its own name (NAME=TYPE:TARGET), or none for a derived one", "two sources are named %q", spec.Name)
		}
		named[spec.Name] = true
	}
	return nil
}

// MinDuration is the shortest duration any setting accepts (other than 0
// where 0 has a meaning).
const MinDuration = 10 * time.Millisecond

func parseDuration(name string, o Origin) (time.Duration, error) {
	s := strings.TrimSpace(o.Value)
	if s == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, usageErrorf("use a duration such as 500ms, 30s, 2m or 1h30m", "invalid %s %q (from %s): not a duration", name, o.Value, o.From)
	}
	return d, nil
}

func oneLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// didYouMean suggests the closest known key.
func didYouMean(k string) string {
	best, bestD := "", 4
	for _, key := range Keys {
		if d := suggest.Distance(k, key.Name); d < bestD {
			best, bestD = key.Name, d
		}
	}
	if best == "" {
		names := make([]string, len(Keys))
		for i, key := range Keys {
			names[i] = key.Name
		}
		sort.Strings(names)
		return "known keys: " + strings.Join(names, ", ")
	}
	return fmt.Sprintf("did you mean %q?", best)
}

// AddFlags defines the named keys as flags on fs.
func AddFlags(fs *pflag.FlagSet, names ...string) {
	for _, n := range names {
		k, ok := Lookup(n)
		if !ok {
			panic("config: unknown key " + n)
		}
		usage, meta := unquoteUsage(k.Help())
		if meta == "" {
			meta = typeNames[k.Name]
		}
		if k.Default != "" && k.Default != "false" && k.Kind != Bool {
			usage += " (default " + k.Default + ")"
		}
		switch k.Kind {
		case Bool:
			fs.Bool(k.Name, false, usage)
		case List:
			fs.Var(&listValue{typ: meta}, k.Name, usage)
		case Duration:
			fs.Var(&textValue{typ: "duration"}, k.Name, usage)
		default:
			fs.Var(&textValue{typ: meta}, k.Name, usage)
		}
	}
}

// unquoteUsage takes the value's name out of its backticks, as pflag's
// --help does ("the `PATH` to" is "--keepalive PATH   the PATH to"), so that
// the usage carries none: shell completions show a usage as it is written.
func unquoteUsage(usage string) (plain, name string) {
	i := strings.IndexByte(usage, '`')
	if i < 0 {
		return usage, ""
	}
	j := strings.IndexByte(usage[i+1:], '`')
	if j < 0 {
		return usage, ""
	}
	name = usage[i+1 : i+1+j]
	return usage[:i] + name + usage[i+2+j:], name
}

// typeNames are the value names --help shows where a usage string has none.
var typeNames = map[string]string{
	"on-timeout": "fail|force",
	"output":     "text|json",
	"ci":         "auto|github|azure|off",
	"source":     "[NAME=]TYPE:TARGET[<=N]",
	"haproxy":    "ADDR#BACKEND/SERVER",
	"rotate":     "TYPE:TARGET",
	"action":     "WORD",
}

// textValue is a string flag that names its kind in --help ("duration");
// parsing happens in Load, so that errors name the key and where it came from.
type textValue struct {
	s   string
	typ string
}

func (v *textValue) String() string     { return v.s }
func (v *textValue) Set(s string) error { v.s = s; return nil }
func (v *textValue) Type() string {
	if v.typ == "" {
		return "string"
	}
	return v.typ
}

// listValue is a repeatable flag kept verbatim: no CSV splitting, so commas
// and quotes in a Prometheus selector survive.
type listValue struct {
	vals []string
	typ  string
}

func (v *listValue) String() string        { return strings.Join(v.vals, "\n") }
func (v *listValue) Set(s string) error    { v.vals = append(v.vals, s); return nil }
func (v *listValue) Type() string          { return v.typ }
func (v *listValue) GetSlice() []string    { return v.vals }
func (v *listValue) Append(s string) error { return v.Set(s) }
func (v *listValue) Replace(s []string) error {
	v.vals = append([]string(nil), s...)
	return nil
}

// ParseRotation parses every rotation method once, the shorthands folded
// in: --keepalive PATH is keepalive:PATH, --haproxy X is haproxy:X.
func (c *Config) ParseRotation() error {
	c.Rotation = nil
	add := func(flag, raw string) error {
		s, err := rotation.Parse(flag, raw)
		if err != nil {
			return err // a *usage.Error with its hint
		}
		c.Rotation = append(c.Rotation, s)
		return nil
	}
	if c.Keepalive != "" {
		if err := add("--keepalive", "keepalive:"+c.Keepalive); err != nil {
			return err
		}
	}
	for _, h := range c.HAProxy {
		if err := add("--haproxy", "haproxy:"+h); err != nil {
			return err
		}
	}
	for _, r := range c.Rotate {
		if err := add("--rotate", r); err != nil {
			return err
		}
	}
	return nil
}
