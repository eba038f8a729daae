// Package source reads the numbers that tell whether a server is idle.
//
// A source answers one number or an error and never prints. A source that
// cannot be read is unknown, never zero: callers must not treat an error as
// idle. Each source type lives in its own file and registers its Type (name,
// syntax, summary, default name, constructor) from init.
package source

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/drain-cli/drain/internal/redact"
	"github.com/drain-cli/drain/internal/suggest"
	"github.com/drain-cli/drain/internal/usage"
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

// Type describes a source type: everything the flags' help, the docs and
// the names say about it comes from here. Each source file registers its
// types from init with Register.
type Type struct {
	Name    string // the TYPE of TYPE:TARGET, e.g. "prom"
	Syntax  string // the target's form, e.g. "URL#SELECTOR" ("" for a type that takes none)
	Example string // a whole TYPE:TARGET example
	Summary string // one line: what the value counts
	// OS is "windows" for a type that reads only there; it is registered
	// everywhere (a shared config file validates on any machine).
	OS string
	// Bare: the target may be left out (TYPE alone, no colon), such as
	// state-server for the local machine.
	Bare bool
	// DefaultName is the short name shown for a target when the spec gives
	// none (nil, or "" returned: the target, else the type).
	DefaultName func(target string) string
	New         func(target string, opts Options) (Source, error)
}

// Spec is the "TYPE:SYNTAX" form of the type, as the help lists it.
func (t Type) Spec() string {
	switch {
	case t.Syntax == "":
		return t.Name
	case t.Bare:
		return t.Name + "[:" + t.Syntax + "]"
	}
	return t.Name + ":" + t.Syntax
}

var (
	regMu sync.RWMutex
	types = map[string]Type{}
)

// Register adds a source type; each source file calls it from init. A
// name registered twice, or a type without a name or constructor, is a
// programming error: it panics.
func Register(t Type) {
	regMu.Lock()
	defer regMu.Unlock()
	if t.Name == "" || t.New == nil {
		panic("source: type without a name or a constructor: " + t.Name)
	}
	if _, dup := types[t.Name]; dup {
		panic("source: type registered twice: " + t.Name)
	}
	types[t.Name] = t
}

// Lookup returns the registered type called name.
func Lookup(name string) (Type, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	t, ok := types[name]
	return t, ok
}

// All lists the registered types, sorted by name.
func All() []Type {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]Type, 0, len(types))
	for _, t := range types {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Types lists the known source type names, sorted.
func Types() []string {
	all := All()
	out := make([]string, len(all))
	for i, t := range all {
		out[i] = t.Name
	}
	return out
}

// Help is the list of types the --source help shows: "nginx:URL,
// apache:URL, ..., on Windows pdh:COUNTER_PATH, ...".
func Help() string {
	var everywhere, win []string
	for _, t := range All() {
		if t.OS == "windows" {
			win = append(win, t.Spec())
		} else {
			everywhere = append(everywhere, t.Spec())
		}
	}
	s := strings.Join(everywhere, ", ")
	if len(win) > 0 {
		s += ", on Windows " + strings.Join(win, ", ")
	}
	return s
}

func isBare(typ string) bool {
	t, ok := Lookup(strings.ToLower(typ))
	return ok && t.Bare
}

// similarType is the registered type closest to a mistyped one: a few
// edits away, or one it starts with (prometheus: prom).
func similarType(typ string) string {
	if s := suggest.Similar(typ, Types(), 1); len(s) > 0 {
		return s[0]
	}
	best := ""
	for _, t := range Types() {
		if len(t) >= 3 && strings.HasPrefix(typ, t) && len(t) > len(best) {
			best = t
		}
	}
	return best
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

// ErrSpec marks a malformed source spec: every usage error of a source is
// a *usage.Error naming --source and the spec, and matches ErrSpec.
var ErrSpec = usage.Err

// typesHint is the hint for a spec whose type is missing or unknown.
const typesHint = "see 'drain run --help' for the source types"

// Hint says how the type's target is written.
func (t Type) Hint() string {
	if t.Example == "" {
		return typesHint
	}
	return fmt.Sprintf("check the %s target, %s (e.g. %s)", t.Name, t.Spec(), t.Example)
}

// specErr is a usage error of the spec shown (redacted) as the user gave it.
func specErr(shown, hint, format string, a ...any) error {
	return &usage.Error{Flag: "--source", Spec: shown, Msg: fmt.Sprintf(format, a...), Hint: hint}
}

// ParseSpec parses [NAME=]TYPE:TARGET, optionally ending in <=N (threshold,
// default 0).
// A NAME= prefix names the source (see DefaultName for the names of the
// others). Errors are *usage.Error with a hint.
func ParseSpec(raw string) (Spec, error) {
	name, s := cutName(raw)
	s = strings.TrimSpace(s)
	shown := redact.String(raw) // for errors: never echo a password
	typ, target, ok := strings.Cut(s, ":")
	if b, _, _ := strings.Cut(s, "<="); !ok && isBare(b) {
		typ, target, ok = b, s[len(b):], true
	}
	if !ok || typ == "" {
		return Spec{}, specErr(shown, typesHint, "want TYPE:TARGET (types: %s)", strings.Join(Types(), ", "))
	}
	typ = strings.ToLower(strings.TrimSpace(typ))
	ty, known := Lookup(typ)
	if !known {
		msg := fmt.Sprintf("unknown type %q (types: %s)", typ, strings.Join(Types(), ", "))
		if s := similarType(typ); s != "" {
			msg += "; did you mean " + s + "?"
		}
		return Spec{}, specErr(shown, typesHint, "%s", msg)
	}
	spec := Spec{Name: name, Type: typ, Raw: raw}
	if i := strings.LastIndex(target, "<="); i >= 0 {
		n := strings.TrimSpace(target[i+2:])
		v, err := strconv.ParseFloat(n, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return Spec{}, specErr(shown, "end a spec with <=N, N a count such as 0 or 5", "threshold %q is not a non-negative number", n)
		}
		spec.Threshold = v
		target = target[:i]
	}
	spec.Target = strings.TrimSpace(target)
	if spec.Target == "" && !isBare(typ) {
		return Spec{}, specErr(shown, ty.Hint(), "empty target after %q", typ+":")
	}
	return spec, nil
}

// New builds the source a spec describes. Errors are usage errors
// (*usage.Error naming the spec, with the type's hint).
func New(spec Spec, opts Options) (Source, error) {
	ty, ok := Lookup(spec.Type)
	if !ok {
		return nil, specErr(redact.String(spec.String()), typesHint, "unknown type %q", spec.Type)
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
	src, err := ty.New(spec.Target, opts)
	if err != nil {
		// The type's own text may quote the target (a program named by a
		// URL with a password): it is shown redacted; Err keeps the cause.
		return nil, &usage.Error{Flag: "--source", Spec: redact.String(spec.String()), Msg: redact.String(err.Error()), Err: err, Hint: ty.Hint()}
	}
	if list, ok := listers[spec.Type]; ok {
		src = &listing{Source: src, target: spec.Target, list: list}
	}
	return src, nil
}
