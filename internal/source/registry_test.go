package source

import (
	"strings"
	"testing"
)

// Every registered type says everything about itself: a syntax, an
// example of its own type that parses, a summary; windows types say so.
func TestEveryTypeDescribesItself(t *testing.T) {
	for _, ty := range All() {
		if ty.Syntax == "" || ty.Example == "" || ty.Summary == "" {
			t.Errorf("type %s: syntax %q, example %q, summary %q: all are needed", ty.Name, ty.Syntax, ty.Example, ty.Summary)
			continue
		}
		spec, err := ParseSpec(ty.Example)
		if err != nil || spec.Type != ty.Name {
			t.Errorf("type %s: example %q parses as %+v, %v", ty.Name, ty.Example, spec, err)
		}
		if ty.OS != "" && ty.OS != "windows" {
			t.Errorf("type %s: OS %q", ty.Name, ty.OS)
		}
		if !strings.Contains(Help(), ty.Spec()) {
			t.Errorf("Help() lacks %s", ty.Spec())
		}
	}
}

func TestRegisterRefusesDuplicates(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "registered twice: prom") {
			t.Errorf("registering prom twice: recover() = %v", r)
		}
	}()
	Register(Type{Name: "prom", New: newProm})
}
