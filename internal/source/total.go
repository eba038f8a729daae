package source

import (
	"strconv"
	"strings"
	"sync"
)

// Totaler is an optional interface of a source that also knows how many
// requests the server has been given in all, a counter that only grows
// (HAProxy's stot, a Prometheus counter the user selects). Polling proves
// "zero at every poll", not "zero all along": a short request that starts
// and ends between two polls is seen only as a rise of the total. Total
// returns the total the last Read saw; ok is false when it saw none.
type Totaler interface {
	Total() (total float64, ok bool)
}

// totalOpt is the spec option that selects or turns off a source's total:
// TARGET#total=WHAT at the end of the target (before any <=N).
const totalOpt = "#total="

// cutTotal splits a #total=WHAT option off the end of a target.
func cutTotal(target string) (rest, what string, has bool) {
	i := strings.LastIndex(target, totalOpt)
	if i < 0 {
		return target, "", false
	}
	return strings.TrimSpace(target[:i]), strings.TrimSpace(target[i+len(totalOpt):]), true
}

// lastTotal keeps the total of a source's last read.
type lastTotal struct {
	mu sync.Mutex
	v  float64
	ok bool
}

func (l *lastTotal) set(v float64, ok bool) {
	l.mu.Lock()
	l.v, l.ok = v, ok
	l.mu.Unlock()
}

// Total implements Totaler.
func (l *lastTotal) Total() (float64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.v, l.ok
}

// haproxyServerTotal is backend/server's stot (sessions served in all) in a
// stats CSV whose row haproxyServerLoad found; ok is false without one.
func haproxyServerTotal(body []byte, backend, server string) (float64, bool) {
	lines := strings.Split(string(body), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "# ") {
		return 0, false
	}
	col := map[string]int{}
	for i, h := range strings.Split(strings.TrimPrefix(lines[0], "# "), ",") {
		col[strings.TrimSpace(h)] = i
	}
	ip, ok1 := col["pxname"]
	is, ok2 := col["svname"]
	it, ok3 := col["stot"]
	if !ok1 || !ok2 || !ok3 {
		return 0, false
	}
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		if len(f) <= max(ip, is, it) || f[ip] != backend || f[is] != server {
			continue
		}
		v, err := strconv.ParseUint(f[it], 10, 64)
		return float64(v), err == nil
	}
	return 0, false
}
