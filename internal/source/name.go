package source

import (
	"fmt"
	"net/url"
	"path"
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

// DefaultName is a short readable name derived from the spec: the metric
// and its labels (prom), the counter's instance (pdh), host and path (nginx,
// apache, json), BACKEND/SERVER (haproxy), the command's base name (exec),
// the pool or site (iis, aspnet).
func DefaultName(s Spec) string {
	t := strings.TrimSpace(s.Target)
	switch s.Type {
	case "prom":
		if _, sel, ok := strings.Cut(t, "#"); ok && strings.TrimSpace(sel) != "" {
			return strings.Join(strings.Fields(strings.ReplaceAll(sel, `"`, "")), " ")
		}
	case "nginx", "apache":
		return hostPath(t)
	case "json":
		u, frag, _ := strings.Cut(t, "#")
		if frag = strings.TrimSpace(frag); frag != "" {
			return hostPath(u) + "#" + frag
		}
		return hostPath(u)
	case "haproxy":
		if i := strings.LastIndex(t, "#"); i >= 0 {
			return t[i+1:]
		}
	case "exec":
		if f := strings.Fields(t); len(f) > 0 {
			base := path.Base(strings.ReplaceAll(f[0], `\`, "/"))
			return strings.TrimSuffix(strings.TrimSuffix(base, ".exe"), ".EXE")
		}
	case "pdh":
		// \Object(Instance)\Counter: the instance, else the counter.
		if i, j := strings.Index(t, "("), strings.LastIndex(t, ")"); i >= 0 && j > i+1 {
			return t[i+1 : j]
		}
		if i := strings.LastIndex(t, `\`); i >= 0 && i < len(t)-1 {
			return t[i+1:]
		}
	case "state-server":
		if t == "" {
			return "state-server"
		}
	}
	if t == "" {
		return s.Type
	}
	return t
}

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
