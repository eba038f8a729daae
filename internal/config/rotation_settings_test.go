package config

import (
	"errors"
	"strings"
	"testing"
)

// TestRotationSettings: the file-only rotation: section reaches the config
// per type, as YAML decodes it.
func TestRotationSettings(t *testing.T) {
	body := "rotate: [keepalive:/tmp/k.htm]\nrotation:\n  f5:\n    auth: basic\n  nginx-upstream:\n    test: [a, b]\n  nlb: {drain_minutes: 1}\n"
	cfg, err := Load(flags(t), nil, writeFile(t, body), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if h := cfg.RotationSettings["f5"]; h["auth"] != "basic" {
		t.Errorf("f5 settings = %#v", h)
	}
	if l, ok := cfg.RotationSettings["nginx-upstream"]["test"].([]any); !ok || len(l) != 2 || l[1] != "b" {
		t.Errorf("list = %#v", cfg.RotationSettings["nginx-upstream"])
	}
	if cfg.RotationSettings["nlb"]["drain_minutes"] != 1 {
		t.Errorf("nlb settings = %#v", cfg.RotationSettings["nlb"])
	}
	none, err := Load(flags(t), nil, writeFile(t, "settle: 1s\n"), env(nil))
	if err != nil || none.RotationSettings != nil {
		t.Errorf("no section: %v, %#v", err, none)
	}
}

func TestRotationSettingsBadShapes(t *testing.T) {
	cases := []struct{ name, file, want string }{
		{"not a map", "rotation: exec\n", `line 1: rotation: is "exec", not a map of rotation types`},
		{"unknown type", "rotation:\n  keepalvie: {a: 1}\n", `unknown rotation type "keepalvie" at line 2`},
		{"type not a map", "rotation:\n  haproxy: [a]\n", "haproxy at line 2 is a list, not a map of settings"},
		{"twice", "rotation: {nlb: {drain_minutes: 1}}\nrotation: {nlb: {drain_minutes: 2}}\n", `key "rotation" is given twice`},
		{"unknown setting", "rotation:\n  exec:\n    web:\n      out: [a]\n      stauts: [b]\n", `line 5: rotation.exec.web: unknown setting "stauts" (settings: out, in, status); did you mean status?`},
		{"no settings", "rotation:\n  keepalive: {x: 1}\n", `line 2: rotation.keepalive: unknown setting "x" (keepalive has no settings)`},
		{"wrong kind", "rotation:\n  f5:\n    offline: yes\n    auth: [a]\n", `line 4: rotation.f5.auth: want token or basic, got [a]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(flags(t), nil, writeFile(t, c.file), env(nil))
			if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want a usage error with %q", err, c.want)
			}
			var ue *UsageError
			if errors.As(err, &ue) && c.name == "unknown type" && !strings.Contains(ue.Hint, "did you mean keepalive?") {
				t.Errorf("hint %q has no did-you-mean", ue.Hint)
			}
		})
	}
}
