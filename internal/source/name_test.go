package source

import (
	"reflect"
	"testing"
)

func TestParseSpecName(t *testing.T) {
	cases := []struct{ raw, name, typ, target string }{
		{"api=prom:http://h:9100/metrics#x{a=\"b\"}", "api", "prom", `http://h:9100/metrics#x{a="b"}`},
		{" web-1.a_b = nginx:http://h/status", "web-1.a_b", "nginx", "http://h/status"},
		{"json:http://h/stats?a=b#x", "", "json", "http://h/stats?a=b#x"},
		{"exec:count --pool=x", "", "exec", "count --pool=x"},
		{"ss=state-server", "ss", "state-server", ""},
		{"state-server<=5", "", "state-server", ""},
		{`pdh:\W3SVC_W3WP(a=b)\Active Requests`, "", "pdh", `\W3SVC_W3WP(a=b)\Active Requests`},
	}
	for _, c := range cases {
		s, err := ParseSpec(c.raw)
		if err != nil {
			t.Errorf("%q: %v", c.raw, err)
			continue
		}
		if s.Name != c.name || s.Type != c.typ || s.Target != c.target {
			t.Errorf("%q: name %q type %q target %q, want %q %q %q", c.raw, s.Name, s.Type, s.Target, c.name, c.typ, c.target)
		}
		if c.name != "" && s.String() != mustParse(t, c.raw[len(c.raw)-len(s.String()):]).String() {
			t.Errorf("%q: String() %q should be the spec without the name", c.raw, s.String())
		}
	}
	if _, err := ParseSpec("api=bogus:x"); err == nil {
		t.Error("a named spec of an unknown type must still be an error")
	}
}

func mustParse(t *testing.T, raw string) Spec {
	t.Helper()
	s, err := ParseSpec(raw)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDefaultNames(t *testing.T) {
	specs := []string{
		`prom:http://127.0.0.1:9182/metrics#windows_iis_worker_current_requests{app="Shop"}<=1`,
		`prom:http://127.0.0.1:9100/metrics#http_requests_in_flight`,
		`nginx:http://user:pw@127.0.0.1:8080/nginx_status`,
		`apache:http://127.0.0.1/server-status?auto`,
		`json:http://127.0.0.1:9000/stats#queue.busy`,
		`haproxy:/run/haproxy/admin.sock#web/app1`,
		`exec:/usr/local/bin/inflight --pool x`,
		`exec:C:\tools\count.exe --pool x`,
		`pdh:\Web Service(Default Web Site)\Current Connections`,
		`pdh:\ASP.NET\Requests Current`,
		`iis:ShopPool`,
		`state-server`,
		`nginx:http://127.0.0.1:8080/nginx_status`,
		`nginx:http://127.0.0.1:8080/nginx_status`,
		`a=exec:true`,
		`exec:a`,
	}
	var ss []Spec
	for _, s := range specs {
		ss = append(ss, mustParse(t, s))
	}
	want := []string{
		"windows_iis_worker_current_requests{app=Shop}",
		"http_requests_in_flight",
		"127.0.0.1:8080/nginx_status",
		"127.0.0.1/server-status",
		"127.0.0.1:9000/stats#queue.busy",
		"web/app1",
		"inflight",
		"count",
		"Default Web Site",
		"Requests Current",
		"ShopPool",
		"state-server",
		"127.0.0.1:8080/nginx_status#2",
		"127.0.0.1:8080/nginx_status#3",
		"a",
		"a#2",
	}
	if got := Names(ss); !reflect.DeepEqual(got, want) {
		for i := range want {
			if i < len(got) && got[i] != want[i] {
				t.Errorf("%s: name %q, want %q", specs[i], got[i], want[i])
			}
		}
	}
}
