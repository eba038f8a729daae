package source

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func newTestSource(t *testing.T, raw string) Source {
	t.Helper()
	spec, err := ParseSpec(raw)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// readTotal reads s once and returns its value and total.
func readTotal(t *testing.T, s Source) (float64, float64, bool) {
	t.Helper()
	v, err := s.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tt, ok := s.(Totaler)
	if !ok {
		t.Fatalf("%T is not a Totaler", s)
	}
	total, ok := tt.Total()
	return v, total, ok
}

func TestPromTotal(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "# TYPE inflight gauge\ninflight 0\n# TYPE http_requests_total counter\nhttp_requests_total{code=\"200\"} %d\nhttp_requests_total{code=\"500\"} 1\n", served.Load())
	}))
	defer srv.Close()
	s := newTestSource(t, "prom:"+srv.URL+"/metrics#inflight#total=http_requests_total<=0")
	served.Store(41)
	if v, total, ok := readTotal(t, s); v != 0 || total != 42 || !ok {
		t.Errorf("read %v total %v %v, want 0 and 42 (both series summed)", v, total, ok)
	}
	served.Store(44)
	if _, total, _ := readTotal(t, s); total != 45 {
		t.Errorf("total %v, want 45", total)
	}
	// Labels select the series, as for the value.
	s = newTestSource(t, "prom:"+srv.URL+`/metrics#inflight#total=http_requests_total{code="500"}`)
	if _, total, ok := readTotal(t, s); total != 1 || !ok {
		t.Errorf("total %v %v, want 1", total, ok)
	}
	// Without #total= there is none.
	s = newTestSource(t, "prom:"+srv.URL+"/metrics#inflight")
	if _, _, ok := readTotal(t, s); ok {
		t.Error("a total without #total=")
	}
	// A counter that is not on the page makes the source unknown.
	s = newTestSource(t, "prom:"+srv.URL+"/metrics#inflight#total=http_request_total")
	if _, err := s.Read(context.Background()); err == nil || !strings.Contains(err.Error(), "total: no metric named http_request_total") {
		t.Errorf("missing counter: %v", err)
	}
	// A bad counter selector is a spec error.
	spec, _ := ParseSpec("prom:" + srv.URL + "/metrics#inflight#total={")
	if _, err := New(spec, Options{}); err == nil || !strings.Contains(err.Error(), "#total={") {
		t.Errorf("bad total selector: %v", err)
	}
}

func TestHAProxyTotal(t *testing.T) {
	stot := "7"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "# pxname,svname,qcur,scur,stot,status\nweb,FRONTEND,,0,99,OPEN\nweb,a,0,1,%s,UP\nweb,b,0,0,3,UP\n", stot)
	}))
	defer srv.Close()
	s := newTestSource(t, "haproxy:"+srv.URL+"/stats;csv#web/a")
	if v, total, ok := readTotal(t, s); v != 1 || total != 7 || !ok {
		t.Errorf("read %v total %v %v, want 1 and stot 7", v, total, ok)
	}
	stot = "9"
	if _, total, _ := readTotal(t, s); total != 9 {
		t.Errorf("total %v, want 9", total)
	}
	for _, opt := range []string{"#total=off", "#total=off<=2"} {
		s = newTestSource(t, "haproxy:"+srv.URL+"/stats;csv#web/a"+opt)
		if _, _, ok := readTotal(t, s); ok {
			t.Errorf("%s: a total", opt)
		}
	}
	s = newTestSource(t, "haproxy:"+srv.URL+"/stats;csv#web/b#total=stot")
	if _, total, ok := readTotal(t, s); total != 3 || !ok {
		t.Errorf("#total=stot: %v %v", total, ok)
	}
	spec, _ := ParseSpec("haproxy:" + srv.URL + "/stats;csv#web/b#total=req_tot")
	if _, err := New(spec, Options{}); err == nil || !strings.Contains(err.Error(), "stot (the default) or off") {
		t.Errorf("#total=req_tot: %v", err)
	}
}
