package cli

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/sys/windows"
)

// exec-limited CODE PROG ARGS... runs PROG (found on the script's PATH) with
// the limited token linked to this elevated process's token, as UAC gives an
// administrator's unelevated programs (Wine has it too), and checks its exit
// code. Its stdout and stderr are the command's, for stdout/stderr checks.
// Guard it with [limited]: there is no such token when the tests run
// unelevated or with UAC off.
func cmdExecLimited(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exec-limited CODE PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	linked, err := limitedToken()
	if err != nil {
		ts.Fatalf("%v (guard exec-limited with [limited])", err)
	}
	defer linked.Close()
	prog := ""
	for _, dir := range filepath.SplitList(ts.Getenv("PATH")) {
		for _, name := range []string{args[1] + ".exe", args[1]} {
			if fi, err := os.Stat(filepath.Join(dir, name)); err == nil && !fi.IsDir() {
				prog = filepath.Join(dir, name)
				break
			}
		}
		if prog != "" {
			break
		}
	}
	if prog == "" {
		ts.Fatalf("%s not found on the script's PATH", args[1])
	}
	cmd := exec.Command(prog, args[2:]...)
	cmd.Dir = ts.MkAbs(".")
	cmd.Env = os.Environ()
	for _, k := range []string{"PATH", "WORK", "HOME", "USERPROFILE", "TMP", "TEMP", "NO_COLOR", "DRAIN_STATE_DIR", "DRAIN_APPCMD"} {
		if v := ts.Getenv(k); v != "" {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	cmd.Stdout, cmd.Stderr = ts.Stdout(), ts.Stderr()
	cmd.SysProcAttr = &syscall.SysProcAttr{Token: syscall.Token(linked)}
	err = cmd.Run()
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("run %s limited: %v", args[1], err)
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", strings.Join(args[1:], " "), got, want)
	}
}

// limitedToken returns the limited token linked to this process's elevated
// one.
func limitedToken() (windows.Token, error) {
	var tok windows.Token
	if err := windows.OpenProcessToken(windows.CurrentProcess(), windows.TOKEN_QUERY, &tok); err != nil {
		return 0, err
	}
	defer tok.Close()
	if !tok.IsElevated() {
		return 0, errors.New("the tests run unelevated: no limited token to switch to")
	}
	linked, err := tok.GetLinkedToken()
	if err != nil {
		return 0, fmt.Errorf("no limited token linked to this elevated one (UAC off?): %w", err)
	}
	if linked.IsElevated() {
		linked.Close()
		return 0, errors.New("the linked token is elevated too")
	}
	return linked, nil
}

// scriptCondition: [limited] a limited token is at hand (exec-limited);
// [pdhstub] pdh.dll is the test stand-in (scripts/wine/setup.sh).
func scriptCondition(cond string) (bool, error) {
	if cond == "root" {
		return false, nil // chown-other is Unix only
	}
	if cond == "pdhstub" {
		return windows.NewLazySystemDLL("pdh.dll").NewProc("PdhStubLoaded").Find() == nil, nil
	}
	if cond != "limited" {
		return false, fmt.Errorf("unknown condition %q", cond)
	}
	t, err := limitedToken()
	if err != nil {
		return false, nil
	}
	t.Close()
	return true, nil
}
