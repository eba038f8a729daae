// Package suggest finds the names closest to a mistyped one, for the
// "did you mean" hints of config keys, metric names and services.
package suggest

import (
	"slices"
	"strconv"
	"strings"
)

// Similar returns up to n names that contain want or are a few edits away
// from it (at most max(2, len(want)/4)), closest first.
func Similar(want string, names []string, n int) []string {
	limit := max(2, len(want)/4)
	type cand struct {
		name string
		dist int
	}
	var cands []cand
	for _, name := range names {
		d := Distance(want, name)
		if d <= limit || strings.Contains(name, want) {
			cands = append(cands, cand{name, d})
		}
	}
	slices.SortFunc(cands, func(a, b cand) int {
		if a.dist != b.dist {
			return a.dist - b.dist
		}
		return strings.Compare(a.name, b.name)
	})
	out := make([]string, 0, min(n, len(cands)))
	for _, c := range cands[:min(n, len(cands))] {
		out = append(out, c.name)
	}
	return out
}

// Distance is the Levenshtein distance between a and b, in bytes.
func Distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// MaxListed is how many names Some lists: a backend of 5000 servers must
// not make an error line of 5000 names.
const MaxListed = 12

// Some lists names for a message: all of them up to MaxListed, else the
// first MaxListed and how many more ("a, b, ... and 4988 more"); "none"
// when there are none.
func Some(names []string) string {
	switch {
	case len(names) == 0:
		return "none"
	case len(names) <= MaxListed:
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:MaxListed], ", ") + ", ... and " + strconv.Itoa(len(names)-MaxListed) + " more"
}
