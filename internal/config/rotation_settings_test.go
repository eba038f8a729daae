package config

import (
	"errors"
	"strings"
	"testing"
)

// TestRotationSettings: the file-only rotation: section reaches the config
// per type, as YAML decodes it.
func TestRotationSettings(t *testing.T) {
	body := "rotate: [keepalive:/tmp/k.htm]\nrotation:\n  haproxy:\n    answer-timeout: 3s\n    list: [a, b]\n  keepalive: {x: 1}\n"
	cfg, err := Load(flags(t), nil, writeFile(t, body), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	h := cfg.RotationSettings["haproxy"]
	if h["answer-timeout"] != "3s" {
		t.Errorf("haproxy settings = %#v", h)
	}
	if l, ok := h["list"].([]any); !ok || len(l) != 2 || l[1] != "b" {
		t.Errorf("list = %#v", h["list"])
	}
	if cfg.RotationSettings["keepalive"]["x"] != 1 {
		t.Errorf("keepalive settings = %#v", cfg.RotationSettings["keepalive"])
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
		{"twice", "rotation: {haproxy: {a: 1}}\nrotation: {haproxy: {a: 2}}\n", `key "rotation" is given twice`},
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
