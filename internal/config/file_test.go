package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEmptyValueIsAnError: a key without a value (`down-content:`,
// `disabled-name: ~`, `state-dir: null`) is a usage error naming the key and
// its line, for every key; it never becomes the text "<nil>".
func TestEmptyValueIsAnError(t *testing.T) {
	for _, k := range Keys {
		for _, empty := range []string{"", " ~", " null", " Null"} {
			body := "settle: 5s\n" + k.Name + ":" + empty + "\n"
			if k.Name == "settle" {
				body = "lb-grace: 1s\n" + k.Name + ":" + empty + "\n"
			}
			cfg, err := Load(flags(t), nil, writeFile(t, body), env(nil))
			if !errors.Is(err, ErrUsage) {
				t.Errorf("%q: err = %v, want a usage error (config %+v)", body, err, cfg)
				continue
			}
			if want := "line 2: " + k.Name + " has no value"; !strings.Contains(err.Error(), want) {
				t.Errorf("%q: error %q does not say %q", body, err, want)
			}
			if strings.Contains(err.Error(), "<nil>") {
				t.Errorf("%q: error %q says <nil>", body, err)
			}
		}
	}
}

func TestFileValueShapes(t *testing.T) {
	cases := []struct{ name, file, want string }{
		{"empty list item", "source:\n  - nginx:http://h/s\n  -\n", "line 2: source has an empty item at line 3"},
		{"null list item", "action: [a, ~]\n", "action has an empty item at line 1"},
		{"list for a single value", "keepalive: [a, b]\n", "line 1: keepalive takes one value, not a list"},
		{"map for a single value", "down-content: {a: b}\n", "line 1: down-content is a map, not a value"},
		{"nested list item", "source:\n  - [a]\n", "source item at line 2 is a list, not a value"},
		{"repeated key", "settle: 5s\ninterval: 1s\nsettle: 6s\n", `line 3: key "settle" is given twice (first at line 1)`},
		{"repeated key, other case", "settle: 5s\nSettle: 6s\n", `key "settle" is given twice`},
		{"unknown key names its line", "settle: 5s\nsetle: 5s\n", `unknown key "setle" in config file`},
		{"not a map", "- settle\n", "want key: value lines, found a list"},
		{"two documents", "settle: 5s\n---\nsettle: 6s\n", "a second YAML document"},
		{"bad syntax", "settle: [\n", "cannot read config file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(flags(t), nil, writeFile(t, c.file), env(nil))
			if !errors.Is(err, ErrUsage) {
				t.Fatalf("err = %v, want a usage error", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "<nil>") {
				t.Errorf("error %q is not one clean line", err)
			}
		})
	}
}

// TestExplicitEmptyStrings: "" is a value, unlike a missing one: an empty
// page in content mode, the default name and directory otherwise.
func TestExplicitEmptyStrings(t *testing.T) {
	cfg, err := Load(flags(t), nil, writeFile(t, "down-content: \"\"\nstate-dir: ''\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DownContent == nil || *cfg.DownContent != "" || cfg.StateDir != "" {
		t.Fatalf("down-content=%v state-dir=%q", cfg.DownContent, cfg.StateDir)
	}
}

// TestAnyExtensionIsYAML: the file given is read as YAML whatever its name
// ends in (drain.conf, no extension).
func TestAnyExtensionIsYAML(t *testing.T) {
	for _, name := range []string{"drain.conf", "drain", "drain.cfg", "drain.yml"} {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, []byte("settle: 7s\nsource: [exec:x]\n# a comment\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(flags(t), nil, p, env(nil))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if cfg.Settle.String() != "7s" || len(cfg.Sources) != 1 {
			t.Errorf("%s: settle %s, sources %v", name, cfg.Settle, cfg.Sources)
		}
	}
}

func TestEmptyFileHasNoSettings(t *testing.T) {
	for _, body := range []string{"", "# only a comment\n", "---\n"} {
		cfg, err := Load(flags(t), nil, writeFile(t, body), env(nil))
		if err != nil || cfg.Settle.String() != "5s" {
			t.Errorf("%q: settle %v, err %v", body, cfg, err)
		}
	}
}

// TestURLUserInfoRedacted: what config show and errors print never holds
// a URL's user info, from a flag, the environment or the file; Reason is
// redacted since it is recorded and shown.
func TestURLUserInfoRedacted(t *testing.T) {
	file := writeFile(t, "source:\n  - json:http://u:f1le s3cr3t@h/x#a\n")
	cfg, err := Load(flags(t, "--verify-url", "http://u:fl@g-s3cr3t@h/k", "--reason", "see https://t0k3n-s3cr3t@ci/1"), nil, file,
		env(map[string]string{"DRAIN_HAPROXY": "h:1#b/s"}))
	if err != nil {
		t.Fatal(err)
	}
	for k, o := range cfg.Origins {
		if strings.Contains(o.Value, "s3cr3t") {
			t.Errorf("%s: shown value %q", k, o.Value)
		}
	}
	if cfg.VerifyURL != "http://u:fl@g-s3cr3t@h/k" {
		t.Errorf("the verify URL itself must keep its credentials, got %q", cfg.VerifyURL)
	}
	if strings.Contains(cfg.Reason, "s3cr3t") {
		t.Errorf("reason %q", cfg.Reason)
	}
	_, err = Load(flags(t, "--verify-url", "ftp://u:pa s3cr3t@h/k"), nil, "", env(nil))
	var ue *UsageError
	if !errors.As(err, &ue) || strings.Contains(ue.Msg+ue.Hint, "s3cr3t") {
		t.Errorf("err = %v", err)
	}
}
