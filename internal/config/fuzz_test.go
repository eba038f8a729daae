package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzConfigFile: any config file either loads or fails as a usage error
// (exit 2); it never panics and never fails some other way.
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
	} {
		f.Add(seed)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, body string) {
		p := filepath.Join(dir, "drain.yaml")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(flags(t), nil, p, env(nil))
		if err != nil && !errors.Is(err, ErrUsage) {
			t.Fatalf("config %q: error %v is not a usage error", body, err)
		}
		if err == nil && (cfg.Interval <= 0 || cfg.Settle < 0 || cfg.Timeout < 0) {
			t.Fatalf("config %q: accepted invalid durations %+v", body, cfg)
		}
	})
}

// FuzzDurationFlag: any --settle value parses or is a usage error naming it.
func FuzzDurationFlag(f *testing.F) {
	for _, s := range []string{"5s", "0", "1h30m", "5 sec", "-1s", "9223372036854775807ns", "1e3s", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		cfg, err := Load(flags(t, "--settle="+v), nil, "", env(nil))
		if err != nil {
			if !errors.Is(err, ErrUsage) {
				t.Fatalf("--settle %q: %v is not a usage error", v, err)
			}
			return
		}
		if cfg.Settle < 0 {
			t.Fatalf("--settle %q gave negative %s", v, cfg.Settle)
		}
	})
}
