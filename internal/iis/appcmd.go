package iis

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

	"github.com/drain-cli/drain/internal/source"
	"github.com/drain-cli/drain/internal/trace"
)

// appcmd.exe: running it, reading its /xml answers, and the requests in
// flight of a pool or site (appcmd list requests).

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
	done := trace.Start(ctx, "exec", trace.Argv(append([]string{appcmdPath()}, args...)))
	err := cmd.Run()
	done(trace.Exit(err))
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

// objects is the answer of `appcmd list apppool|site|wp|requests /xml`.
type objects struct {
	XMLName  xml.Name        `xml:"appcmd"`
	Pools    []pool          `xml:"APPPOOL"`
	Sites    []site          `xml:"SITE"`
	Workers  []worker        `xml:"WP"`
	Requests []appcmdRequest `xml:"REQUEST"`
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

// appcmdRequest is one REQUEST element of `appcmd list requests`, as
// decoded; Executing hands out the fields drain shows as source.Request.
type appcmdRequest struct {
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
func (r *appcmdRequest) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
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
func (r appcmdRequest) Elapsed() time.Duration { return time.Duration(r.ElapsedMS) * time.Millisecond }

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

// parseRequests parses `appcmd list requests /xml`, longest-running first.
func parseRequests(b []byte) ([]appcmdRequest, error) {
	o, err := parseObjects(b)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(o.Requests, func(a, b appcmdRequest) int { return int(b.ElapsedMS - a.ElapsedMS) })
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

// executing lists the requests of s, longest first, each as the one request
// type drain shows (where: the pool or site asked about).
func executing(ctx context.Context, run appcmdRunner, s Scope) ([]source.Request, error) {
	out, err := run(ctx, s.appcmdArgs()...)
	if err != nil {
		return nil, fmt.Errorf("list executing requests: %w", err)
	}
	rs, err := parseRequests(out)
	if err != nil {
		return nil, err
	}
	where := s.Pool
	if where == "" {
		where = s.Site
	}
	list := make([]source.Request, len(rs))
	for i, r := range rs {
		list[i] = source.Request{Verb: r.Verb, URL: r.URL, Client: r.Client, Elapsed: r.Elapsed().Seconds(), Where: where}
	}
	return list, nil
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
