package rotation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary act as the stand-in balancer CLI on
// Windows (where testdata/exec/lb.sh cannot run): `TESTBINARY lbcli STATE
// SUB` behaves as `sh lb.sh STATE SUB`.
func TestMain(m *testing.M) {
	if len(os.Args) > 3 && os.Args[1] == "lbcli" {
		os.Exit(lbCLI(os.Args[2], os.Args[3]))
	}
	os.Exit(m.Run())
}

func lbCLI(state, sub string) int {
	switch sub {
	case "ok":
		return 0
	case "out", "in":
		if _, err := os.Stat(state + ".stuck"); err == nil {
			fmt.Println("ok")
			return 0
		}
		if err := os.WriteFile(state, []byte(strings.ToUpper(sub)+"\n"), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println("member set", sub)
	case "status":
		b, err := os.ReadFile(state)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Print(string(b))
	case "fail":
		fmt.Fprintln(os.Stderr, "error: member web01 not found in pool web")
		return 3
	case "hang":
		time.Sleep(30 * time.Second)
	case "garbage":
		fmt.Println("enabled (maybe)")
	default:
		fmt.Fprintln(os.Stderr, "usage: lbcli STATE out|in|status|fail|hang|garbage|ok")
		return 2
	}
	return 0
}

// okCmd is a command that succeeds, on every OS.
func okCmd() []any { return []any{os.Args[0], "lbcli", "-", "ok"} }

// execLB is a state file behind a stand-in for a balancer CLI run as a
// real process: testdata/exec/lb.sh, or the test binary on Windows.
type execLB struct{ state, script string }

func newExecLB(t *testing.T, initial string) execLB {
	t.Helper()
	lb := execLB{state: filepath.Join(t.TempDir(), "member")}
	if runtime.GOOS != "windows" {
		if _, err := exec.LookPath("sh"); err != nil {
			t.Fatal(err)
		}
		lb.script, _ = filepath.Abs(filepath.Join("testdata", "exec", "lb.sh"))
	}
	if err := os.WriteFile(lb.state, []byte(initial+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return lb
}

func (lb execLB) cmd(sub string) []any {
	if lb.script == "" {
		return []any{os.Args[0], "lbcli", lb.state, sub}
	}
	return []any{"sh", lb.script, lb.state, sub}
}

func (lb execLB) read(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(lb.state)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func newExecMethod(t *testing.T, name string, sect map[string]any, timeout time.Duration) (Method, error) {
	t.Helper()
	return NewMethod("exec:"+name, Options{Timeout: timeout, Settings: map[string]any{"web01": sect}})
}

func TestExecOutIn(t *testing.T) {
	lb := newExecLB(t, "IN")
	m, err := newExecMethod(t, "WEB01", map[string]any{"out": lb.cmd("out"), "in": lb.cmd("in"), "status": lb.cmd("status")}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if m.Target() != "web01" || Key(m) != "exec:web01" {
		t.Errorf("target %q", m.Target())
	}
	var saved []byte
	changed, err := m.Out(ctx, func(u any) (err error) { saved, err = json.Marshal(u); return err })
	if err != nil || !changed || lb.read(t) != "OUT" || string(saved) != `{"before":"IN"}` {
		t.Fatalf("out: %v %v, state %q, undo %s", changed, err, lb.read(t), saved)
	}
	if st, err := m.Status(ctx); st != Out || err != nil {
		t.Errorf("status %s %v", st, err)
	}
	if changed, err := m.Out(ctx, func(any) error { t.Error("save called"); return nil }); changed || err != nil {
		t.Errorf("second out: %v %v", changed, err)
	}
	if changed, err := m.In(ctx, saved); err != nil || !changed || lb.read(t) != "IN" {
		t.Fatalf("in: %v %v, state %q", changed, err, lb.read(t))
	}
	if changed, err := m.In(ctx, nil); changed || err != nil {
		t.Errorf("second in: %v %v", changed, err)
	}
}

func TestExecFaults(t *testing.T) {
	ctx := context.Background()
	t.Run("out fails: exit code and output named", func(t *testing.T) {
		lb := newExecLB(t, "IN")
		m, _ := newExecMethod(t, "web01", map[string]any{"out": lb.cmd("fail"), "in": lb.cmd("in"), "status": lb.cmd("status")}, 10*time.Second)
		_, err := m.Out(ctx, func(any) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "exit code 3") || !strings.Contains(err.Error(), "member web01 not found in pool web") ||
			!strings.Contains(err.Error(), "status now IN") {
			t.Errorf("%v", err)
		}
	})
	t.Run("change does not take effect", func(t *testing.T) {
		lb := newExecLB(t, "IN")
		_ = os.WriteFile(lb.state+".stuck", nil, 0o644)
		m, _ := newExecMethod(t, "web01", map[string]any{"out": lb.cmd("out"), "in": lb.cmd("in"), "status": lb.cmd("status")}, 10*time.Second)
		_, err := m.Out(ctx, func(any) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "status says IN after") || !strings.Contains(err.Error(), "did not take effect") {
			t.Errorf("%v", err)
		}
	})
	t.Run("status prints something else", func(t *testing.T) {
		lb := newExecLB(t, "IN")
		m, _ := newExecMethod(t, "web01", map[string]any{"out": lb.cmd("out"), "in": lb.cmd("in"), "status": lb.cmd("garbage")}, 10*time.Second)
		st, err := m.Status(ctx)
		if st != Unknown || err == nil || !strings.Contains(err.Error(), `printed "enabled (maybe)": want IN or OUT`) {
			t.Errorf("%s %v", st, err)
		}
		if _, err := m.Out(ctx, func(any) error { t.Error("save called"); return nil }); err == nil || lb.read(t) != "IN" {
			t.Errorf("out with an unreadable status: %v, state %s", err, lb.read(t))
		}
	})
	t.Run("timeout", func(t *testing.T) {
		lb := newExecLB(t, "IN")
		m, _ := newExecMethod(t, "web01", map[string]any{"out": lb.cmd("out"), "in": lb.cmd("in"), "status": lb.cmd("hang")}, 300*time.Millisecond)
		start := time.Now()
		st, err := m.Status(ctx)
		if st != Unknown || err == nil || !strings.Contains(err.Error(), "timed out after 300ms") {
			t.Errorf("%s %v", st, err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("took %s", d)
		}
	})
	t.Run("a password in a failing command is not shown", func(t *testing.T) {
		lb := newExecLB(t, "IN")
		fail := append(lb.cmd("fail"), "https://ops:s3cret@adc.example/nitro")
		m, _ := newExecMethod(t, "web01", map[string]any{"out": fail, "in": lb.cmd("in"), "status": lb.cmd("status")}, 10*time.Second)
		_, err := m.Out(ctx, func(any) error { return nil })
		if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "https://xxxxx@adc.example/nitro") {
			t.Errorf("%v", err)
		}
	})
	t.Run("command not found", func(t *testing.T) {
		m, _ := newExecMethod(t, "web01", map[string]any{"out": []any{"x"}, "in": []any{"x"}, "status": []any{"drain-no-such-cli", "status"}}, time.Second)
		if _, err := m.Status(ctx); err == nil || !strings.Contains(err.Error(), "`drain-no-such-cli status` failed: not found") {
			t.Errorf("%v", err)
		}
	})
}

func TestExecBadConfig(t *testing.T) {
	ok := []any{"true"}
	for _, tc := range []struct {
		name     string
		settings map[string]any
		want     string
	}{
		{"web01", nil, "no rotation.exec.web01 in the config file (define it in the config file"},
		{"web1", map[string]any{"web01": map[string]any{}}, "(the config file has: web01; did you mean web01?)"},
		{"web01", map[string]any{"web01": "consul maint"}, "want a map with out, in and status"},
		{"web01", map[string]any{"web01": map[string]any{"out": ok, "in": ok}}, `no "status" command`},
		{"web01", map[string]any{"web01": map[string]any{"out": ok, "in": ok, "status": ok, "stauts": ok}}, `rotation.exec.web01: unknown setting "stauts" (settings: out, in, status); did you mean status?`},
		{"web01", map[string]any{"web01": map[string]any{"out": "consul maint -enable", "in": ok, "status": ok}}, "rotation.exec.web01.out: want a list of strings"},
		{"web01", map[string]any{"web01": map[string]any{"out": []any{"a", 3}, "in": ok, "status": ok}}, "rotation.exec.web01.out: want a list of strings"},
	} {
		_, err := NewMethod("exec:"+tc.name, Options{Settings: tc.settings})
		if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: %v, want %q", tc.name, tc.settings, err, tc.want)
		}
	}
}
