package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/redact"
)

// FuzzConfigFile: any config file either loads or fails as a usage error
// (exit 2) of one line; it never panics and never fails some other way. A
// loaded one never holds the text "<nil>" (an empty YAML value), never a
// duration under MinDuration other than 0, and shows no URL user info.
func FuzzConfigFile(f *testing.F) {
	for _, seed := range []string{
		"settle: 5s\n",
		"source:\n  - nginx:http://h/s<=1\n  - 'prom:http://h/m#x{a=\"1\"}'\naction: [iisreset, /stop]\n",
		"action: appcmd stop apppool \"/apppool.name:My Pool\"\n",
		"timeout: 0\non-timeout: force\nkeep-out: true\n",
		"lb-grace: -1s\n",
		"interval: [1, 2]\n",
		"a:\n  b: c\n",
		"down-content: DOWN\ndisabled-name: x\n",
		// Empty values, repeated keys, shapes, aliases, documents.
		"down-content:\n",
		"disabled-name: ~\nkeepalive: k\n",
		"state-dir: null\n",
		"source: [~]\n",
		"source:\n  -\n  - exec:x\n",
		"settle: 5s\nsettle: 6s\n",
		"Settle: 5s\nsettle: 6s\n",
		"keepalive: {a: b}\n",
		"x: &a 5s\nsettle: *a\n",
		"settle: &a 5s\ninterval: *a\n",
		"settle: 5s\n---\nsettle: 6s\n",
		"- settle\n",
		"? [a]\n: b\n",
		"interval: 1ns\n",
		"shell: true\naction: 'a && b'\n",
		"verify-url: http://u:p w@h/x\nreason: see https://t@ci/1\n",
		"down-content: \"\"\n",
		"",
		"# nothing\n",
	} {
		f.Add(seed)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, body string) {
		p := filepath.Join(dir, "drain.conf")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(flags(t), nil, p, env(nil))
		if err != nil {
			if !errors.Is(err, ErrUsage) {
				t.Fatalf("config %q: error %v is not a usage error", body, err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("config %q: error %q is not one line", body, err)
			}
			return
		}
		for _, d := range []time.Duration{cfg.Interval, cfg.ReadTimeout, cfg.Settle, cfg.LBGrace, cfg.Timeout, cfg.ActionTimeout} {
			if d < 0 || d > 0 && d < MinDuration {
				t.Fatalf("config %q: accepted duration %s", body, d)
			}
		}
		if cfg.Interval <= 0 || cfg.ReadTimeout <= 0 {
			t.Fatalf("config %q: interval %s, read-timeout %s", body, cfg.Interval, cfg.ReadTimeout)
		}
		for k, o := range cfg.Origins {
			if strings.Contains(o.Value, "<nil>") && !strings.Contains(body, "<nil>") {
				t.Fatalf("config %q: %s is %q", body, k, o.Value)
			}
			if redact.String(o.Value) != o.Value {
				t.Fatalf("config %q: %s shows %q", body, k, o.Value)
			}
		}
		if !strings.Contains(body, "<nil>") {
			checkNoNil(t, body, reflect.ValueOf(*cfg))
		}
	})
}

// checkNoNil fails if any string in v (a Config) is "<nil>".
func checkNoNil(t *testing.T, body string, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		if strings.Contains(v.String(), "<nil>") {
			t.Fatalf("config %q: a value became %q", body, v.String())
		}
	case reflect.Pointer:
		if !v.IsNil() {
			checkNoNil(t, body, v.Elem())
		}
	case reflect.Slice:
		for i := range v.Len() {
			checkNoNil(t, body, v.Index(i))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			checkNoNil(t, body, v.Field(i))
		}
	}
}

// FuzzDurationFlag: any --settle value parses or is a usage error naming it.
func FuzzDurationFlag(f *testing.F) {
	for _, s := range []string{"5s", "0", "1h30m", "5 sec", "-1s", "9223372036854775807ns", "1e3s", "", "1ns", "9ms", "10ms"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		cfg, err := Load(flags(t, "--settle="+v), nil, "", env(nil))
		if err != nil {
			if !errors.Is(err, ErrUsage) {
				t.Fatalf("--settle %q: %v is not a usage error", v, err)
			}
			if !strings.Contains(err.Error(), "settle") {
				t.Fatalf("--settle %q: error %q does not name it", v, err)
			}
			return
		}
		if cfg.Settle < 0 || cfg.Settle > 0 && cfg.Settle < MinDuration {
			t.Fatalf("--settle %q gave %s", v, cfg.Settle)
		}
	})
}
