package rotation

import (
	"strings"

	"github.com/drain-cli/drain/internal/suggest"
)

// Lists of names in messages, shared by every method.

// nearestName is "; did you mean NAME?" for the name of names closest to
// want, "" when none is close.
func nearestName(want string, names []string) string {
	if s := suggest.Similar(want, names, 1); len(s) > 0 {
		return "; did you mean " + s[0] + "?"
	}
	return ""
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// didYouMean is nearestName without case, naming the name as written.
func didYouMean(want string, names []string) string {
	lower := make([]string, len(names))
	for i, n := range names {
		lower[i] = strings.ToLower(n)
	}
	if s := suggest.Similar(strings.ToLower(want), lower, 1); len(s) > 0 {
		for i, l := range lower {
			if l == s[0] {
				return "; did you mean " + names[i] + "?"
			}
		}
	}
	return ""
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// someNames lists names for an error, at most suggest.MaxListed of them.
func someNames(names []string) string { return suggest.Some(names) }
