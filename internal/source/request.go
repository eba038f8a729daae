package source

import (
	"context"
	"fmt"
	"time"
)

// Request is one request still executing in the server being drained, as a
// source that can list them reports it (IIS: appcmd list requests). It is
// the one request type: events, status and the IIS package share it.
type Request struct {
	Verb    string  `json:"verb"`
	URL     string  `json:"url"`
	Client  string  `json:"client,omitempty"`
	Elapsed float64 `json:"elapsed_s"`       // seconds it has been executing
	Where   string  `json:"where,omitempty"` // app pool or site
}

// String renders a request for a log line: "POST /upload.aspx 42s from 10.0.0.5".
func (r Request) String() string {
	s := fmt.Sprintf("%s %s %s", r.Verb, r.URL, time.Duration(r.Elapsed*float64(time.Second)).Round(time.Second))
	if r.Client != "" {
		s += " from " + r.Client
	}
	return s
}

// RequestLister is an optional interface of a source that can list the
// requests it counts, to show what a slow drain waits for. It is asked only
// when a wait is slow and at the timeout, so it may be expensive; an error
// is shown once and never fails the wait.
type RequestLister interface {
	Requests(ctx context.Context) ([]Request, error)
}

// ListerFunc lists the requests of one target of a source type.
type ListerFunc func(ctx context.Context, target string) ([]Request, error)

// listers maps a source type to what lists its requests, added by the
// package that knows how (internal/iis for iis: and aspnet:).
var listers = map[string]ListerFunc{}

// RegisterLister makes the sources of type typ list their requests with f:
// New returns them as a RequestLister. Call it from an init function. A
// type given a lister twice panics.
func RegisterLister(typ string, f ListerFunc) {
	if _, dup := listers[typ]; dup {
		panic("source: lister registered twice: " + typ)
	}
	listers[typ] = f
}

// listing is a source with a RequestLister added; it keeps the Noter of the
// source it wraps (the pdh sources, the only ones listed today, have no Close).
type listing struct {
	Source
	target string
	list   ListerFunc
}

func (l *listing) Requests(ctx context.Context) ([]Request, error) { return l.list(ctx, l.target) }

func (l *listing) Note() string {
	if n, ok := l.Source.(Noter); ok {
		return n.Note()
	}
	return ""
}
