// Package pdh reads Windows performance counters through pdh.dll (on Windows)
// and holds the parts of that which need no Windows: counter paths, the
// instance names of IIS worker processes and ASP.NET app domains, and the
// site ids in IIS's applicationHost.config.
package pdh

import (
	"strings"
)

// Path is a counter path split into its parts:
// [\\Machine]\Object[(Instance)]\Counter.
type Path struct {
	Machine, Object, Instance, Counter string
	HasInstance                        bool
}

// Parse splits a counter path; ok is false when it is not one.
func Parse(s string) Path {
	p, _ := parse(s)
	return p
}

func parse(s string) (Path, bool) {
	var p Path
	if rest, ok := strings.CutPrefix(s, `\\`); ok {
		m, r, ok := strings.Cut(rest, `\`)
		if !ok || m == "" {
			return p, false
		}
		p.Machine, s = m, `\`+r
	}
	if !strings.HasPrefix(s, `\`) {
		return p, false
	}
	s = s[1:]
	i := strings.LastIndex(s, `\`)
	if i <= 0 || i == len(s)-1 {
		return p, false
	}
	obj := s[:i]
	p.Counter = s[i+1:]
	if open := strings.IndexByte(obj, '('); open >= 0 && strings.HasSuffix(obj, ")") {
		p.Instance, p.HasInstance = obj[open+1:len(obj)-1], true
		obj = obj[:open]
	}
	p.Object = obj
	return p, p.Object != "" && p.Counter != ""
}

// Check reports whether s is a counter path, with what is wrong if not.
func Check(s string) (Path, error) {
	p, ok := parse(s)
	if !ok {
		return p, &Error{
			Code: CStatusBadCounter, Path: s,
			Text: `not a counter path: want \Object(Instance)\Counter, \Object\Counter or \\host\Object(Instance)\Counter`,
		}
	}
	return p, nil
}

// IsWildcard reports whether the path reads every instance ("(*)").
func IsWildcard(s string) bool { return Parse(s).Instance == "*" }

// String joins the parts into a path again.
func (p Path) String() string {
	var b strings.Builder
	if p.Machine != "" {
		b.WriteString(`\\` + p.Machine)
	}
	b.WriteString(`\` + p.Object)
	if p.HasInstance {
		b.WriteString("(" + p.Instance + ")")
	}
	b.WriteString(`\` + p.Counter)
	return b.String()
}

// IsTotal reports whether an instance is an aggregate of the others
// (_Total, __Total__), which a wildcard sum must leave out.
func IsTotal(instance string) bool {
	return strings.EqualFold(instance, "_Total") || strings.EqualFold(instance, "__Total__")
}

// WorkerPool returns the app pool of a W3SVC_W3WP instance "<pid>_<pool>"
// (a pool name may itself contain '_'); ok is false for _Total and others.
func WorkerPool(instance string) (pool string, ok bool) {
	pid, pool, ok := strings.Cut(instance, "_")
	if !ok || pid == "" || pool == "" {
		return "", false
	}
	for _, r := range pid {
		if r < '0' || r > '9' {
			return "", false
		}
	}
	return pool, true
}

// SiteApp reports whether an ASP.NET app domain instance
// ("_LM_W3SVC_<id>_ROOT" or "_LM_W3SVC_<id>_ROOT_<vdir>") belongs to site id.
func SiteApp(instance string, id int) bool {
	prefix := "_LM_W3SVC_" + itoa(id) + "_ROOT"
	if len(instance) < len(prefix) || !strings.EqualFold(instance[:len(prefix)], prefix) {
		return false
	}
	return len(instance) == len(prefix) || instance[len(prefix)] == '_'
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// SamePool reports whether an instance of an object named after app pools
// (HTTP Service Request Queues, APP_POOL_WAS) belongs to pool: its name,
// ignoring case, either as is or without the "#N" PDH adds to duplicates.
// Matching instances read through a wildcard avoids writing the name into
// a path, where PDH reads '/' as a parent and '#' as an index.
func SamePool(instance, pool string) bool {
	if strings.EqualFold(instance, pool) {
		return true
	}
	i := strings.LastIndexByte(instance, '#')
	if i < 0 || i == len(instance)-1 {
		return false
	}
	for _, r := range instance[i+1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return strings.EqualFold(instance[:i], pool)
}
