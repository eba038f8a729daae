package rotation

import (
	"errors"
	"strings"
	"testing"

	"github.com/drain-cli/drain/internal/usage"
)

// TestPoolTargetsComeFromTheTypes: a pool target is part of its type's
// descriptor (Type.Pool), one registry: every type with one parses its own
// example as a --pool spec of that type and builds a view of it (the
// constructors only parse), and PoolTypeNames lists exactly those types.
func TestPoolTargetsComeFromTheTypes(t *testing.T) {
	getenv := func(name string) string {
		if strings.HasSuffix(name, "_FILE") {
			return ""
		}
		return "placeholder"
	}
	var withPool []string
	for _, ty := range Types() {
		if ty.Pool == nil {
			continue
		}
		withPool = append(withPool, ty.Name)
		spec, err := ParsePool(ty.Pool.Example)
		if err != nil || spec.Type.Name != ty.Name {
			t.Errorf("%s: its pool example %q parses as %q, %v", ty.Name, ty.Pool.Example, spec.Type.Name, err)
			continue
		}
		v, err := NewPoolOf(spec, Options{Getenv: getenv})
		if err != nil {
			t.Errorf("%s: pool view of its example %q: %v", ty.Name, ty.Pool.Example, err)
			continue
		}
		if !strings.HasPrefix(v.Target(), ty.Name+":") {
			t.Errorf("%s: the view of %q is %q", ty.Name, ty.Pool.Example, v.Target())
		}
	}
	if got := strings.Join(PoolTypeNames(), ","); got != strings.Join(withPool, ",") || len(withPool) < 4 {
		t.Errorf("PoolTypeNames() = %s, want the types with a pool target: %s (haproxy, nginx-upstream, f5, aws-elb at least)", got, strings.Join(withPool, ","))
	}
}

// TestBadPoolSaysItsTypesSyntax: a pool target its type refuses is a usage
// error naming --pool and the spec, with the type's pool syntax as the hint
// (made by rotation, not repaired by the CLI); a type without a pool view
// lists the pool targets.
func TestBadPoolSaysItsTypesSyntax(t *testing.T) {
	_, err := NewPool("haproxy:/run/haproxy/admin.sock", Options{})
	ue := usage.Of(err)
	if ue == nil || !strings.HasPrefix(err.Error(), `--pool "haproxy:/run/haproxy/admin.sock"`) || ue.Hint != "check the pool target: haproxy:ADDR#BACKEND (haproxy:/run/haproxy/admin.sock#web)" {
		t.Errorf("bad haproxy pool: %v (usage error %v)", err, ue)
	}
	_, err = NewPool("keepalive:/var/www/keepalive.htm", Options{})
	if ue := usage.Of(err); ue == nil || ue.Flag != "--pool" || !strings.Contains(ue.Hint, "haproxy:ADDR#BACKEND") || !errors.Is(err, ErrConfig) {
		t.Errorf("keepalive as a pool: %v (usage error %+v)", err, ue)
	}
	_, err = ParsePool("hapoxy:/x#web")
	if ue := usage.Of(err); ue == nil || ue.Flag != "--pool" || ue.Spec != "hapoxy:/x#web" || !strings.Contains(err.Error(), "did you mean haproxy?") || !strings.Contains(ue.Hint, "haproxy:ADDR#BACKEND (haproxy:/run/haproxy/admin.sock#web)") {
		t.Errorf("typo'd pool type: %v (usage error %+v)", err, ue)
	}
}
