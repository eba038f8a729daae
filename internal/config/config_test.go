package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func flags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	for _, k := range Keys {
		AddFlags(fs, k.Name)
	}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "drain.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPrecedence(t *testing.T) {
	file := writeFile(t, "settle: 7s\ninterval: 3s\ntimeout: 1m\nsource:\n  - 'prom:http://h/m#x{a=\"1\",b=\"2\"}<=1'\naction: [iisreset, /stop]\n")
	cfg, err := Load(flags(t, "--settle", "9s"), nil, file, env(map[string]string{"DRAIN_INTERVAL": "2s"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Settle != 9*time.Second || cfg.Interval != 2*time.Second || cfg.Timeout != time.Minute || cfg.ReadTimeout != 2*time.Second {
		t.Errorf("settle=%s interval=%s timeout=%s read-timeout=%s", cfg.Settle, cfg.Interval, cfg.Timeout, cfg.ReadTimeout)
	}
	want := map[string]string{"settle": "flag --settle", "interval": "env DRAIN_INTERVAL", "timeout": "file " + file, "read-timeout": "default"}
	for k, from := range want {
		if cfg.Origins[k].From != from {
			t.Errorf("%s from %q, want %q", k, cfg.Origins[k].From, from)
		}
	}
	if len(cfg.Sources) != 1 || cfg.Sources[0].Target != `http://h/m#x{a="1",b="2"}` || cfg.Sources[0].Threshold != 1 {
		t.Errorf("sources = %+v (commas and quotes in a selector must survive)", cfg.Sources)
	}
	if strings.Join(cfg.Action, " ") != "iisreset /stop" {
		t.Errorf("action = %q", cfg.Action)
	}
}

func TestRepeatedSourceFlagKeepsCommas(t *testing.T) {
	cfg, err := Load(flags(t, "--source", `prom:http://h/m#x{a="1",b="2"}`, "--source", "nginx:http://h/s"), nil, "", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Sources) != 2 || !strings.HasSuffix(cfg.Sources[0].Target, `b="2"}`) {
		t.Errorf("sources = %+v", cfg.Sources)
	}
}

func TestEnvListsAndActions(t *testing.T) {
	cfg, err := Load(flags(t), nil, "", env(map[string]string{
		"DRAIN_SOURCE":   "nginx:http://a/s\n  prom:http://b/m#y<=2\n",
		"DRAIN_ACTION":   `appcmd recycle apppool "/apppool.name:My Pool"`,
		"DRAIN_KEEP_OUT": "true",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Sources) != 2 || cfg.Sources[1].Threshold != 2 || !cfg.KeepOut {
		t.Errorf("cfg = %+v", cfg)
	}
	if len(cfg.Action) != 4 || cfg.Action[3] != "/apppool.name:My Pool" {
		t.Errorf("action = %q", cfg.Action)
	}
}

func TestArgsAfterDashWin(t *testing.T) {
	cfg, err := Load(flags(t), []string{"systemctl", "stop", "x"}, writeFile(t, "action: [other]\n"), env(nil))
	if err != nil || strings.Join(cfg.Action, " ") != "systemctl stop x" {
		t.Fatalf("action=%q err=%v", cfg.Action, err)
	}
}

func TestBadInput(t *testing.T) {
	cases := []struct {
		name, file string
		args       []string
		env        map[string]string
		want       string // in the message or the hint
	}{
		{name: "unknown key", file: "setle: 5s\n", want: `did you mean "settle"?`},
		{name: "bad duration flag", args: []string{"--settle", "5 sec"}, want: `invalid settle "5 sec" (from flag --settle)`},
		{name: "bad duration env", env: map[string]string{"DRAIN_TIMEOUT": "ten"}, want: "env DRAIN_TIMEOUT"},
		{name: "negative", args: []string{"--lb-grace", "-1s"}, want: "invalid lb-grace"},
		{name: "zero interval", args: []string{"--interval", "0"}, want: "interval must be positive"},
		{name: "nanosecond interval", args: []string{"--interval", "1ns"}, want: "interval 1ns (from flag --interval) is too short: the minimum is 10ms"},
		{name: "tiny read-timeout", args: []string{"--read-timeout", "9ms"}, want: "read-timeout 9ms (from flag --read-timeout) is too short"},
		{name: "tiny settle", env: map[string]string{"DRAIN_SETTLE": "1us"}, want: "or 0 for no settle window"},
		{name: "tiny timeout", args: []string{"--timeout", "5ms"}, want: "timeout 5ms (from flag --timeout) is too short"},
		{name: "tiny action-timeout", args: []string{"--action-timeout", "1ns"}, want: "action-timeout 1ns"},
		{name: "tiny lb-grace", file: "lb-grace: 1ms\n", want: "lb-grace 1ms (from file"},
		{name: "bad on-timeout", args: []string{"--on-timeout", "maybe"}, want: "invalid on-timeout"},
		{name: "bad output", args: []string{"--output", "xml"}, want: "invalid output"},
		{name: "bad bool env", env: map[string]string{"DRAIN_SHELL": "yes please"}, want: "not true or false"},
		{name: "bad spec", args: []string{"--source", "nope:x"}, want: `unknown type "nope"`},
		{name: "bad verify", args: []string{"--verify-url", "localhost/x"}, want: "invalid verify-url"},
		{name: "yaml syntax", file: "settle: [\n", want: "cannot read config file"},
		{name: "content and disabled", args: []string{"--down-content", "DOWN", "--disabled-name", "x"}, want: "do not go together"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := ""
			if c.file != "" {
				path = writeFile(t, c.file)
			}
			_, err := Load(flags(t, c.args...), nil, path, env(c.env))
			if !errors.Is(err, ErrUsage) {
				t.Fatalf("err = %v, want a usage error", err)
			}
			var ue *UsageError
			errors.As(err, &ue)
			if !strings.Contains(err.Error()+" "+ue.Hint, c.want) {
				t.Errorf("got %q (hint %q), want it to contain %q", err, ue.Hint, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("message is not one line: %q", err)
			}
		})
	}
}

func TestMissingConfigFile(t *testing.T) {
	_, err := Load(flags(t), nil, filepath.Join(t.TempDir(), "nope.yaml"), env(nil))
	if !errors.Is(err, ErrUsage) {
		t.Fatalf("err = %v", err)
	}
}

func TestTimeoutZeroMeansNoLimit(t *testing.T) {
	cfg, err := Load(flags(t, "--timeout", "0"), nil, "", env(nil))
	if err != nil || cfg.Timeout != 0 {
		t.Fatalf("timeout=%s err=%v", cfg.Timeout, err)
	}
}

// TestMinimumDurations: 10ms is accepted everywhere, 0 where it has a meaning.
func TestMinimumDurations(t *testing.T) {
	cfg, err := Load(flags(t, "--interval", "10ms", "--read-timeout", "10ms", "--settle", "0", "--lb-grace", "0", "--timeout", "0", "--action-timeout", "0"), nil, "", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Interval != 10*time.Millisecond || cfg.ReadTimeout != 10*time.Millisecond || cfg.Settle != 0 || cfg.Timeout != 0 {
		t.Errorf("cfg = %+v", cfg)
	}
}

// TestShellActionStringStaysWhole: with shell, an action given as one
// string is the command line, quoting and all; as a list it is words.
func TestShellActionStringStaysWhole(t *testing.T) {
	const line = `echo "a  b" && printf '%s\n' done`
	for _, c := range []struct {
		name, file string
		env        map[string]string
		want       []string
	}{
		{"env", "", map[string]string{"DRAIN_ACTION": line, "DRAIN_SHELL": "true"}, []string{line}},
		{"file string", "shell: true\naction: '" + strings.ReplaceAll(line, "'", "''") + "'\n", nil, []string{line}},
		{"file list", "shell: true\naction: [echo, a b]\n", nil, []string{"echo", "a b"}},
		{"no shell: split", "action: '" + strings.ReplaceAll(line, "'", "''") + "'\n", nil, []string{"echo", "a  b", "&&", "printf", `%s\n`, "done"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := ""
			if c.file != "" {
				path = writeFile(t, c.file)
			}
			cfg, err := Load(flags(t), nil, path, env(c.env))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(cfg.Action, "|") != strings.Join(c.want, "|") {
				t.Errorf("action = %q, want %q", cfg.Action, c.want)
			}
		})
	}
}
