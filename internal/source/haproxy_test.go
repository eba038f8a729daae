package source

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/drain-cli/drain/internal/haproxy/haproxytest"
)

// A real HAProxy 2.6 `show stat` (abridged rows, full header).
const haproxyCSV = `# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,
fe,FRONTEND,,,7,9,256,120,1,2,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,1,0,3,,,,0,118,0,0,0,0,,1,3,118,,,
web,a,1,2,4,5,,60,1,2,,0,,0,0,0,0,UP,1,1,0,0,0,12,0,,1,3,1,,60,,2,0,,2,L7OK,200,0,0,60,0,0,0,0,,,,,0,0,
web,b,0,0,2,4,,58,1,2,,0,,0,0,0,0,DRAIN,0,1,0,0,0,12,0,,1,3,2,,58,,2,0,,2,L7OK,200,1,0,58,0,0,0,0,,,,,0,0,
web,BACKEND,1,2,6,9,26,118,1,2,0,0,,0,0,0,0,UP,1,2,0,,0,12,0,,1,3,0,,118,,1,0,,3,,,,0,118,0,0,0,0,,,,118,0,0,
`

func TestHAProxyCSV(t *testing.T) {
	for _, tc := range []struct {
		name, body, be, srv string
		want                float64
		err                 string
	}{
		{name: "scur+qcur", body: haproxyCSV, be: "web", srv: "a", want: 5},
		{name: "other server", body: haproxyCSV, be: "web", srv: "b", want: 2},
		{name: "columns moved", body: "# svname,pxname,scur,qcur\nb,web,3,4\n", be: "web", srv: "b", want: 7},
		{name: "missing server", body: haproxyCSV, be: "web", srv: "zz", err: `no server "zz" in backend "web" (it has: a, b)`},
		{name: "missing backend", body: haproxyCSV, be: "api", srv: "a", err: `no backend "api"`},
		{name: "no qcur column", body: "# pxname,svname,scur\nweb,a,1\n", be: "web", srv: "a", err: `no "qcur" column`},
		{name: "empty scur", body: "# pxname,svname,qcur,scur\nweb,a,0,\n", be: "web", srv: "a", err: "is not a count"},
		{name: "negative qcur", body: "# pxname,svname,scur,qcur\nweb,a,5,-5\n", be: "web", srv: "a", err: `qcur "-5" is not a count`},
		{name: "short row", body: "# pxname,svname,qcur,scur\nweb,a,0\n", be: "web", srv: "a", err: "no scur value"},
		{name: "html", body: "<html>stats</html>", be: "web", srv: "a", err: "not an HAProxy stats CSV"},
		{name: "error text", body: "Permission denied\n", be: "web", srv: "a", err: "not an HAProxy stats CSV"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := haproxyServerLoad([]byte(tc.body), tc.be, tc.srv)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, %v; want error %q", v, err, tc.err)
				}
				return
			}
			if err != nil || v != tc.want {
				t.Fatalf("got %v, %v; want %v", v, err, tc.want)
			}
		})
	}
}

func TestHAProxySourceSocketAndURL(t *testing.T) {
	lb := haproxytest.New(t, "web/a", "web/b")
	lb.Set("web/a", haproxytest.Server{Scur: 3, Qcur: 2})
	srv := httptest.NewServer(serve(haproxyCSV))
	defer srv.Close()
	targets := map[string]float64{
		lb.Addr + "#web/a":                     5,
		srv.URL + "/stats;csv#web/a":           5,
		srv.URL + "/stats;csv;norefresh#web/b": 2,
	}
	absent := "tcp:127.0.0.1:1#web/a"
	if !strings.HasPrefix(lb.Addr, "tcp:") { // a unix socket (not under Wine)
		targets["unix:"+lb.Addr+"#web/b"] = 0
		absent = t.TempDir() + "/none.sock#web/a"
	}
	for target, want := range targets {
		spec, err := ParseSpec("haproxy:" + target)
		if err != nil {
			t.Fatal(err)
		}
		src, err := New(spec, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if v, err := src.Read(context.Background()); err != nil || v != want {
			t.Errorf("%s: %v, %v; want %v", target, v, err, want)
		}
	}
	for _, bad := range []string{"haproxy:/run/a.sock", "haproxy:/run/a.sock#web", "haproxy:ftp://x/#web/a", "haproxy:lb#web/a"} {
		spec, err := ParseSpec(bad)
		if err == nil {
			_, err = New(spec, Options{})
		}
		if err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	spec, _ := ParseSpec("haproxy:" + absent)
	src, err := New(spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Read(context.Background()); err == nil {
		t.Error("an absent socket read as a value")
	}
}

func FuzzHAProxyCSV(f *testing.F) {
	f.Add([]byte(haproxyCSV), "web", "a")
	f.Add([]byte("# svname,pxname,scur,qcur\nb,web,3,4\n"), "web", "b")
	f.Fuzz(func(t *testing.T, body []byte, be, srv string) {
		v, err := haproxyServerLoad(body, be, srv)
		if err == nil && (v < 0 || v != v) {
			t.Fatalf("value %v from %q", v, body)
		}
	})
}

func TestApacheStatus(t *testing.T) {
	const auto = "localhost\nServerVersion: Apache/2.4.57 (Debian)\nTotal Accesses: 10\nBusyWorkers: 4\nIdleWorkers: 71\nScoreboard: __W_WWW___....\n"
	for _, tc := range []struct {
		name, body string
		want       float64
		err        string
	}{
		{name: "busy less itself", body: auto, want: 3},
		{name: "only itself", body: "BusyWorkers: 1\nIdleWorkers: 9\n", want: 0},
		{name: "zero floors at zero", body: "BusyWorkers: 0\n", want: 0},
		{name: "crlf", body: "Total Accesses: 1\r\nBusyWorkers: 7\r\n", want: 6},
		{name: "html", body: "<html><body>Apache Server Status</body></html>", err: "add ?auto"},
		{name: "no busy", body: "IdleWorkers: 9\n", err: "no BusyWorkers line"},
		{name: "garbage value", body: "BusyWorkers: many\n", err: "is not a count"},
		{name: "negative", body: "BusyWorkers: -3\n", err: `BusyWorkers "-3" is not a count`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var gotQuery string
			srv := httptest.NewServer(serveQuery(tc.body, &gotQuery))
			defer srv.Close()
			spec, _ := ParseSpec("apache:" + srv.URL + "/server-status")
			src, err := New(spec, Options{})
			if err != nil {
				t.Fatal(err)
			}
			v, err := src.Read(context.Background())
			if gotQuery != "auto" {
				t.Errorf("query %q, want auto", gotQuery)
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, %v; want error %q", v, err, tc.err)
				}
				return
			}
			if err != nil || v != tc.want {
				t.Fatalf("got %v, %v; want %v", v, err, tc.want)
			}
		})
	}
}

func FuzzApacheStatus(f *testing.F) {
	f.Add([]byte("BusyWorkers: 4\nIdleWorkers: 71\n"))
	f.Add([]byte("<html></html>"))
	f.Fuzz(func(t *testing.T, body []byte) {
		v, err := parseApacheStatus(body)
		if err == nil && (v < 0 || v != v) {
			t.Fatalf("value %v from %q", v, body)
		}
	})
}

// After the first read, a poll asks HAProxy for the server's one row (show
// stat IID 4 SID), whatever the size of the backend; when a reload
// renumbered the servers, it finds the row again.
func TestHAProxySourceAsksForOneRow(t *testing.T) {
	lb := haproxytest.New(t, "api/x", "web/a", "web/b", "web/c")
	lb.Set("web/c", haproxytest.Server{Scur: 2, Qcur: 1, Stot: 40})
	spec, err := ParseSpec("haproxy:" + lb.Addr + "#web/c")
	if err != nil {
		t.Fatal(err)
	}
	src, err := New(spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	read := func(want, wantTotal float64) {
		t.Helper()
		if v, err := src.Read(context.Background()); err != nil || v != want {
			t.Fatalf("read %v, %v; want %v", v, err, want)
		}
		if v, ok := src.(Totaler).Total(); !ok || v != wantTotal {
			t.Fatalf("total %v, %v; want %v", v, ok, wantTotal)
		}
	}
	read(3, 40)
	read(3, 40)
	lb.Set("web/c", haproxytest.Server{Scur: 1, Stot: 41})
	read(1, 41)
	// web/c is the fourth in sorted order (sid 4) of the second backend (iid 4).
	want := []string{"show stat web 4 -1", "show stat 4 4 4", "show stat 4 4 4"}
	if got := lb.Commands; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("commands %q, want %q", got, want)
	}
	// A reload renumbers: web/c is now sid 9, and sid 4 is no server.
	lb.Set("web/c", haproxytest.Server{Scur: 5, Stot: 2, Sid: 9})
	read(5, 2)
	read(5, 2)
	want = append(want, "show stat 4 4 4", "show stat web 4 -1", "show stat 4 4 9")
	if got := lb.Commands; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("commands %q, want %q", got, want)
	}
	// Another server took the old id: its row is not ours.
	lb.Set("web/a", haproxytest.Server{Scur: 7, Sid: 9})
	lb.Set("web/c", haproxytest.Server{Scur: 6, Stot: 3, Sid: 12})
	read(6, 3)
	// Gone: an error naming what the backend has, never a value.
	spec, _ = ParseSpec("haproxy:" + lb.Addr + "#web/zz")
	src, _ = New(spec, Options{})
	if v, err := src.Read(context.Background()); err == nil || !strings.Contains(err.Error(), `no server "zz" in backend "web" (it has: a, b, c)`) {
		t.Fatalf("read %v, %v; want no server zz", v, err)
	}
}

func TestProxyNameArg(t *testing.T) {
	for name, want := range map[string]bool{"web": true, "be_app-1.v2:x": true, "12": false, "": false, "a b": false, "a;show": false, "a\nb": false, "wéb": false} {
		if got := proxyNameArg(name); got != want {
			t.Errorf("%q: %v, want %v", name, got, want)
		}
	}
}
