package cli

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/windows"
)

// Ctrl-Break (and Ctrl-C) sent to a waiting drain.exe: it puts the server
// back, exits 130 and says so. The test starts drain in a new process group
// sharing this console and sends CTRL_BREAK_EVENT to that group with
// GenerateConsoleCtrlEvent, as a pipeline agent or a console does (as Go's
// own os/signal TestCtrlBreak does). It runs on a real Windows (the
// windows-latest workflow); under Wine the event cannot be sent (see below)
// and the test says so and skips.
//
// CTRL_CLOSE_EVENT, CTRL_LOGOFF_EVENT and CTRL_SHUTDOWN_EVENT cannot be sent
// to another process; Go delivers them as SIGTERM, which drain notifies
// (signals_windows.go), and the restore is bounded by drain.Knobs.RestoreTimeout
// (TestRestoreAfterInterruptIsBounded) to fit in the ~5 s Windows allows.
func TestCtrlBreakPutsBack(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "keepalive.htm")
	if err := os.WriteFile(page, []byte("OK\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "busy 1")
	}))
	defer srv.Close()

	cmd := exec.Command(exe, "run", "--keepalive", page, "--source", "prom:"+srv.URL+"/metrics#busy",
		"--interval", "100ms", "--state-dir", filepath.Join(dir, "state"), "--", "cmd", "/c", "exit 0")
	cmd.Env = append(os.Environ(), "DRAIN_TEST_AS_DRAIN=1", "NO_COLOR=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	// Wait (generously: Wine on a loaded machine) until the page is out.
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := os.Stat(page + ".disabled"); err == nil {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("drain exited before taking the page out: %v\nstdout: %s\nstderr: %s", err, &stdout, &stderr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the page was not taken out within a minute\nstderr: %s", &stderr)
		}
	}
	if err := windows.GenerateConsoleCtrlEvent(windows.CTRL_BREAK_EVENT, uint32(cmd.Process.Pid)); err != nil {
		_ = cmd.Process.Kill()
		if os.Getenv("DRAIN_WINE") != "" {
			// Wine 8's console for a headless process refuses control
			// events (ERROR_INVALID_ACCESS, with a fresh AllocConsole
			// ERROR_INVALID_HANDLE): this runs on a real Windows only.
			t.Skipf("GenerateConsoleCtrlEvent under Wine: %v", err)
		}
		t.Fatalf("GenerateConsoleCtrlEvent: %v", err)
	}
	var werr error
	select {
	case werr = <-exited:
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("drain did not end within a minute of Ctrl-Break\nstderr: %s", &stderr)
	}
	var ee *exec.ExitError
	if !errors.As(werr, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("exit = %v, want 130\nstdout: %s\nstderr: %s", werr, &stdout, &stderr)
	}
	if !strings.Contains(stdout.String(), "interrupted; server is IN rotation") {
		t.Errorf("last line does not say IN:\n%s", &stdout)
	}
	if !strings.Contains(stderr.String(), "interrupted by Ctrl-C/Ctrl-Break while waiting") {
		t.Errorf("stderr does not name the interrupt:\n%s", &stderr)
	}
	if _, err := os.Stat(page); err != nil {
		t.Errorf("page not put back: %v", err)
	}
}
