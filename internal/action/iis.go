package action

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Built-in actions: IIS and service changes that check the current state
// first (running one twice says "already ...") and wait until the change has
// taken effect.
const (
	RecycleAppPool = "recycle-apppool"
	StopAppPool    = "stop-apppool"
	StartAppPool   = "start-apppool"
	StopSite       = "stop-site"
	IISResetStop   = "iisreset-stop"
	StopService    = "stop-service"
)

// builtinArgs maps each built-in to the name of its one argument ("" = none).
var builtinArgs = map[string]string{
	RecycleAppPool: "POOL", StopAppPool: "POOL", StartAppPool: "POOL",
	StopSite: "SITE", IISResetStop: "", StopService: "SERVICE",
}

// ErrUsage marks an action that cannot be used as written (wrong arguments,
// a built-in on the wrong OS, an unknown pool): a usage error, found before
// anything changes.
var ErrUsage = errors.New("bad action")

// ErrRights marks a built-in that drain may not perform as it runs (not
// elevated, or the service refuses the stop right): found before anything
// changes, so the server is never taken out only to fail at the action.
var ErrRights = errors.New("not allowed")

// Builtins lists the built-in action names, sorted.
func Builtins() []string {
	out := make([]string, 0, len(builtinArgs))
	for k := range builtinArgs {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// parseBuiltin recognises a built-in: ok is false for a plain command.
func parseBuiltin(argv []string) (name, arg string, ok bool, err error) {
	want, ok := builtinArgs[argv[0]]
	if !ok {
		return "", "", false, nil
	}
	name = argv[0]
	switch {
	case want == "" && len(argv) > 1:
		return name, "", true, fmt.Errorf("%w: %s takes no arguments, got %q", ErrUsage, name, argv[1])
	case want != "" && len(argv) != 2:
		return name, "", true, fmt.Errorf("%w: usage: %s %s (one name; quote it if it has spaces)", ErrUsage, name, want)
	case want != "" && strings.TrimSpace(argv[1]) == "":
		return name, "", true, fmt.Errorf("%w: %s: empty %s name", ErrUsage, name, want)
	}
	if want != "" {
		arg = argv[1]
	}
	return name, arg, true, nil
}

// appcmdPath is IIS's appcmd.exe; DRAIN_APPCMD overrides it (tests).
func appcmdPath() string {
	if p := os.Getenv("DRAIN_APPCMD"); p != "" {
		return p
	}
	return filepath.Join(windir(), "System32", "inetsrv", "appcmd.exe")
}

func windir() string {
	if d := os.Getenv("SystemRoot"); d != "" {
		return d
	}
	return `C:\Windows`
}

func runAppcmd(ctx context.Context, args ...string) ([]byte, error) {
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, appcmdPath(), args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if err == nil {
		return out.Bytes(), nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		// Some servers exit non-zero with an empty <appcmd></appcmd> when a
		// list finds nothing: a document is an answer whatever the exit code.
		if _, perr := parseObjects(out.Bytes()); perr == nil {
			return out.Bytes(), nil
		}
		// appcmd prints its ERROR ( ... ) line on stdout.
		return nil, appcmdError(append(out.Bytes(), errOut.Bytes()...), ee.ExitCode())
	}
	return nil, fmt.Errorf("run %s: %w", appcmdPath(), err)
}

// appcmdRunner runs appcmd.exe with args and returns its standard output.
// A non-zero exit is an error carrying appcmd's own message.
type appcmdRunner func(ctx context.Context, args ...string) ([]byte, error)

// IIS is a built-in that changes an app pool or a site through appcmd.
type IIS struct {
	Op      string // RecycleAppPool, StopAppPool, StartAppPool, StopSite
	Name    string
	Timeout time.Duration // how long to wait for the change; 0 = no limit
	Poll    time.Duration // how often to look

	appcmd appcmdRunner
}

// String implements Action.
func (a *IIS) String() string { return a.Op + " " + quoteArg(a.Name) }

func quoteArg(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\"'") {
		return strconv.Quote(s)
	}
	return s
}

// DropsSessions implements SessionDropper: a recycle or stop ends the worker
// process and the InProc sessions it holds.
func (a *IIS) DropsSessions() bool { return a.Op != StartAppPool }

// SessionDropper is an action that ends worker processes, and with them any
// ASP.NET InProc session state.
type SessionDropper interface{ DropsSessions() bool }

// DropsSessions reports whether running a ends IIS worker processes: the
// stop/recycle built-ins, and plain commands that are iisreset or an appcmd
// stop/recycle.
func DropsSessions(a Action) bool {
	switch v := a.(type) {
	case SessionDropper:
		return v.DropsSessions()
	case *Exec:
		words := make([]string, len(v.Argv))
		for i, w := range v.Argv {
			words[i] = strings.ToLower(w)
		}
		line := strings.Join(words, " ")
		return strings.Contains(line, "iisreset") ||
			strings.Contains(line, "appcmd") && (strings.Contains(line, " stop ") || strings.Contains(line, " recycle ")) ||
			strings.Contains(line, "stop-webapppool") || strings.Contains(line, "restart-webapppool") || strings.Contains(line, "stop-website")
	}
	return false
}

// objects is the answer of `appcmd list apppool|site|wp|requests /xml`.
type objects struct {
	XMLName  xml.Name  `xml:"appcmd"`
	Pools    []pool    `xml:"APPPOOL"`
	Sites    []site    `xml:"SITE"`
	Workers  []worker  `xml:"WP"`
	Requests []Request `xml:"REQUEST"`
}

type pool struct {
	Name  string `xml:"APPPOOL.NAME,attr"`
	State string `xml:"state,attr"`
}

type site struct {
	Name  string `xml:"SITE.NAME,attr"`
	ID    string `xml:"SITE.ID,attr"`
	State string `xml:"state,attr"`
}

type worker struct {
	PID  string `xml:"WP.NAME,attr"`
	Pool string `xml:"APPPOOL.NAME,attr"`
}

// Request is one request executing in IIS, from `appcmd list requests`.
type Request struct {
	ID        string // REQUEST.NAME
	SiteID    string // SITE.ID
	URL       string // Url
	Verb      string // Verb
	Client    string // ClientIp
	ElapsedMS int64  // Time, in milliseconds
	Stage     string // Stage
	Module    string // Module
	WorkerPID string // WP.NAME
	Pool      string // APPPOOL.NAME
}

// UnmarshalXML reads a REQUEST element by attribute name, ignoring case:
// IIS 10 writes Url, Verb, ClientIp, Time, Stage, Module (a real capture is
// testdata/appcmd_list_requests.xml) where older documents spell URL,
// CLIENTIP, TIME.ELAPSED, MODULENAME, and Go's decoder matches names exactly.
func (r *Request) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	for _, a := range start.Attr {
		v := a.Value
		switch strings.ToLower(a.Name.Local) {
		case "request.name":
			r.ID = v
		case "site.id":
			r.SiteID = v
		case "url":
			r.URL = v
		case "verb":
			r.Verb = v
		case "clientip":
			r.Client = v
		case "time", "time.elapsed":
			ms, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return fmt.Errorf("REQUEST %s=%q: not a number of milliseconds", a.Name.Local, v)
			}
			r.ElapsedMS = ms
		case "stage":
			r.Stage = v
		case "module", "modulename":
			r.Module = v
		case "wp.name":
			r.WorkerPID = v
		case "apppool.name":
			r.Pool = v
		}
	}
	return d.Skip()
}

// Elapsed is how long the request has been executing.
func (r Request) Elapsed() time.Duration { return time.Duration(r.ElapsedMS) * time.Millisecond }

// parseObjects decodes appcmd's /xml output.
func parseObjects(b []byte) (*objects, error) {
	var o objects
	d := xml.NewDecoder(bytes.NewReader(b))
	// appcmd declares UTF-8; a console code page label must not fail the parse.
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	if err := d.Decode(&o); err != nil {
		return nil, fmt.Errorf("unexpected appcmd output (%s): %w", clip(string(b), 80), err)
	}
	return &o, nil
}

// ParseRequests parses `appcmd list requests /xml`, longest-running first.
func ParseRequests(b []byte) ([]Request, error) {
	o, err := parseObjects(b)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(o.Requests, func(a, b Request) int { return int(b.ElapsedMS - a.ElapsedMS) })
	return o.Requests, nil
}

// Scope selects the requests of one app pool or one site.
type Scope struct {
	Pool string
	Site string
}

func (s Scope) appcmdArgs() []string {
	args := []string{"list", "requests"}
	if s.Pool != "" {
		args = append(args, "/apppool.name:"+s.Pool)
	}
	if s.Site != "" {
		args = append(args, "/site.name:"+s.Site)
	}
	return append(args, "/xml")
}

func executing(ctx context.Context, run appcmdRunner, s Scope) ([]Request, error) {
	out, err := run(ctx, s.appcmdArgs()...)
	if err != nil {
		return nil, fmt.Errorf("list executing requests: %w", err)
	}
	return ParseRequests(out)
}

// appcmdError turns appcmd's `ERROR ( hresult:..., message:... )` into one line.
func appcmdError(out []byte, exit int) error {
	s := strings.TrimSpace(string(out))
	if i := strings.Index(s, "message:"); i >= 0 {
		s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s[i+len("message:"):]), ")"))
	}
	if s == "" {
		return fmt.Errorf("appcmd exit code %d", exit)
	}
	return fmt.Errorf("appcmd: %s (exit code %d)", clip(s, 200), exit)
}

func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// state reads the pool's or site's state ("Started", "Stopped", ...) and,
// for a pool, its worker process ids.
func (a *IIS) state(ctx context.Context) (string, []string, error) {
	kind := "apppool"
	if a.Op == StopSite {
		kind = "site"
	}
	out, err := a.appcmd(ctx, "list", kind, "/xml")
	if err != nil {
		return "", nil, err
	}
	o, err := parseObjects(out)
	if err != nil {
		return "", nil, err
	}
	var names []string
	found, st := "", ""
	for _, p := range o.Pools {
		names = append(names, p.Name)
		if strings.EqualFold(p.Name, a.Name) {
			found, st = p.Name, p.State
		}
	}
	for _, s := range o.Sites {
		names = append(names, s.Name)
		if strings.EqualFold(s.Name, a.Name) {
			found, st = s.Name, s.State
		}
	}
	if found == "" {
		what := "app pool"
		if kind == "site" {
			what = "site"
		}
		return "", nil, fmt.Errorf("%w: no %s named %q (existing: %s)", ErrUsage, what, a.Name, listOrNone(names))
	}
	a.Name = found
	if kind == "site" {
		return st, nil, nil
	}
	out, err = a.appcmd(ctx, "list", "wp", "/apppool.name:"+a.Name, "/xml")
	if err != nil {
		return "", nil, err
	}
	if o, err = parseObjects(out); err != nil {
		return "", nil, err
	}
	pids := make([]string, 0, len(o.Workers))
	for _, w := range o.Workers {
		pids = append(pids, w.PID)
	}
	return st, pids, nil
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// Check verifies that the pool or site exists, before anything changes.
func (a *IIS) Check(ctx context.Context) error {
	_, _, err := a.state(ctx)
	return err
}

// Run implements Action.
func (a *IIS) Run(ctx context.Context, stdout, _ io.Writer) (Result, error) {
	return runBuiltin(ctx, a, a.Timeout, stdout, a.run)
}

// runBuiltin runs a built-in action's change within timeout, prints the line
// that says what happened, and maps a failure to ErrFailed the way a command's
// timeout or interrupt is reported.
func runBuiltin(ctx context.Context, a fmt.Stringer, timeout time.Duration, stdout io.Writer,
	change func(context.Context, io.Writer) (string, error),
) (Result, error) {
	start := time.Now()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	msg, err := change(ctx, stdout)
	res := Result{Duration: time.Since(start)}
	if err != nil {
		res.ExitCode = 1
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			res.TimedOut = true
			if errors.Is(err, context.DeadlineExceeded) { // ended inside a call
				return res, fmt.Errorf("%w: %s: timed out after %s", ErrFailed, a, timeout)
			}
			return res, fmt.Errorf("%w: %s: %w after %s", ErrFailed, a, err, timeout)
		case ctx.Err() != nil:
			return res, fmt.Errorf("%w: %s: interrupted: %w", ErrFailed, a, err)
		}
		return res, fmt.Errorf("%w: %s: %w", ErrFailed, a, err)
	}
	fmt.Fprintln(stdout, msg)
	return res, nil
}

// run does the change and returns the line that says what happened.
func (a *IIS) run(ctx context.Context, w io.Writer) (string, error) {
	st, pids, err := a.state(ctx) // also sets a.Name to IIS's spelling
	if err != nil {
		return "", err
	}
	what := "app pool " + strconv.Quote(a.Name)
	if a.Op == StopSite {
		what = "site " + strconv.Quote(a.Name)
	}
	switch a.Op {
	case StopAppPool, StopSite:
		if st == "Stopped" && len(pids) == 0 {
			return what + " is already stopped: nothing to do", nil
		}
		if st != "Stopped" && st != "Stopping" {
			kind := "apppool"
			flag := "/apppool.name:"
			if a.Op == StopSite {
				kind, flag = "site", "/site.name:"
			}
			fmt.Fprintf(w, "stopping %s (state %s)\n", what, st)
			if _, err := a.appcmd(ctx, "stop", kind, flag+a.Name); err != nil {
				return "", err
			}
		}
		if err := a.waitFor(ctx, func(st string, ws []string) bool { return st == "Stopped" && len(ws) == 0 }, "to stop"); err != nil {
			return "", err
		}
		return what + " stopped" + exited(pids), nil
	case StartAppPool:
		if st == "Started" {
			return what + " is already started: nothing to do", nil
		}
		fmt.Fprintf(w, "starting %s (state %s)\n", what, st)
		if st != "Starting" {
			if _, err := a.appcmd(ctx, "start", "apppool", "/apppool.name:"+a.Name); err != nil {
				return "", err
			}
		}
		if err := a.waitFor(ctx, func(st string, _ []string) bool { return st == "Started" }, "to start"); err != nil {
			return "", err
		}
		return what + " started", nil
	case RecycleAppPool:
		if st != "Started" {
			return "", fmt.Errorf("%s is %s: a recycle only replaces the worker of a started pool; use start-apppool", what, strings.ToLower(st))
		}
		fmt.Fprintf(w, "recycling %s (worker processes: %s)\n", what, listOrNone(pids))
		if _, err := a.appcmd(ctx, "recycle", "apppool", "/apppool.name:"+a.Name); err != nil {
			return "", err
		}
		if len(pids) == 0 {
			return what + " recycled; no worker process was running (the next request starts one)", nil
		}
		old := pids
		gone := func(_ string, ws []string) bool {
			for _, p := range ws {
				if slices.Contains(old, p) {
					return false
				}
			}
			return true
		}
		if err := a.waitFor(ctx, gone, "to replace its worker "+listOrNone(old)); err != nil {
			return "", err
		}
		return what + " recycled" + exited(old), nil
	}
	return "", fmt.Errorf("%w: unknown built-in %q", ErrUsage, a.Op)
}

func exited(pids []string) string {
	switch len(pids) {
	case 0:
		return ""
	case 1:
		return "; worker process " + pids[0] + " has exited"
	}
	return "; worker processes " + strings.Join(pids, ", ") + " have exited"
}

// waitFor polls the state until done holds or ctx ends.
func (a *IIS) waitFor(ctx context.Context, done func(state string, workers []string) bool, what string) error {
	poll := a.Poll
	if poll <= 0 {
		poll = 500 * time.Millisecond
	}
	last := "appcmd did not answer in time"
	for {
		st, pids, err := a.state(ctx)
		if err != nil && ctx.Err() == nil {
			return err
		}
		if err == nil {
			if done(st, pids) {
				return nil
			}
			last = "state " + st
			if len(pids) > 0 {
				last += ", worker processes " + strings.Join(pids, ", ")
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("still waiting %s (%s)", what, last)
		case <-time.After(poll):
		}
	}
}
