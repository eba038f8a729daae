package source

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// A source can be named: NAME=TYPE:TARGET. The name is what people see
// (the live view, the timeline picture, each reading's name field); the
// spec stays what the events' source field and status show.
var namePrefix = regexp.MustCompile(`^\s*([A-Za-z0-9][A-Za-z0-9_.-]{0,39})\s*=`)

// cutName splits "api=prom:URL#SEL" into "api" and "prom:URL#SEL". A '='
// after the type's colon is part of the target (json:http://h/?a=b), so a
// name is only taken when its '=' comes before any ':'.
func cutName(raw string) (name, rest string) {
	m := namePrefix.FindStringSubmatchIndex(raw)
	if m == nil {
		return "", raw
	}
	if c := strings.Index(raw, ":"); c >= 0 && c < m[1] {
		return "", raw
	}
	return raw[m[2]:m[3]], raw[m[1]:]
}

// DefaultName is a short readable name derived from the spec, by its
// type's DefaultName (the metric and its labels for prom, host and path for
// nginx, ...): the target when the type has none, the type when there is
// no target.
func DefaultName(s Spec) string {
	t := strings.TrimSpace(s.Target)
	if ty, ok := Lookup(s.Type); ok && ty.DefaultName != nil {
		if n := ty.DefaultName(t); n != "" {
			return n
		}
	}
	if t == "" {
		return s.Type
	}
	return t
}

// nameHostPath is the default name of a type whose target is a URL.
func nameHostPath(target string) string { return hostPath(target) }

// hostPath is "host:port/path" of a URL (no scheme, no query, no user).
func hostPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	return u.Host + strings.TrimSuffix(u.Path, "/")
}

// Names gives every spec its name: the one given, else DefaultName; a name
// already taken gets #2, #3, ... (given names win: they are checked first).
func Names(specs []Spec) []string {
	out := make([]string, len(specs))
	taken := map[string]bool{}
	for i, s := range specs {
		if s.Name != "" {
			out[i] = s.Name
			taken[s.Name] = true
		}
	}
	for i, s := range specs {
		if s.Name != "" {
			continue
		}
		base := DefaultName(s)
		n := base
		for k := 2; taken[n]; k++ {
			n = fmt.Sprintf("%s#%d", base, k)
		}
		out[i] = n
		taken[n] = true
	}
	return out
}
