package rotation

import (
	"errors"
	"strings"
	"testing"
)

// TestSettingsOneWording: every registered type refuses an unknown setting
// of the config file's rotation: section before anything changes, with one
// wording, naming the setting and what the type has.
func TestSettingsOneWording(t *testing.T) {
	for _, typ := range Types() {
		raw := map[string]any{"zzz": 1}
		if typ.Name == "exec" {
			raw = map[string]any{"web": map[string]any{"zzz": 1}}
		}
		_, err := typ.New("x", Options{Settings: raw})
		var se *SettingsError
		if !errors.As(err, &se) || !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want a SettingsError", typ.Name, err)
			continue
		}
		want := `: unknown setting "zzz" (`
		if !se.Unknown || !strings.HasPrefix(err.Error(), "config file rotation."+typ.Name) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %q, want rotation.%s...%s", typ.Name, err, typ.Name, want)
		}
		if last := se.Path[len(se.Path)-1]; last != "zzz" || se.Path[0] != typ.Name {
			t.Errorf("%s: path %v", typ.Name, se.Path)
		}
	}
}

// TestSettingsNumbers: YAML gives 3 as an int and 3.0 as a float; both
// are a whole number, 2.5 and "3" are not.
func TestSettingsNumbers(t *testing.T) {
	for _, v := range []any{3, 3.0, int64(3), uint64(3)} {
		s, err := DecodeSettings("nlb", map[string]any{"DRAIN_MINUTES": v})
		if err != nil || s.(*nlbSettings).DrainMinutes != 3 {
			t.Errorf("%T %v: %v %v", v, v, s, err)
		}
	}
	for _, v := range []any{2.5, "3", true, 1e300} {
		_, err := DecodeSettings("nlb", map[string]any{"drain_minutes": v})
		if err == nil || !strings.Contains(err.Error(), "rotation.nlb.drain_minutes: ") || !strings.Contains(err.Error(), "is not a whole number") {
			t.Errorf("%v: %v", v, err)
		}
	}
	s, err := DecodeSettings("nlb", nil)
	if err != nil || s.(*nlbSettings).DrainMinutes != 10 {
		t.Errorf("default: %v %v", s, err)
	}
}

// TestSettingsShapes: a section of the wrong shape says what it wants.
func TestSettingsShapes(t *testing.T) {
	for _, c := range []struct {
		typ  string
		raw  map[string]any
		want string
	}{
		{"f5", map[string]any{"offline": "yes"}, `config file rotation.f5.offline: want true or false, got yes`},
		{"f5", map[string]any{"auth": 3}, `config file rotation.f5.auth: want token or basic, got 3`},
		{"exec", map[string]any{"web": []any{"a"}}, `config file rotation.exec.web: want a map with out, in and status`},
		{"nginx-upstream", map[string]any{"test": []any{}}, `config file rotation.nginx-upstream.test: want a list of strings`},
		{"nginx-upstream", map[string]any{"tset": []any{"x"}}, `config file rotation.nginx-upstream: unknown setting "tset" (settings: test, reload); did you mean test?`},
		{"keepalive", map[string]any{"x": 1}, `config file rotation.keepalive: unknown setting "x" (keepalive has no settings)`},
	} {
		_, err := DecodeSettings(c.typ, c.raw)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: %v, want %q", c.typ, c.raw, err, c.want)
		}
	}
}

// TestRegisterRefusesDuplicates: a type name registered twice panics.
func TestRegisterRefusesDuplicates(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	Register(Type{Name: "keepalive"})
}
