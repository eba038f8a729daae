// Package source reads the numbers that tell whether a server is idle.
//
// A source answers one number or an error and never prints. A source that
// cannot be read is unknown, never zero: callers must not treat an error as
// idle. Each source type lives in its own file and registers a constructor in
// the types map.
package source

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/drain-cli/drain/internal/redact"
)

// Source is something that can be polled for an in-flight count.
type Source interface {
	// Read returns the current value. An error means the value is unknown.
	Read(ctx context.Context) (float64, error)
}

// Noter is an optional interface of a source that has something to tell the
// operator about its last value without it being an error, such as a Windows
// counter whose instance does not exist (yet) and was counted as 0. Note
// returns "" when there is nothing to say; the caller shows it next to the value.
type Noter interface {
	Note() string
}

// finite returns v if it can be an in-flight count, or an error: NaN,
// infinite and negative values are not counts, so no source may report one
// (a -5 summed with a 5 would otherwise read as drained). Every source's
// value goes through it.
func finite(v float64) (float64, error) {
	if err := countError(v); err != nil {
		return 0, fmt.Errorf("value %w", err)
	}
	return v, nil
}

// countError says why v is not a count ("is NaN", "is -5: below zero, not
// a count"), or returns nil.
func countError(v float64) error {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return fmt.Errorf("is %v", v)
	case v < 0:
		return fmt.Errorf("is %v: below zero, not a count", v)
	}
	return nil
}

// clip trims s and shortens it to at most limit characters (plus an
// ellipsis), for quoting program or page text in an error message.
func clip(s string, limit int) string {
	s = strings.TrimSpace(s)
	n := 0
	for i := range s {
		if n == limit {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// Options carries what sources share: the HTTP client and per-read limits.
type Options struct {
	// Client is used by HTTP sources. Its Timeout bounds one read.
	Client *http.Client
	// ReadTimeout bounds one read of any source (HTTP or exec).
	ReadTimeout time.Duration
	// MaxBody is the largest HTTP response body read, in bytes.
	MaxBody int64
	// Authorization, when set, is sent with every HTTP source request (a
	// bearer token or basic credentials). It is set on the request, not in
	// the transport, so Go drops it on a redirect to another host.
	Authorization string
}

// DefaultMaxBody is enough for a large Prometheus page (tens of thousands
// of series) while keeping an endless body from exhausting memory.
const DefaultMaxBody = 64 << 20

type constructor func(target string, opts Options) (Source, error)

// types maps a spec type to its constructor; each source file adds itself.
var types = map[string]constructor{}

func register(name string, c constructor) { types[name] = c }

// bare lists the types whose target may be left out (TYPE alone, no colon),
// such as state-server for the local machine.
var bare = map[string]bool{"state-server": true}

// Types lists the known source types, sorted.
func Types() []string {
	out := make([]string, 0, len(types))
	for k := range types {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Spec is a parsed --source value: TYPE:TARGET[<=N].
type Spec struct {
	// Name is the name given with NAME=TYPE:TARGET, or empty (see Names).
	Name      string
	Type      string
	Target    string
	Threshold float64
	// Raw is the spec as the user wrote it, for display.
	Raw string
}

// String renders the spec for display (credentials in URLs are redacted).
func (s Spec) String() string {
	t := redact.String(s.Target)
	if t == "" && s.Threshold == 0 {
		return s.Type
	}
	// A target containing "<=" needs the threshold written out, even when 0,
	// or the text would re-parse with part of the target as the threshold.
	if s.Threshold != 0 || strings.Contains(t, "<=") {
		return fmt.Sprintf("%s:%s<=%s", s.Type, t, strconv.FormatFloat(s.Threshold, 'f', -1, 64))
	}
	return s.Type + ":" + t
}

// ErrSpec marks a malformed source spec (a usage error).
var ErrSpec = errors.New("bad source spec")

// ParseSpec parses [NAME=]TYPE:TARGET, optionally ending in <=N (threshold,
// default 0).
// A NAME= prefix names the source (see DefaultName for the names of the
// others).
func ParseSpec(raw string) (Spec, error) {
	name, s := cutName(raw)
	s = strings.TrimSpace(s)
	shown := redact.String(raw) // for errors: never echo a password
	typ, target, ok := strings.Cut(s, ":")
	if b, _, _ := strings.Cut(s, "<="); !ok && bare[strings.ToLower(b)] {
		typ, target, ok = b, s[len(b):], true
	}
	if !ok || typ == "" {
		return Spec{}, fmt.Errorf("%w %q: want TYPE:TARGET (types: %s)", ErrSpec, shown, strings.Join(Types(), ", "))
	}
	typ = strings.ToLower(strings.TrimSpace(typ))
	if _, known := types[typ]; !known {
		return Spec{}, fmt.Errorf("%w %q: unknown type %q (types: %s)", ErrSpec, shown, typ, strings.Join(Types(), ", "))
	}
	spec := Spec{Name: name, Type: typ, Raw: raw}
	if i := strings.LastIndex(target, "<="); i >= 0 {
		n := strings.TrimSpace(target[i+2:])
		v, err := strconv.ParseFloat(n, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return Spec{}, fmt.Errorf("%w %q: threshold %q is not a non-negative number", ErrSpec, shown, n)
		}
		spec.Threshold = v
		target = target[:i]
	}
	spec.Target = strings.TrimSpace(target)
	if spec.Target == "" && !bare[typ] {
		return Spec{}, fmt.Errorf("%w %q: empty target after %q", ErrSpec, shown, typ+":")
	}
	return spec, nil
}

// New builds the source a spec describes. Errors are usage errors (ErrSpec).
func New(spec Spec, opts Options) (Source, error) {
	c, ok := types[spec.Type]
	if !ok {
		return nil, fmt.Errorf("%w: unknown type %q", ErrSpec, spec.Type)
	}
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = 5 * time.Second
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: opts.ReadTimeout}
	}
	src, err := c(spec.Target, opts)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %s", ErrSpec, spec.String(), redact.String(err.Error()))
	}
	if list, ok := listers[spec.Type]; ok {
		src = &listing{Source: src, target: spec.Target, list: list}
	}
	return src, nil
}
