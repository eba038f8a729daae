package source

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/redact"
)

func TestParseSpec(t *testing.T) {
	// Every registered type, so that a new source file does not break this test.
	allTypes := strings.Join(Types(), ", ")
	if !strings.Contains(allTypes, "nginx, pdh, prom") {
		t.Fatalf("types %q lack the built-in ones", allTypes)
	}
	cases := []struct {
		raw       string
		typ       string
		target    string
		threshold float64
		wantErr   string
	}{
		{raw: "nginx:http://localhost/status", typ: "nginx", target: "http://localhost/status"},
		{raw: "  NGINX : http://localhost/status  ", typ: "nginx", target: "http://localhost/status"},
		{raw: "nginx:http://localhost/status<=1", typ: "nginx", target: "http://localhost/status", threshold: 1},
		{raw: "nginx:http://localhost/status <= 2.5", typ: "nginx", target: "http://localhost/status", threshold: 2.5},
		{raw: "nginx:http://localhost/status<=0", typ: "nginx", target: "http://localhost/status"},
		{raw: "nginx:http://localhost/status<=1e1", typ: "nginx", target: "http://localhost/status", threshold: 10},
		{
			raw: `prom:http://h:9100/metrics#x{a="<=b"}<=3`, typ: "prom",
			target: `http://h:9100/metrics#x{a="<=b"}`, threshold: 3,
		},
		{raw: "exec:C:\\tools\\count.exe --pool x", typ: "exec", target: "C:\\tools\\count.exe --pool x"},
		{raw: "exec:count <= 1", typ: "exec", target: "count", threshold: 1},
		{raw: `pdh:\W3SVC_W3WP(*)\Active Requests<=2`, typ: "pdh", target: `\W3SVC_W3WP(*)\Active Requests`, threshold: 2},
		{raw: "state-server", typ: "state-server"},
		{raw: "State-Server<=5", typ: "state-server", threshold: 5},
		{raw: "state-server:web2", typ: "state-server", target: "web2"},
		{raw: "http://localhost/status", wantErr: `unknown type "http" (types: ` + allTypes + `)`},
		{raw: "bogus:x", wantErr: `unknown type "bogus" (types: ` + allTypes + `)`},
		{raw: "nginx", wantErr: "want TYPE:TARGET (types: " + allTypes + ")"},
		{raw: ":x", wantErr: "want TYPE:TARGET"},
		{raw: "", wantErr: "want TYPE:TARGET"},
		{raw: "nginx:", wantErr: `empty target after "nginx:"`},
		{raw: "nginx:  <=1", wantErr: `empty target after "nginx:"`},
		{raw: "nginx:http://h/<=-1", wantErr: `threshold "-1" is not a non-negative number`},
		{raw: "nginx:http://h/<= -0.5", wantErr: `threshold "-0.5" is not a non-negative number`},
		{raw: "nginx:http://h/<=", wantErr: `threshold "" is not a non-negative number`},
		{raw: "nginx:http://h/<=one", wantErr: `threshold "one" is not a non-negative number`},
		{raw: "nginx:http://h/<=NaN", wantErr: `threshold "NaN" is not a non-negative number`},
		{raw: "nginx:http://h/<=+Inf", wantErr: `threshold "+Inf" is not a non-negative number`},
	}
	for _, tc := range cases {
		t.Run(tc.raw, func(t *testing.T) {
			spec, err := ParseSpec(tc.raw)
			checkErr(t, err, tc.wantErr)
			if err != nil {
				if !errors.Is(err, ErrSpec) {
					t.Fatalf("error %v is not ErrSpec", err)
				}
				return
			}
			if spec.Type != tc.typ || spec.Target != tc.target || spec.Threshold != tc.threshold || spec.Raw != tc.raw {
				t.Fatalf("got %+v", spec)
			}
		})
	}
}

func TestSpecString(t *testing.T) {
	cases := []struct{ raw, want string }{
		{"nginx:http://h/status", "nginx:http://h/status"},
		{"nginx:http://h/status <= 2.5", "nginx:http://h/status<=2.5"},
		{"nginx:http://h/status<=0", "nginx:http://h/status"},
		{"prom:https://user:secret@h/metrics#up<=1", "prom:https://xxxxx@h/metrics#up<=1"},
		// The threshold is kept when the target itself contains "<=".
		{`prom:http://h/m#x{a="<="}<=0`, `prom:http://h/m#x{a="<="}<=0`},
	}
	for _, tc := range cases {
		spec, err := ParseSpec(tc.raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := spec.String(); got != tc.want {
			t.Errorf("%q: String() = %q, want %q", tc.raw, got, tc.want)
		}
	}
}

// FuzzParseSpec checks that ParseSpec never panics and that a parsed spec,
// written back with String, parses to the same type and threshold (unless
// String redacted a URL).
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"nginx:http://h/<=1", "prom:http://h/m#x{a=\"<=\"}<=0", "exec:a <= 2.5", "json:http://u:p@h/#a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		spec, err := ParseSpec(raw)
		if err != nil {
			if !errors.Is(err, ErrSpec) {
				t.Fatalf("%q: error %v is not ErrSpec", raw, err)
			}
			return
		}
		if redact.String(spec.Target) != spec.Target {
			return
		}
		again, err := ParseSpec(spec.String())
		if err != nil {
			t.Fatalf("%q parsed, but its String() %q does not: %v", raw, spec, err)
		}
		if again.Type != spec.Type || again.Threshold != spec.Threshold || again.Target != spec.Target {
			t.Fatalf("%q: String() %q re-parses as %+v, want %+v", raw, spec, again, spec)
		}
		if strings.TrimSpace(again.Target) != again.Target {
			t.Fatalf("%q: target %q is not trimmed", raw, again.Target)
		}
	})
}

func TestErrorsNeverEchoPasswords(t *testing.T) {
	for _, raw := range []string{
		"prom:http://admin:s3cret@h:9/metrics",    // no #selector
		"nginx:http://admin:s3cret@h:9/x<=oops",   // bad threshold
		"bogus:http://admin:s3cret@h/",            // unknown type
		"json:http://admin:s3cret@h:bad port/x#a", // bad URL
		"json:http://admin:s3 cret@h/x#a",         // a space in the password: url.Parse fails
		"prom:http://admin:p@s3cret@h/m",          // an unencoded '@' in the password
		"prom:ftp://admin:s3cret@h/m#x",           // not http
	} {
		spec, err := ParseSpec(raw)
		if err == nil {
			_, err = New(spec, Options{})
		}
		if err == nil {
			t.Fatalf("%s: expected an error", raw)
		}
		if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "s3 cret") {
			t.Errorf("error leaks the password: %v", err)
		}
	}
}

// FuzzNewSource: resolving any spec into a source (URL and selector, path,
// HAProxy address, exec command line...) either works or fails as ErrSpec;
// it never panics and never runs anything.
func FuzzNewSource(f *testing.F) {
	for _, s := range []string{
		"nginx:http://127.0.0.1/nginx_status<=1",
		"apache:http://h/server-status",
		"prom:http://h/m#x{a=\"1\",b=~\"c.*\"}",
		"prom:http://u:p@ss w@h/m#x",
		"json:https://h/s?format=json#stats.#(name==\"a\").value",
		"json:http://u:s3cret@h:bad port/x#a",
		"haproxy:/run/haproxy.sock#web/app1",
		"haproxy:127.0.0.1:9999#web/app1",
		"haproxy:http://lb:8404/stats;csv#web/app1",
		"exec:sh -c 'echo 0'",
		"exec:'unterminated",
		"exec:no-such-program-drain-fuzz",
		"pdh:\\Processor(_Total)\\% Processor Time",
		"state-server",
		"iis:MyPool<=2",
		"prom://@0",
		"@://",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		spec, err := ParseSpec(raw)
		if err != nil {
			return // FuzzParseSpec checks these
		}
		src, err := New(spec, Options{ReadTimeout: time.Millisecond})
		if err != nil {
			if !errors.Is(err, ErrSpec) {
				t.Fatalf("%q: error %v is not ErrSpec", raw, err)
			}
			return
		}
		if c, ok := src.(interface{ Close() error }); ok {
			_ = c.Close()
		}
	})
}

// FuzzSpecPassword: whatever the spec around it, and however odd the
// password (an '@', a space, a quote), neither ParseSpec's nor New's error,
// nor the spec's String, shows the password of a URL in it.
func FuzzSpecPassword(f *testing.F) {
	f.Add("prom", "", "user", "s3cret", "/metrics#up")
	f.Add("json", "", "u", "pa ss", ":bad port/x#a")
	f.Add("nginx", "", "u", "p@ss", "/s<=oops")
	f.Add("bogus", "", "u", "s3cret", "/")
	f.Add("haproxy", "", "u", "s3cret", "/stats;csv#web")
	f.Add("exec", "curl -s ", "u", "s3cret", "/count")
	f.Add("prom", "", "u", "s3\"cret", "/m#x{a=\"b\"}")
	f.Fuzz(func(t *testing.T, typ, pre, user, pass, post string) {
		if len(pass) < 3 || strings.ContainsAny(pass, redact.Mask) || strings.ContainsAny(user+pass, "/?#\r\n") {
			return // as in redact.FuzzString: not a password a URL can hold
		}
		raw := typ + ":" + pre + "http://" + user + ":" + pass + "@h" + post
		// Errors quote the spec (%q): look for the password as written and
		// as quoted, and only when neither shows anywhere else.
		quoted := strings.Trim(strconv.Quote(pass), `"`)
		if strings.Count(raw, pass) != 1 || strings.Count(strconv.Quote(raw), quoted) != 1 {
			return
		}
		var shown []string
		spec, err := ParseSpec(raw)
		if err == nil {
			shown = append(shown, spec.String())
			if _, err = New(spec, Options{ReadTimeout: time.Millisecond}); err != nil {
				shown = append(shown, err.Error())
			}
		} else {
			shown = append(shown, err.Error())
		}
		for _, s := range shown {
			if strings.Contains(s, pass) || strings.Contains(s, quoted) {
				t.Fatalf("%q shows the password %q: %s", raw, pass, s)
			}
		}
	})
}
