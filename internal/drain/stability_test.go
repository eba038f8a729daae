package drain

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/action"
	"github.com/drain-cli/drain/internal/rotation"
	"github.com/drain-cli/drain/internal/source"
	"github.com/drain-cli/drain/internal/state"
)

// TestLongRunStability runs 200 out/wait/act/in cycles against a real HTTP
// metrics server and a real action process, and checks that nothing leaks:
// goroutines, file descriptors and heap stay flat.
func TestLongRunStability(t *testing.T) {
	if testing.Short() {
		t.Skip("long run; skipped with -short")
	}
	if runtime.GOOS == "windows" {
		t.Skip("counts file descriptors in /proc; the cycle itself is covered by the other tests")
	}
	var busyReads atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		// Busy for the first two reads of every cycle, then idle.
		v := 0
		if busyReads.Add(-1) >= 0 {
			v = 1
		}
		fmt.Fprintf(w, "# TYPE in_flight gauge\nin_flight %d\n", v)
	}))
	defer srv.Close()

	dir := t.TempDir()
	page := filepath.Join(dir, "keepalive.htm")
	if err := os.WriteFile(page, []byte("OK\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rot, _ := rotation.NewKeepalive(page, "", nil)
	spec, _ := source.ParseSpec("prom:" + srv.URL + "#in_flight")
	src, err := source.New(spec, source.Options{ReadTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	act, err := action.New([]string{"true"}, false, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	p := &Plan{
		Rotator: mustSet(t, rot), Store: state.Store{Dir: filepath.Join(dir, "state")},
		Sources:  []Watch{{Name: spec.String(), Source: src}},
		Interval: 2 * time.Millisecond, Settle: 4 * time.Millisecond, Timeout: 10 * time.Second,
		Action: act, ActionOut: nopWriter{}, ActionErr: nopWriter{},
	}

	cycle := func() {
		busyReads.Store(2)
		if oc := p.Run(context.Background(), nil); oc.Err != nil || oc.Rotation != rotation.Out {
			t.Fatalf("run: %+v", oc)
		}
		if oc := p.In(context.Background(), false, nil); oc.Err != nil || oc.Rotation != rotation.In {
			t.Fatalf("in: %+v", oc)
		}
	}
	for range 20 { // warm up pools and lazy initialisation
		cycle()
	}
	g0, fd0, heap0 := snapshot(t)
	for range 200 {
		cycle()
	}
	g1, fd1, heap1 := snapshot(t)
	t.Logf("after 200 cycles: goroutines %d -> %d, fds %d -> %d, heap %d KB -> %d KB", g0, g1, fd0, fd1, heap0>>10, heap1>>10)
	if g1 > g0+2 {
		t.Errorf("goroutines grew from %d to %d", g0, g1)
	}
	if fd1 > fd0+2 {
		t.Errorf("file descriptors grew from %d to %d", fd0, fd1)
	}
	if heap1 > heap0+1<<20 {
		t.Errorf("heap grew from %d KB to %d KB", heap0>>10, heap1>>10)
	}
	if _, err := os.Stat(page); err != nil {
		t.Error("page not in place after the last cycle")
	}
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

func snapshot(t *testing.T) (goroutines, fds int, heap uint64) {
	t.Helper()
	// Let idle HTTP connections and finished goroutines wind down.
	http.DefaultClient.CloseIdleConnections()
	time.Sleep(100 * time.Millisecond)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return runtime.NumGoroutine(), len(entries), ms.HeapAlloc
}
