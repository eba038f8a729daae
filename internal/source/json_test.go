package source

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

const envoyStats = `{"stats":[
	{"name":"http.admin.downstream_rq_active","value":1},
	{"name":"http.ingress.downstream_rq_active","value":3},
	{"name":"http.egress.downstream_rq_active","value":2},
	{"name":"server.live","value":1}
]}`

func TestJSONValue(t *testing.T) {
	cases := []struct {
		name, body, path string
		want             float64
		wantErr          string
	}{
		{name: "number", body: `{"a":{"b":7}}`, path: "a.b", want: 7},
		{name: "float", body: `{"a":2.5}`, path: "a", want: 2.5},
		{name: "numeric string", body: `{"a":" 12 "}`, path: "a", want: 12},
		{
			name: "envoy query", body: envoyStats,
			path: `stats.#(name=="http.ingress.downstream_rq_active").value`, want: 3,
		},
		{
			name: "sum of an array query", body: envoyStats,
			path: `stats.#(name%"http.*.downstream_rq_active")#.value`, want: 6,
		},
		{name: "array of numbers and numeric strings", body: `{"a":[1,"2",3.5]}`, path: "a", want: 6.5},
		{name: "array length", body: `{"a":[{},{}]}`, path: "a.#", want: 2},
		{name: "missing path", body: `{"a":1}`, path: "b", wantErr: `path "b" not found`},
		{name: "string", body: `{"a":"busy"}`, path: "a", wantErr: `path "a": got "busy", want a number`},
		{name: "null", body: `{"a":null}`, path: "a", wantErr: `path "a": got null, want a number`},
		{name: "bool", body: `{"a":true}`, path: "a", wantErr: `path "a": got true, want a number`},
		{name: "object", body: `{"a":{"b":1}}`, path: "a", wantErr: `path "a": got an object, want a number`},
		{name: "NaN string", body: `{"a":"NaN"}`, path: "a", wantErr: `path "a": value is NaN`},
		{name: "overflowing number", body: `{"a":1e999}`, path: "a", wantErr: `path "a": value is +Inf`},
		{
			name: "query matching nothing", body: envoyStats,
			path:    `stats.#(name=="nope")#.value`,
			wantErr: `matched nothing (empty array)`,
		},
		{name: "array with a non-number", body: `{"a":[1,"x"]}`, path: "a", wantErr: `path "a": element 1: got "x", want a number`},
		{name: "nested array", body: `{"a":[1,[2]]}`, path: "a", wantErr: `element 1: got an array, want a number`},
		{name: "negative", body: `{"a":-2}`, path: "a", wantErr: `path "a": value is -2: below zero, not a count`},
		{name: "negative string", body: `{"a":"-2"}`, path: "a", wantErr: `path "a": value is -2: below zero`},
		{name: "negative element cancelling another", body: `{"a":[1,-1]}`, path: "a", wantErr: `path "a": element 1: value is -1: below zero`},
		{name: "invalid JSON", body: `{"a":1`, path: "a", wantErr: `invalid JSON, cannot read path "a"`},
		{name: "html", body: `<html>502</html>`, path: "a", wantErr: "invalid JSON"},
		{name: "empty body", body: ``, path: "a", wantErr: "invalid JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := jsonValue([]byte(tc.body), tc.path)
			checkErr(t, err, tc.wantErr)
			if err == nil && got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestJSONRead(t *testing.T) {
	var accept string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		accept = r.Header.Get("Accept")
		if r.URL.Query().Get("format") != "json" {
			http.NotFound(w, r)
			return
		}
		serve(envoyStats)(w, r)
	}))
	defer srv.Close()
	// The path contains '#' too: only the first one ends the URL.
	src := newSource(t, `json:`+srv.URL+`/stats?format=json#stats.#(name=="http.egress.downstream_rq_active").value<=1`, Options{})
	got, err := readOnce(src)
	if err != nil {
		t.Fatal(err)
	}
	if got != 2 {
		t.Fatalf("got %v, want 2", got)
	}
	if accept != "application/json" {
		t.Fatalf("Accept = %q", accept)
	}
}
