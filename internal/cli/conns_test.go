package cli

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"
)

// Twenty sources on one host:port, polled every 50 ms by a real drain
// process until they have settled: the connections are kept and reused, so
// the server accepts no more TCP connections than there are sources,
// however many polls the run makes.
func TestSourcesOnOneHostReuseConnections(t *testing.T) {
	const sources = 20
	var conns, reqs atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		reqs.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"v":0}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	args := []string{"wait", "--interval", "50ms", "--settle", "2s", "--timeout", "60s"}
	for i := range sources {
		args = append(args, "--source", fmt.Sprintf("s%d=json:%s/s%d#v", i, srv.URL, i))
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "DRAIN_TEST_AS_DRAIN=1", "NO_COLOR=1")
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("drain wait did not end: %s", out)
	}
	if err != nil {
		t.Fatalf("drain wait: %v\n%s", err, out)
	}
	polls := reqs.Load() / sources
	if polls < 3 {
		t.Fatalf("only %d requests: the run polled fewer than 3 times\n%s", reqs.Load(), out)
	}
	if c := conns.Load(); c > sources {
		t.Fatalf("%d TCP connections accepted for %d sources over %d polls (%d requests): connections not reused", c, sources, polls, reqs.Load())
	}
	t.Logf("%d connections, %d requests", conns.Load(), reqs.Load())
}
