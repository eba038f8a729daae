package source

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/state"
)

// helperArg, as the first argument of the test binary, makes it act as the
// command an exec source runs (see runHelper). The test binary is the one
// program known to exist on every OS the tests run on.
const helperArg = "drain-exec-helper"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == helperArg {
		os.Exit(runHelper(os.Args[2:]))
	}
	os.Exit(m.Run())
}

// runHelper performs the actions args name, in order, and returns the exit
// code: "out=TEXT" and "err=TEXT" write TEXT, "bigout=N" writes N bytes,
// "sleep=DURATION" sleeps, "exit=N" exits with N, "child=PIDFILE" starts a
// copy of itself that writes its pid to PIDFILE and sleeps 41 s holding
// stdout open (and waits until PIDFILE is there), "pid=PIDFILE" writes the
// pid.
func runHelper(args []string) int {
	for _, a := range args {
		key, val, _ := strings.Cut(a, "=")
		switch key {
		case "out":
			fmt.Fprint(os.Stdout, val)
		case "err":
			fmt.Fprint(os.Stderr, val)
		case "bigout":
			n, _ := strconv.Atoi(val)
			if _, err := os.Stdout.Write([]byte(strings.Repeat("1", n))); err != nil {
				return 9
			}
		case "sleep":
			d, _ := time.ParseDuration(val)
			time.Sleep(d)
		case "exit":
			n, _ := strconv.Atoi(val)
			return n
		case "child":
			cmd := exec.Command(os.Args[0], helperArg, "pid="+val, "sleep=41s")
			cmd.Stdout = os.Stdout
			if err := cmd.Start(); err != nil {
				return 8
			}
			for i := 0; i < 500; i++ { // until the child is up, so a test knows whom to look for
				if _, err := os.Stat(val); err == nil {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		case "pid":
			tmp := val + ".tmp"
			if os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())), 0o600) != nil || os.Rename(tmp, val) != nil {
				return 7
			}
		}
	}
	return 0
}

// helperSpec returns an exec spec running the helper with args. Single
// quotes keep the path literal on every OS.
func helperSpec(t *testing.T, args ...string) string {
	t.Helper()
	if strings.Contains(os.Args[0], "'") {
		t.Skip("test binary path contains a quote")
	}
	spec := "exec:'" + os.Args[0] + "' " + helperArg
	for _, a := range args {
		spec += " '" + a + "'"
	}
	return spec
}

func TestExecRead(t *testing.T) {
	long := strings.Repeat("é", 300)
	cases := []struct {
		name    string
		args    []string
		timeout time.Duration
		want    float64
		wantErr string
		notErr  string // text the error must not contain
	}{
		{name: "integer", args: []string{"out=42\n"}, want: 42},
		{name: "float with spaces and CRLF", args: []string{"out=  3.5 \r\n"}, want: 3.5},
		{name: "negative is not a count", args: []string{"out=-1"}, wantErr: "value is -1: below zero, not a count"},
		{name: "stderr ignored on success", args: []string{"err=warning\n", "out=7"}, want: 7},
		{name: "no output", args: nil, wantErr: "no output; want one number"},
		{name: "two numbers", args: []string{"out=1 2"}, wantErr: `output "1 2" is not a number`},
		{name: "text", args: []string{"out=idle"}, wantErr: `output "idle" is not a number`},
		{name: "NaN", args: []string{"out=NaN"}, wantErr: "value is NaN"},
		{name: "Inf", args: []string{"out=+Inf"}, wantErr: "value is +Inf"},
		{
			name:    "exit code and first stderr line",
			args:    []string{"out=5", "err=\n  boom: pool not found  \nsecond line\n", "exit=3"},
			wantErr: "exit code 3: boom: pool not found",
			notErr:  "second",
		},
		{name: "exit code without stderr", args: []string{"exit=1"}, wantErr: "exit code 1"},
		{
			name:    "long stderr line clipped",
			args:    []string{"err=" + long, "exit=2"},
			wantErr: "exit code 2: " + strings.Repeat("é", 200) + "…",
		},
		{
			name:    "timeout kills",
			args:    []string{"sleep=20s", "out=1"},
			timeout: 200 * time.Millisecond,
			wantErr: "timed out after 200ms (killed)",
		},
		{name: "stdout over 1 MiB", args: []string{"bigout=2000000"}, wantErr: "output larger than 1048576 bytes"},
		{name: "stdout of exactly 1 MiB", args: []string{"bigout=1048576"}, wantErr: "is not a number"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := newSource(t, helperSpec(t, tc.args...), Options{ReadTimeout: tc.timeout})
			start := time.Now()
			got, err := readOnce(src)
			checkErr(t, err, tc.wantErr)
			if err != nil && tc.notErr != "" && strings.Contains(err.Error(), tc.notErr) {
				t.Fatalf("error %q contains %q", err, tc.notErr)
			}
			if err == nil && got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("read took %v", d)
			}
		})
	}
}

func TestExecTargets(t *testing.T) {
	cases := []struct{ target, wantErr string }{
		{"no-such-program-drain-test", `program "no-such-program-drain-test" not found in PATH`},
		{"./no/such/program", `program "./no/such/program" not found`},
		{"'unterminated", "unterminated ' quote"},
		{`"unterminated`, `unterminated " quote`},
		{"''", `program "" not found`},
	}
	for _, tc := range cases {
		t.Run(tc.target, func(t *testing.T) {
			_, err := New(Spec{Type: "exec", Target: tc.target, Raw: "exec:" + tc.target}, Options{})
			checkErr(t, err, tc.wantErr)
		})
	}
}

func TestSplitCommand(t *testing.T) {
	cases := []struct {
		in      string
		windows bool
		want    []string
	}{
		{`count --pool "Default App Pool"`, false, []string{"count", "--pool", "Default App Pool"}},
		{`sh -c 'echo $X | wc -l'`, false, []string{"sh", "-c", "echo $X | wc -l"}},
		{`a\ b c\\d`, false, []string{"a b", `c\d`}},
		{`C:\tools\count.exe -n 3`, true, []string{`C:\tools\count.exe`, "-n", "3"}},
		{`"C:\Program Files\x.exe" 'a\b' "c\d"`, true, []string{`C:\Program Files\x.exe`, `a\b`, `c\d`}},
		{`powershell -Command "(Get-Item 'C:\x').Length"`, true, []string{"powershell", "-Command", `(Get-Item 'C:\x').Length`}},
		{`"it's" C:\x`, true, []string{"it's", `C:\x`}},
		{`\\server\share\x.exe`, true, []string{`\\server\share\x.exe`}},
	}
	for _, tc := range cases {
		got, err := splitCommand(tc.in, tc.windows)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("splitCommand(%q, windows=%v) = %q, %v; want %q", tc.in, tc.windows, got, err, tc.want)
		}
	}
}

// TestExecLeavesNothingRunning: whatever the command started is gone once
// the read is over, whether it timed out (sh -c 'sleep 41; true' with a short
// --read-timeout used to leave one sleep per poll) or exited and left a
// child behind holding its output.
func TestExecLeavesNothingRunning(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		timeout time.Duration
		want    float64
		wantErr string
	}{
		// The timeout leaves the child time to start and write its pid even
		// on a loaded machine (or under Wine).
		{name: "killed at the timeout", args: []string{"sleep=41s"}, timeout: 5 * time.Second, wantErr: "timed out after 5s (killed)"},
		{name: "exited leaving a child", args: []string{"out=1"}, want: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "child.pid")
			args := append([]string{"child=" + pidFile}, tc.args...)
			src := newSource(t, helperSpec(t, args...), Options{ReadTimeout: tc.timeout})
			got, err := readOnce(src)
			checkErr(t, err, tc.wantErr)
			if err == nil && got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			pid := waitPid(t, pidFile)
			// Generous: only a kill ends the child before its 41 s are up.
			deadline := time.Now().Add(10 * time.Second)
			for state.ProcessAlive(pid) && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if state.ProcessAlive(pid) {
				if p, err := os.FindProcess(pid); err == nil {
					_ = p.Kill()
				}
				t.Fatalf("child %d survived the read", pid)
			}
		})
	}
}

// waitPid reads the pid a helper child wrote (it may still be starting).
func waitPid(t *testing.T, path string) int {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(path); err == nil {
			if pid, err := strconv.Atoi(string(b)); err == nil {
				return pid
			}
		}
	}
	t.Fatal("the child never wrote its pid")
	return 0
}
