package source

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// newSource builds the source a spec describes, failing the test on error.
func newSource(t *testing.T, raw string, opts Options) Source {
	t.Helper()
	spec, err := ParseSpec(raw)
	if err != nil {
		t.Fatal(err)
	}
	src, err := New(spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// readOnce reads src with a deadline well past any source timeout.
func readOnce(src Source) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return src.Read(ctx)
}

// serve answers every request with body.
func serve(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, body) }
}

// stall waits until the client gives up (or a few seconds pass), so that a
// slow server does not hold up the test's server shutdown.
func stall(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(3 * time.Second):
	}
}

// checkErr fails unless err is nil when want is "", or contains want.
func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Fatalf("no error, want one containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("error %q does not contain %q", err, want)
	}
}

// TestHTTPTransport checks what every HTTP source shares: answers that are
// not a 2xx metrics page, unreachable servers, size and time limits, and
// redirects. Each source gets a page that reads 4.
func TestHTTPTransport(t *testing.T) {
	kinds := []struct {
		typ, fragment, page string
	}{
		{"nginx", "", "Active connections: 9\nserver accepts handled requests\n 10 10 20\nReading: 1 Writing: 4 Waiting: 4\n"},
		{"prom", "#in_flight", "# TYPE in_flight gauge\nin_flight 4\n"},
		{"json", "#a.b", `{"a":{"b":4}}`},
	}
	big := strings.Repeat("x", 2048)
	cases := []struct {
		name    string
		handler func(page string) http.HandlerFunc // nil: nothing listens
		opts    Options
		wantErr string // "" means the read gives 4
	}{
		{name: "ok", handler: serve},
		{
			name: "redirect followed",
			handler: func(page string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path != "/real" {
						http.Redirect(w, r, "/real", http.StatusFound)
						return
					}
					fmt.Fprint(w, page)
				}
			},
		},
		{
			name: "server error",
			handler: func(string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					http.Error(w, "boom", http.StatusInternalServerError)
				}
			},
			wantErr: "HTTP 500 Internal Server Error",
		},
		{
			name: "not found",
			handler: func(string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }
			},
			wantErr: "HTTP 404 Not Found",
		},
		{name: "connection refused", wantErr: "refused"},
		{
			name:    "body larger than MaxBody",
			handler: func(page string) http.HandlerFunc { return serve(page + "\n" + big) },
			opts:    Options{MaxBody: 1024},
			wantErr: "response body larger than 1024 bytes",
		},
		{
			name: "slow answer",
			handler: func(page string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					stall(r)
					fmt.Fprint(w, page)
				}
			},
			opts:    Options{ReadTimeout: 100 * time.Millisecond},
			wantErr: "timed out after 100ms",
		},
		{
			name: "slow body",
			handler: func(page string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					fmt.Fprint(w, page[:len(page)/2])
					w.(http.Flusher).Flush()
					stall(r)
				}
			},
			opts:    Options{ReadTimeout: 100 * time.Millisecond},
			wantErr: "read body: timed out after 100ms",
		},
	}
	for _, k := range kinds {
		for _, tc := range cases {
			t.Run(k.typ+"/"+tc.name, func(t *testing.T) {
				var url string
				if tc.handler == nil {
					srv := httptest.NewServer(http.NotFoundHandler())
					url = srv.URL
					srv.Close()
				} else {
					srv := httptest.NewServer(tc.handler(k.page))
					defer srv.Close()
					url = srv.URL
				}
				src := newSource(t, k.typ+":"+url+"/status"+k.fragment, tc.opts)
				start := time.Now()
				got, err := readOnce(src)
				checkErr(t, err, tc.wantErr)
				if err == nil && got != 4 {
					t.Fatalf("got %v, want 4", got)
				}
				if d := time.Since(start); d > 2*time.Second {
					t.Fatalf("read took %v", d)
				}
			})
		}
	}
}

// TestURLTargets checks that HTTP sources reject bad URLs when built.
func TestURLTargets(t *testing.T) {
	cases := []struct{ spec, wantErr string }{
		{"nginx:http://localhost/status", ""},
		{"nginx:https://user:secret@localhost/status", ""},
		{"nginx:localhost/status", "must start with http:// or https://"},
		{"nginx:ftp://localhost/status", "must start with http:// or https://"},
		{"nginx:http:///status", "has no host"},
		{"nginx:http://[::1", "bad URL"},
		{"prom:http://localhost/metrics", "want URL#SELECTOR, e.g. http://"},
		{"prom:http://localhost/metrics#", "want URL#SELECTOR"},
		{"prom:localhost/metrics#up", "must start with http://"},
		{"json:http://localhost/stats", "want URL#PATH, e.g. http://"},
		{"json:http://localhost/stats#  ", "want URL#PATH"},
		{"json:http://localhost/stats#a.b", ""},
	}
	for _, tc := range cases {
		t.Run(tc.spec, func(t *testing.T) {
			spec, err := ParseSpec(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			_, err = New(spec, Options{})
			checkErr(t, err, tc.wantErr)
		})
	}
}

// serveQuery serves body and records the raw query of the last request.
func serveQuery(body string, query *string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		*query = r.URL.RawQuery
		fmt.Fprint(w, body)
	}
}
