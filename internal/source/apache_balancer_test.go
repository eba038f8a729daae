package source

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/apachetest"
)

// TestApacheBalancerBusy reads a real Apache's Busy count for a worker
// while requests hang on it, and 0 once they are done.
func TestApacheBalancerBusy(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Debian's apache2 runs on Linux")
	}
	release := make(chan struct{})
	var entered sync.WaitGroup
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			entered.Done()
			<-release
		}
	}))
	defer slow.Close()
	other := httptest.NewServer(http.NotFoundHandler())
	defer other.Close()
	// lbset: the slow worker (set 0) takes every request while it is up.
	ap := apachetest.Start(t, "", apachetest.Member{URL: slow.URL}, apachetest.Member{URL: other.URL, Params: "lbset=1"})
	read := func(target string) (float64, error) {
		spec, err := ParseSpec("apache-balancer:" + target)
		if err != nil {
			t.Fatal(err)
		}
		src, err := New(spec, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return src.Read(context.Background())
	}
	target := ap.Manager() + "#web/" + slow.URL
	if v, err := read(target); v != 0 || err != nil {
		t.Fatalf("idle: %v %v", v, err)
	}
	const n = 3
	entered.Add(n)
	var done sync.WaitGroup
	for range n {
		done.Add(1)
		go func() {
			defer done.Done()
			c := &http.Client{Timeout: 30 * time.Second}
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, ap.URL("/hang"), http.NoBody)
			if resp, err := c.Do(req); err == nil {
				_ = resp.Body.Close()
			} else {
				t.Error(err)
			}
		}()
	}
	entered.Wait()
	v, err := read(target)
	close(release)
	done.Wait()
	if v != n || err != nil {
		t.Errorf("with %d requests hanging: %v %v", n, v, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err = read(target)
		if v == 0 && err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the requests ended: %v %v", v, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, tc := range []struct{ target, want string }{
		{ap.Manager() + "#web/http://127.0.0.1:1", "no worker \"http://127.0.0.1:1\" in balancer://web (it has: " + slow.URL},
		{ap.Manager() + "#api/" + slow.URL, "no balancer \"api\" on the page (it has: web)"},
	} {
		if _, err := read(tc.target); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.target, err, tc.want)
		}
	}
	for _, bad := range []string{"apache-balancer:http://lb/balancer-manager", "apache-balancer:http://lb/bm#web", "apache-balancer:http://lb/bm#web/a1"} {
		spec, err := ParseSpec(bad)
		if err == nil {
			_, err = New(spec, Options{})
		}
		if err == nil || !strings.Contains(err.Error(), "BALANCER/WORKER_URL") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

// TestApacheBalancerElectedIsTotal: the source's total is the worker's
// Elected count on a real Apache (the requests the balancer sent it: its
// arrivals counter), up by one per request; #total=off reads none, and any
// other #total= is refused.
func TestApacheBalancerElectedIsTotal(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Debian's apache2 runs on Linux")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	other := httptest.NewServer(http.NotFoundHandler())
	defer other.Close()
	ap := apachetest.Start(t, "", apachetest.Member{URL: srv.URL}, apachetest.Member{URL: other.URL, Params: "lbset=1"})
	open := func(target string) Source {
		t.Helper()
		spec, err := ParseSpec("apache-balancer:" + target)
		if err != nil {
			t.Fatal(err)
		}
		src, err := New(spec, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	target := ap.Manager() + "#web/" + srv.URL
	src := open(target)
	total := func() float64 {
		t.Helper()
		if _, err := src.Read(context.Background()); err != nil {
			t.Fatal(err)
		}
		v, ok := src.(Totaler).Total()
		if !ok {
			t.Fatal("no total after a read")
		}
		return v
	}
	before := total()
	const n = 4
	for range n {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, ap.URL("/x"), http.NoBody)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}
	if after := total(); after != before+n {
		t.Errorf("Elected total %v after %d requests, %v before", after, n, before)
	}
	off := open(target + "#total=off")
	if _, err := off.Read(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v, ok := off.(Totaler).Total(); ok {
		t.Errorf("#total=off: total %v", v)
	}
	spec, err := ParseSpec("apache-balancer:" + target + "#total=stot")
	if err == nil {
		_, err = New(spec, Options{})
	}
	if err == nil || !strings.Contains(err.Error(), "elected (the default) or off") {
		t.Errorf("#total=stot: %v", err)
	}
}
