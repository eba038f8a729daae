package source

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/drain-cli/drain/internal/testbed"
)

func TestParseSelector(t *testing.T) {
	type m struct{ label, op, value string }
	cases := []struct {
		in       string
		name     string
		matchers []m
		str      string // String(), when it differs from in
	}{
		{in: "up", name: "up"},
		{in: "  ns:up_total \t", name: "ns:up_total", str: "ns:up_total"},
		{in: "up{}", name: "up", str: "up"},
		{in: `x{a="b"}`, name: "x", matchers: []m{{"a", "=", "b"}}},
		{
			in:       "x { a = \"b\" , c != 'd' , e =~ \"f.*\" , g !~ `h\\d` , }",
			name:     "x",
			matchers: []m{{"a", "=", "b"}, {"c", "!=", "d"}, {"e", "=~", "f.*"}, {"g", "!~", `h\d`}},
			str:      `x{a="b",c!="d",e=~"f.*",g!~"h\\d"}`,
		},
		{
			in:       `x{a="q\"uote\\ \n\t\u00e9\x41", b='it\'s', c="it's", d=~"a|b",d!="b"}`,
			name:     "x",
			matchers: []m{{"a", "=", "q\"uote\\ \n\té\x41"}, {"b", "=", "it's"}, {"c", "=", "it's"}, {"d", "=~", "a|b"}, {"d", "!=", "b"}},
			str:      `x{a="q\"uote\\ \n\téA",b="it's",c="it's",d=~"a|b",d!="b"}`,
		},
		{in: `x{_a1="",le="+Inf"}`, name: "x", matchers: []m{{"_a1", "=", ""}, {"le", "=", "+Inf"}}},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			sel, err := parseSelector(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			var got []m
			for _, x := range sel.matchers {
				got = append(got, m{x.label, x.op, x.value})
				if (x.re != nil) != (x.op == "=~" || x.op == "!~") {
					t.Fatalf("matcher %s: regexp set wrongly", x)
				}
			}
			if sel.name != tc.name || !slices.Equal(got, tc.matchers) {
				t.Fatalf("got %s %q, want %s %q", sel.name, got, tc.name, tc.matchers)
			}
			want := tc.str
			if want == "" {
				want = tc.in
			}
			if sel.String() != want {
				t.Fatalf("String() = %s, want %s", sel, want)
			}
		})
	}
}

func TestParseSelectorErrors(t *testing.T) {
	cases := []struct{ in, wantErr string }{
		{"", "empty selector; want metric_name or metric_name{label=\"value\"}"},
		{"   ", "empty selector"},
		{`{a="b"}`, "selector needs a metric name before '{'"},
		{"1up", `selector must start with a metric name, found "1up"`},
		{"x y", `unexpected "y" after metric name x`},
		{"x.y", `unexpected ".y" after metric name x`},
		{"x{", "selector is missing its closing '}'"},
		{`x{a="b"`, "selector is missing its closing '}'"},
		{`x{a="b",`, "selector is missing its closing '}'"},
		{"x{a}", `expected =, !=, =~ or !~ after label a, found "}"`},
		{`x{a=="b"}`, `value of label a: expected a quoted value, found "=\"b\"}"`},
		{"x{a=b}", "value of label a: expected a quoted value"},
		{`x{a="b}`, "value of label a: unterminated string"},
		{"x{a=`b}", "value of label a: unterminated string"},
		{`x{a="\q"}`, `value of label a: bad escape "\\q"`},
		{`x{a="b" c="d"}`, `expected ',' or '}' after a="b", found "c=\"d\"}"`},
		{`x{,}`, `expected a label name, found ",}"`},
		{`x{1a="b"}`, "expected a label name"},
		{`x{a.b="c"}`, `expected =, !=, =~ or !~ after label a`},
		{`x{__name__="x"}`, "label __name__ is not supported; put the metric name before '{'"},
		{`x{a=~"("}`, "bad regexp for label a: error parsing regexp: missing closing )"},
		{`x{a!~"a)|(b"}`, "bad regexp for label a: error parsing regexp: unexpected )"},
		{`x{a="b"} y`, `unexpected "y" after '}'`},
		{`x{a="b"}}`, `unexpected "}" after '}'`},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			_, err := parseSelector(tc.in)
			checkErr(t, err, tc.wantErr)
		})
	}
}

// promPage has a gauge with labels, a summary, a histogram, a counter, an
// untyped metric and non-finite values.
const promPage = `# HELP http_requests_in_flight Requests being served.
# TYPE http_requests_in_flight gauge
http_requests_in_flight{handler="/"} 2
http_requests_in_flight{handler="/metrics"} 1
http_requests_in_flight{handler="/api/v1",method="GET"} 3 1700000000000
# HELP rpc_duration_seconds RPC latency.
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{service="a",quantile="0.5"} 0.25
rpc_duration_seconds{service="a",quantile="0.99"} 0.75
rpc_duration_seconds_sum{service="a"} 10
rpc_duration_seconds_count{service="a"} 40
rpc_duration_seconds{service="b",quantile="0.5"} NaN
rpc_duration_seconds_sum{service="b"} 0
rpc_duration_seconds_count{service="b"} 0
# TYPE req_seconds histogram
req_seconds_bucket{le="0.1"} 5
req_seconds_bucket{le="1"} 8
req_seconds_bucket{le="+Inf"} 9
req_seconds_sum 3.5
req_seconds_count 9
# TYPE jobs_total counter
jobs_total 12
untyped_thing 4
nan_gauge NaN
inf_gauge{a="b"} +Inf
# EOF
`

func TestPromValue(t *testing.T) {
	cases := []struct {
		name, page, sel string
		want            float64
		wantErr         string
	}{
		{name: "sum of a gauge", sel: "http_requests_in_flight", want: 6},
		{name: "not equal", sel: `http_requests_in_flight{handler!="/metrics"}`, want: 5},
		{name: "regexp", sel: `http_requests_in_flight{handler=~"/api/.*"}`, want: 3},
		{name: "negative regexp", sel: `http_requests_in_flight{handler!~"/|/metrics"}`, want: 3},
		{name: "missing label is empty", sel: `http_requests_in_flight{method=""}`, want: 3},
		{
			name: "regexp is anchored", sel: `http_requests_in_flight{handler=~"/api"}`,
			wantErr: `no series matches http_requests_in_flight{handler=~"/api"}; handler has: "/", "/api/v1", "/metrics"`,
		},
		{
			name: "label values as a hint", sel: `http_requests_in_flight{handler="api"}`,
			wantErr: `no series matches http_requests_in_flight{handler="api"}; handler has: "/", "/api/v1", "/metrics"`,
		},
		{
			name: "hint for each label", sel: `http_requests_in_flight{handler="/",method="GET"}`,
			wantErr: `; handler has: "/", "/api/v1", "/metrics"; method has: "GET"`,
		},
		{
			name: "unknown label", sel: `http_requests_in_flight{hander="/"}`,
			wantErr: `no series matches http_requests_in_flight{hander="/"}; no http_requests_in_flight series has label hander`,
		},
		{name: "summary count", sel: "rpc_duration_seconds_count", want: 40},
		{name: "summary sum", sel: `rpc_duration_seconds_sum{service="a"}`, want: 10},
		{name: "summary quantile", sel: `rpc_duration_seconds{service="a",quantile="0.99"}`, want: 0.75},
		{
			name: "NaN quantile", sel: "rpc_duration_seconds",
			wantErr: `series rpc_duration_seconds{service="b",quantile="0.5"} is NaN`,
		},
		{name: "histogram +Inf bucket", sel: `req_seconds_bucket{le="+Inf"}`, want: 9},
		{name: "histogram bucket", sel: `req_seconds_bucket{le="1"}`, want: 8},
		{name: "histogram count", sel: "req_seconds_count", want: 9},
		{name: "histogram sum", sel: "req_seconds_sum", want: 3.5},
		{
			name: "le values as a hint", sel: `req_seconds_bucket{le="1.0"}`,
			wantErr: `le has: "+Inf", "0.1", "1"`,
		},
		{
			name: "histogram base name", sel: "req_seconds",
			wantErr: "no metric named req_seconds (similar: req_seconds_sum, req_seconds_count, req_seconds_bucket)",
		},
		{name: "counter", sel: "jobs_total", want: 12},
		{name: "untyped", sel: "untyped_thing", want: 4},
		{name: "NaN gauge", sel: "nan_gauge", wantErr: "series nan_gauge is NaN"},
		{name: "Inf gauge", sel: "inf_gauge", wantErr: `series inf_gauge{a="b"} is +Inf`},
		{
			name: "similar names", sel: "http_request_in_flight",
			wantErr: "no metric named http_request_in_flight (similar: http_requests_in_flight)",
		},
		{name: "contained name", sel: "jobs", wantErr: "no metric named jobs (similar: jobs_total)"},
		{name: "no similar name", sel: "zzz", wantErr: "no metric named zzz"},
		{name: "empty page", page: "\n", sel: "x", wantErr: "no metric named x: the page has no metrics"},
		{name: "html page", page: "<html>\n<body>login</body>\n", sel: "x", wantErr: "metrics page line 1: invalid metric name"},
		{
			name: "broken line of another metric", page: "x 3\nother{a=\"b\" 1\nx_bad{ 2\n", sel: "x", want: 3,
		},
		{
			name: "broken line of the metric", page: "# TYPE x gauge\nother 1\nother 2\nx 1\nx{a=\"b\" 2\n", sel: "x",
			wantErr: "metrics page line 5: unexpected end of label value",
		},
		{
			name: "summary without count is not zero", page: "# TYPE s summary\ns{quantile=\"0.5\"} 1\n", sel: "s_count",
			wantErr: "no metric named s_count",
		},
		{name: "plain _count gauge", page: "# TYPE x_count gauge\nx_count 5\n", sel: "x_count", want: 5},
		{
			name: "count before its summary", page: "a_count 3\n# TYPE a summary\na{quantile=\"1\"} 1\n", sel: "a_count", want: 3,
		},
		{name: "quoted UTF-8 names elsewhere", page: "# TYPE \"my.metric\" gauge\n{\"my.metric\",a=\"b\"} 2\nx 1\n", sel: "x", want: 1},
		{name: "no final newline", page: "x 1\ny 2", sel: "x", want: 1},
		{
			name: "negative series cancelling another", page: "inflight{pool=\"a\"} 5\ninflight{pool=\"b\"} -5\n", sel: "inflight",
			wantErr: `series inflight{pool="b"} is -5: below zero, not a count`,
		},
		{name: "negative series not selected", page: "inflight{pool=\"a\"} 5\ninflight{pool=\"b\"} -5\n", sel: `inflight{pool="a"}`, want: 5},
		{name: "negative zero is zero", page: "x -0\n", sel: "x", want: 0},
		{name: "sum overflows", page: "x{a=\"1\"} 1e308\nx{a=\"2\"} 1e308\n", sel: "x", wantErr: "value is +Inf"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			page := tc.page
			if page == "" {
				page = promPage
			}
			sel, err := parseSelector(tc.sel)
			if err != nil {
				t.Fatal(err)
			}
			got, err := sel.value([]byte(page))
			checkErr(t, err, tc.wantErr)
			if err == nil && got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestRelevantLines checks that parsing only the lines relevant to a
// selector gives what parsing the whole page gives, on pages where lines of
// one family could join another.
func TestRelevantLines(t *testing.T) {
	pages := []string{
		promPage,
		"# TYPE a_count histogram\na_count_bucket{le=\"1\"} 1\na_count_bucket{le=\"+Inf\"} 2\na_count_sum 3\na_count_count 2\n" +
			"# TYPE a summary\na{quantile=\"0.5\"} 1\na_sum 2\na_count 3\n",
		"# TYPE a summary\na{quantile=\"0.5\"} 1\na_sum 2\na_count 3\na_count_sum 4\na_count_count 5\na_bucket 6\n",
		"# TYPE a histogram\na_bucket{le=\"+Inf\"} 1\na_sum 2\na_count 1\na_bucket_count 7\n# TYPE a_sum gauge\na_sum_sum 3\n",
		"a_count 1\n# HELP a help\na 2\na_sum 3\n# TYPE b summary\nb_count 4\nb_sum 5\n",
		"# TYPE x_sum summary\nx_sum{quantile=\"0.5\"} 1\nx_sum_count 2\nx_sum_sum 3\n# TYPE x histogram\nx_bucket{le=\"1\"} 4\nx_count 5\n",
	}
	sels := []string{
		"a", "a_sum", "a_count", "a_bucket", "a_count_sum", "a_count_count", "a_count_bucket", "a_bucket_count",
		"a_sum_sum", "b", "b_count", "b_sum", "x", "x_sum", "x_sum_count", "x_sum_sum", "x_bucket", "x_count",
		"http_requests_in_flight", "rpc_duration_seconds_count", `req_seconds_bucket{le="1"}`,
	}
	for i, page := range pages {
		for _, s := range sels {
			sel, err := parseSelector(s)
			if err != nil {
				t.Fatal(err)
			}
			want, wantErr := fullParseValue(sel, []byte(page))
			got, err := sel.value([]byte(page))
			if (err == nil) != (wantErr == nil) || got != want {
				t.Errorf("page %d, %s: got %v, %v; whole page gives %v, %v", i, s, got, err, want, wantErr)
			}
		}
	}
}

// fullParseValue is selector.value without the line filter.
func fullParseValue(sel selector, body []byte) (float64, error) {
	fams, err := parseFamilies(body)
	if err != nil {
		return 0, err
	}
	return sel.sum(fams, body)
}

func TestPromRead(t *testing.T) {
	var accept string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		accept = r.Header.Get("Accept")
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		fmt.Fprint(w, promPage)
	}))
	defer srv.Close()
	// A '#' in the selector is fine: only the first one ends the URL.
	src := newSource(t, `prom:`+srv.URL+`/metrics#http_requests_in_flight{handler!="#"} <= 1`, Options{})
	got, err := readOnce(src)
	if err != nil {
		t.Fatal(err)
	}
	if got != 6 {
		t.Fatalf("got %v, want 6", got)
	}
	if accept != promAccept {
		t.Fatalf("Accept = %q, want %q", accept, promAccept)
	}
	_, err = New(Spec{Type: "prom", Target: srv.URL + "#x{a=b}", Raw: "prom:x"}, Options{})
	checkErr(t, err, "value of label a: expected a quoted value")
}

// FuzzSelector checks that parseSelector never panics and that a parsed
// selector, written back with String, parses to the same selector.
func FuzzSelector(f *testing.F) {
	for _, s := range []string{"up", `x{a="b",c!~"d.*"}`, "x{a=~'\\x41'}", "x{a=`raw\\`}", `x{a="\u00e9\xff"}`, "x{a=\"(\"}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		sel, err := parseSelector(in)
		if err != nil {
			return
		}
		again, err := parseSelector(sel.String())
		if err != nil {
			t.Fatalf("%q parsed, but its String() %q does not: %v", in, sel, err)
		}
		if again.String() != sel.String() || len(again.matchers) != len(sel.matchers) {
			t.Fatalf("%q: String() %q re-parses as %q", in, sel, again)
		}
		for i, m := range sel.matchers {
			if a := again.matchers[i]; a.label != m.label || a.op != m.op || a.value != m.value {
				t.Fatalf("%q: matcher %d %v re-parses as %v", in, i, m, a)
			}
		}
	})
}

// FuzzPromBody feeds pages to selector.value, which must not panic and must
// agree with a parse of the whole page whenever that parse succeeds.
func FuzzPromBody(f *testing.F) {
	f.Add([]byte(promPage))
	f.Add([]byte("# TYPE a summary\na{quantile=\"0.5\"} 1\na_sum 2\na_count 3\n"))
	f.Add([]byte("# TYPE a_count histogram\na_count_bucket{le=\"+Inf\"} 2\na_count_count 2\na_count 1\n"))
	var sels []selector
	for _, s := range []string{"a", `a_count{b!="c"}`, `a_count_bucket{le=~"\\+Inf|1"}`, "http_requests_in_flight"} {
		sel, err := parseSelector(s)
		if err != nil {
			f.Fatal(err)
		}
		sels = append(sels, sel)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, sel := range sels {
			got, err := sel.value(body)
			if _, perr := parseFamilies(body); perr != nil {
				continue // the filter may drop the broken line
			}
			want, wantErr := fullParseValue(sel, body)
			if (err == nil) != (wantErr == nil) || got != want {
				t.Fatalf("%s: got %v, %v; whole page gives %v, %v", sel, got, err, want, wantErr)
			}
		}
	})
}

// BenchmarkProm reads one selector from a page of 20,000 series: filtered as
// Read does, with a parse of the whole page for comparison, and over HTTP.
func BenchmarkProm(b *testing.B) {
	page := testbed.PromPage(20000)
	sel, err := parseSelector(`http_requests_in_flight{method="GET"}`)
	if err != nil {
		b.Fatal(err)
	}
	if v, err := sel.value(page); err != nil || v != 9 {
		b.Fatalf("got %v, %v; want 9", v, err)
	}
	b.Run("value", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := sel.value(page); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("whole-page-parse", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := fullParseValue(sel, page); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Over HTTP, chunked (no Content-Length: the buffer grows as it reads)
	// and with a Content-Length (fetch sizes the buffer from it).
	b.Run("http-read", func(b *testing.B) { benchHTTPRead(b, serve(string(page)), page, sel) })
	b.Run("http-read-length", func(b *testing.B) {
		benchHTTPRead(b, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(page)))
			_, _ = w.Write(page)
		}, page, sel)
	})
}

func benchHTTPRead(b *testing.B, h http.HandlerFunc, page []byte, sel selector) {
	{
		srv := httptest.NewServer(h)
		defer srv.Close()
		spec, err := ParseSpec("prom:" + srv.URL + "#" + sel.String())
		if err != nil {
			b.Fatal(err)
		}
		src, err := New(spec, Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(page)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := readOnce(src); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkPromOneOfBigFamily selects 1 series of a 10,000-series family.
func BenchmarkPromOneOfBigFamily(b *testing.B) {
	var page strings.Builder
	page.WriteString("# HELP http_requests_in_flight In-flight requests.\n# TYPE http_requests_in_flight gauge\n")
	for i := range 10000 {
		fmt.Fprintf(&page, "http_requests_in_flight{handler=\"/h%d\",method=\"GET\"} %d\n", i, i%5)
	}
	body := []byte(page.String())
	for _, q := range []struct{ name, sel string }{{"one", `http_requests_in_flight{handler="/h4242"}`}, {"all", `http_requests_in_flight`}} {
		sel, err := parseSelector(q.sel)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(q.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := sel.value(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A selector with label="value" matchers parses only the lines holding
// those values; the sum, and the error when nothing matches, are those of
// every line of the metric.
func TestPromNeedlesAsEveryLine(t *testing.T) {
	page := `# HELP rq In flight.
# TYPE rq gauge
rq{handler="/a",method="GET"} 3
rq{handler="/b",method="GET"} 4
rq{handler="/a",method="POST"} 5
rq{handler="/say \"hi\"",method="GET"} 6
rq{handler="GET",method="PUT"} 7
rq{code="",handler="/c"} 8
# TYPE lat_seconds summary
lat_seconds{handler="/a",quantile="0.5"} 0.2
lat_seconds{handler="/a",quantile="0.9"} 0.7
lat_seconds_sum{handler="/a"} 12
lat_seconds_count{handler="/a"} 30
# TYPE h_seconds histogram
h_seconds_bucket{handler="/a",le="1"} 2
h_seconds_bucket{handler="/a",le="+Inf"} 3
h_seconds_sum{handler="/a"} 1.5
h_seconds_count{handler="/a"} 3
h_seconds_bucket{handler="/b",le="1"} 1
h_seconds_bucket{handler="/b",le="+Inf"} 1
h_seconds_sum{handler="/b"} 0.5
h_seconds_count{handler="/b"} 1
`
	for _, q := range []string{
		`rq{handler="/a"}`, `rq{handler="/a",method="GET"}`, `rq{method="GET"}`, `rq{handler="/say \"hi\""}`,
		`rq{code=""}`, `rq{handler="/a",method!="GET"}`, `rq{handler=~"/a|/b",method="GET"}`,
		`lat_seconds{quantile="0.5"}`, `lat_seconds_count{handler="/a"}`, `lat_seconds_sum`,
		`h_seconds_count{handler="/b"}`, `h_seconds_bucket{le="1"}`, `h_seconds_bucket{handler="/a",le="+Inf"}`, `h_seconds_sum{handler="/a"}`,
		`rq{handler="/zz"}`, `rq{handler="/a",method="PUT"}`, `nope{handler="/a"}`, `h_seconds_bucket{le="2"}`,
	} {
		sel, err := parseSelector(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		got, gerr := sel.value([]byte(page))
		want, werr := sel.valueOf([]byte(page), nil)
		if got != want || fmt.Sprint(gerr) != fmt.Sprint(werr) {
			t.Errorf("%s: %v, %v; every line gives %v, %v", q, got, gerr, want, werr)
		}
		if fv, ferr := fullParseValue(sel, []byte(page)); fv != want || (ferr == nil) != (werr == nil) {
			t.Errorf("%s: the whole page gives %v, %v; the metric's lines %v, %v", q, fv, ferr, want, werr)
		}
	}
}
