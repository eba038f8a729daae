package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/drain-cli/drain/internal/iostreams"
	"github.com/drain-cli/drain/internal/testutil"
)

// runInProcess runs drain's root command with args in this process and
// returns its stdout and stderr.
func runInProcess(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ios, out, errOut := iostreams.Test()
	f := NewFactory(ios)
	f.SystemConfig = ""
	f.args = args
	root := NewRootCmd(f)
	root.SetArgs(args)
	err = root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// snake is the key style of drain's JSON: the events' (elapsed_s,
// action_exit_code, settle_rule).
var snake = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// jsonKeys gathers the keys of every object in v, with the path to each,
// except under the paths in skip (maps whose keys are names, not fields).
func jsonKeys(v any, path string, skip map[string]bool, into map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := path + "." + k
			into[k] = p
			if !skip[p] {
				jsonKeys(e, p, skip, into)
			}
		}
	case []any:
		for _, e := range x {
			jsonKeys(e, path+"[]", skip, into)
		}
	}
}

// TestConfigShowJSONKeysAreSnakeCaseAsEvents (issue 19): `config show
// --output json` names its keys as the events of --output json do
// (snake_case: lb_grace, from, value), so that one jq style reads both.
// Before, it used the flag names (lb-grace) and Go's field names (From,
// Value, Rule).
func TestConfigShowJSONKeysAreSnakeCaseAsEvents(t *testing.T) {
	dir := testutil.TempDir(t)
	t.Setenv("DRAIN_STATE_DIR", filepath.Join(dir, "state"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"busy": 0}`))
	}))
	defer srv.Close()
	page := filepath.Join(dir, "keepalive.htm")
	if err := os.WriteFile(page, []byte("OK"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "drain.yaml")
	if err := os.WriteFile(conf, []byte("lb-grace: 1s\nrotation:\n  nlb:\n    drain_minutes: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := "json:" + srv.URL + "/#busy"

	show, _, err := runInProcess(t, "config", "show", "--output", "json", "--config", conf, "--keepalive", page, "--source", src)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal([]byte(show), &cfg); err != nil {
		t.Fatalf("config show --output json: %v\n%s", err, show)
	}
	configKeys := map[string]string{}
	// rotation: the keys are the rotation types' names and their own
	// settings (as the config file spells them).
	jsonKeys(cfg, "", map[string]bool{".rotation": true}, configKeys)
	for _, want := range []string{"lb_grace", "from", "value", "state_dir_resolved", "config_files", "rotation"} {
		if _, ok := configKeys[want]; !ok {
			t.Errorf("config show --output json has no key %q; keys: %v", want, sorted(configKeys))
		}
	}

	eventKeys := map[string]string{}
	for _, args := range [][]string{
		{"out", "--output", "json", "--keepalive", page},
		{"wait", "--output", "json", "--source", src, "--interval", "50ms", "--settle", "0", "--timeout", "30s"},
		{"in", "--output", "json", "--keepalive", page},
	} {
		out, errOut, err := runInProcess(t, args...)
		if err != nil {
			t.Fatalf("drain %s: %v\n%s", strings.Join(args, " "), err, errOut)
		}
		sc := bufio.NewScanner(strings.NewReader(out))
		for sc.Scan() {
			var ev map[string]any
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Fatalf("drain %s: not NDJSON: %v: %s", args[0], err, sc.Text())
			}
			jsonKeys(ev, "", nil, eventKeys)
		}
	}
	if _, ok := eventKeys["remaining_s"]; !ok {
		t.Fatalf("the events have no remaining_s: keys %v", sorted(eventKeys))
	}
	for what, keys := range map[string]map[string]string{"an event": eventKeys, "config show": configKeys} {
		for k, p := range keys {
			if !snake.MatchString(k) {
				t.Errorf("%s: key %q (at %s) is not snake_case like the events' keys", what, k, p)
			}
		}
	}
}

func sorted(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
