//go:build linux

package main

// Part 7, at scale: a prom: source reading one series from pages of 1000
// to 500 000 series, served with a Content-Length and gzip-compressed in
// chunks (no Content-Length), the current tree and an older one side by
// side.

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/drain-cli/drain/internal/testbed"
)

// pageServer serves page at /metrics: with a Content-Length, or (gz)
// gzip-compressed once up front and written in 32 KiB chunks with no
// Content-Length, to a client that accepts gzip.
func pageServer(page []byte, gz bool) (string, func()) {
	var z bytes.Buffer
	if gz {
		w := gzip.NewWriter(&z)
		_, _ = w.Write(page)
		check(w.Close())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		if gz && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			for b := z.Bytes(); len(b) > 0; {
				k := min(len(b), 32<<10)
				_, _ = w.Write(b[:k])
				b = b[k:]
			}
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(page)))
		_, _ = w.Write(page)
	})}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String() + "/metrics", func() { _ = srv.Close() }
}

// floorFetch is the CPU this process spends fetching the page k times
// with Go's default client (gunzipping it when served so) and discarding it.
func floorFetch(url string, k int) time.Duration {
	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	start := selfCPU()
	for range k {
		resp, err := c.Get(url)
		check(err)
		_, err = io.Copy(io.Discard, resp.Body)
		check(err)
		_ = resp.Body.Close()
	}
	return (selfCPU() - start) / time.Duration(k)
}

// promCost is a prom: source's CPU per poll: drain wait for 1 s and for 7
// s, the difference in CPU over the difference in polls.
func promCost(bin, src string) srcCost {
	run := func(d time.Duration) (usage, int) {
		u := runDrain(bin, "wait", "--output", "json", "--interval", "100ms", "--settle", "1h", "--timeout", d.String(), "--source", src)
		return u, len(pollRe.FindAll(u.out, -1))
	}
	u1, p1 := run(time.Second)
	u7, p7 := run(7 * time.Second)
	dp := p7 - p1
	if dp <= 0 {
		fatal("source %s: %d then %d polls\n%s", src, p1, p7, u7.out)
	}
	for _, l := range bytes.Split(u7.out, []byte("\n")) { // a read that failed is no measure
		if pollRe.Match(l) && bytes.Contains(l, []byte(`"error"`)) {
			fatal("source %s: a read failed\n%s", src, l)
		}
	}
	return srcCost{perPoll: float64((u7.cpu - u1.cpu).Microseconds()) / 1000 / float64(dp), polls: dp, rss: u7.rss}
}

// series is the table: page size by serving by binary.
func (b *bench) series(runs int, oldRev string, sizes []int) {
	oldBin, _ := b.buildOld(oldRev)
	bins := []string{oldBin, b.bin}
	fmt.Println("### A `prom:` source reading one series of pages of 1000 to 500 000 series")
	fmt.Println()
	fmt.Printf("`drain wait --interval 100ms --settle 1h` on `prom:URL#http_requests_in_flight{handler=\"/h4\"}` (one series), for 1 s and for 7 s: CPU per poll = the difference in CPU over the difference in polls; RSS = peak of the 7 s run; wall per poll = 6 s over the difference in polls (a poll that takes longer than 100 ms delays the next). Median of %d runs, old (%s) and new interleaved. The page served by a Go server on 127.0.0.1 from memory: with a Content-Length, or gzip-compressed up front and written in 32 KiB chunks without one (drain, as Go's client does by default, asks for gzip). Floor: the harness fetching the same page with Go's default client and discarding it (gunzipped when served so), no parsing. Load average at the start: %s.\n\n", runs, oldRev, loadavg())
	fmt.Println("| series | page (MB) | served | CPU per poll old (ms) | new (ms) | RSS old / new (MiB) | wall per poll old / new (ms) | floor: fetch only (ms) |")
	fmt.Println("|---:|---:|---|---:|---:|---|---|---:|")
	for _, n := range sizes {
		page := testbed.PromPage(n)
		for _, gz := range []bool{false, true} {
			url, stop := pageServer(page, gz)
			src := "prom:" + url + `#http_requests_in_flight{handler="/h4"}`
			var all [2][]srcCost
			for r := range runs {
				order := []int{0, 1}
				if r%2 == 1 {
					order = []int{1, 0}
				}
				for _, i := range order {
					all[i] = append(all[i], promCost(bins[i], src))
				}
			}
			floor := floorFetch(url, 5)
			stop()
			o, nw := medianCost(all[0]), medianCost(all[1])
			served := "Content-Length"
			if gz {
				served = "gzip, chunked"
			}
			wall := func(c srcCost) float64 { return 6000 / float64(c.polls) }
			fmt.Printf("| %d | %.1f | %s | %.2f | %.2f | %.1f / %.1f | %.0f / %.0f | %.2f |\n", n, float64(len(page))/1e6, served, o.perPoll, nw.perPoll, o.rss, nw.rss, wall(o), wall(nw), float64(floor.Microseconds())/1000)
		}
	}
	fmt.Println()
}
