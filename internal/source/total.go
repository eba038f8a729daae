package source

import (
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
