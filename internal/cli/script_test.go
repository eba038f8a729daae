package cli

import (
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/drain-cli/drain/internal/winps/winpstest"
)

func TestMain(m *testing.M) {
	// Tests that start drain themselves (signals_windows_test.go) run this
	// binary with DRAIN_TEST_AS_DRAIN=1.
	if os.Getenv("DRAIN_TEST_AS_DRAIN") == "1" {
		os.Exit(Main())
	}
	testscript.Main(m, map[string]func(){
		"drain": func() { os.Exit(Main()) },
		// drain-beat is drain with a heartbeat of 300 ms instead of 30 s
		// (heartbeat.txtar): the real command line, sinks and pipe.
		"drain-beat": func() { os.Exit(mainWith(func(f *Factory) { f.Heartbeat = 300 * time.Millisecond })) },
		// The scripts' actions and exec sources use these Unix commands;
		// built in, they exist on Windows too (the suite runs under Wine).
		"true":  func() { os.Exit(0) },
		"false": func() { os.Exit(1) },
		"echo":  func() { fmt.Println(strings.Join(os.Args[1:], " ")) },
		// ppid FILE [SLEEP] writes its parent's pid (drain's, when drain
		// runs it as an exec source or an action) to FILE, prints 1 (a busy
		// source) and sleeps SLEEP: how a script finds drain's pid to
		// signal it.
		"ppid": func() {
			if len(os.Args) < 2 {
				os.Exit(2)
			}
			tmp := os.Args[1] + ".tmp"
			if err := os.WriteFile(tmp, []byte(strconv.Itoa(os.Getppid())), 0o600); err != nil || os.Rename(tmp, os.Args[1]) != nil {
				os.Exit(1)
			}
			fmt.Println(1)
			if len(os.Args) > 2 {
				d, _ := time.ParseDuration(os.Args[2])
				time.Sleep(d)
			}
		},
		// powershell is the stand-in powershell.exe for the arr and nlb
		// types (internal/winps/winpstest), serving $DRAIN_FAKE_PS_STATE.
		"powershell": func() {
			_, code := winpstest.Main()
			if os.Getenv(winpstest.StateEnv) == "" {
				fmt.Fprintln(os.Stderr, "stand-in powershell: set "+winpstest.StateEnv)
				code = 1
			}
			os.Exit(code)
		},
		"touch": func() {
			for _, f := range os.Args[1:] {
				if err := os.WriteFile(f, nil, 0o600); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
			}
		},
	})
}

// TestScripts runs the CLI end to end: testdata/script/*.txtar drive the
// real drain binary against real HTTP servers on 127.0.0.1.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("NO_COLOR", "1")
			env.Setenv("HASH", "#") // testscript reads a bare # as a comment
			env.Setenv("DRAIN_STATE_DIR", filepath.Join(env.WorkDir, ".state"))
			// drain runs Windows PowerShell by its full path, never from
			// PATH: the stand-in is named by DRAIN_POWERSHELL.
			if p, err := exec.LookPath("powershell"); err == nil {
				env.Setenv("DRAIN_POWERSHELL", p)
			}
			// Never the real /etc/drain/drain.yaml: a script writes this one
			// to test the machine's config file.
			env.Setenv("DRAIN_SYSTEM_CONFIG", filepath.Join(env.WorkDir, ".etc", "drain.yaml"))
			return nil
		},
		// [limited]: a limited token is at hand for exec-limited (Windows)
		Condition: scriptCondition,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"httpserve":   cmdHTTPServe,
			"write-after": cmdWriteAfter,
			"exit":        cmdExit,
			"grep-tree":   cmdGrepTree,
			"wait-gone":   cmdWaitGone,
			"signal":      cmdSignal,
			"waitfile":    cmdWaitFile,
			"when-exists": cmdWhenExists,
			"chown-other": cmdChownOther,
			// F5 and AWS ELB stand-ins (script_lb2_test.go)
			"f5serve":  cmdF5Serve,
			"f5set":    cmdF5Set,
			"f5get":    cmdF5Get,
			"f5mode":   cmdF5Mode,
			"elbmode":  cmdELBMode,
			"elbdelay": cmdELBDelay,
			"elbserve": cmdELBServe,
			"elbset":   cmdELBSet,
			"elbget":   cmdELBGet,
			// Windows: run with the limited token (script_windows_test.go)
			"exec-limited": cmdExecLimited,
		},
	})
}

// httpserve [-tls] [-auth VALUE] serves $WORK over HTTP on 127.0.0.1 and
// sets $HTTP to its URL. Files are read on every request, so a rename or a
// rewrite shows at once; /status/NNN answers that status; /hang does not
// answer within any read timeout. -tls serves https with a self-signed
// certificate (written to $WORK/ca.pem) and sets $HTTPS instead ($HTTPADDR
// is the plain server's host:port); -auth
// answers 401 unless the Authorization header is exactly VALUE.
func cmdHTTPServe(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("httpserve", flag.ContinueOnError)
	useTLS := fs.Bool("tls", false, "")
	auth := fs.String("auth", "", "")
	if neg || fs.Parse(args) != nil || fs.NArg() != 0 {
		ts.Fatalf("usage: httpserve [-tls] [-auth VALUE]")
	}
	dir := ts.Getenv("WORK")
	mux := http.NewServeMux()
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.PathValue("code"))
		w.WriteHeader(code)
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(r.URL.Path, "/"))))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	})
	var h http.Handler = mux
	if *auth != "" {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != *auth {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			mux.ServeHTTP(w, r)
		})
	}
	srv := httptest.NewUnstartedServer(h)
	if *useTLS {
		srv.StartTLS()
		cert := srv.Certificate()
		ts.Check(os.WriteFile(filepath.Join(dir, "ca.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644))
		ts.Setenv("HTTPS", srv.URL)
	} else {
		srv.Start()
		ts.Setenv("HTTP", srv.URL)
		ts.Setenv("HTTPADDR", srv.Listener.Addr().String()) // host:port, to write a URL with user info
	}
	ts.Defer(srv.Close)
}

// write-after DURATION FILE TEXT... rewrites FILE with TEXT after DURATION,
// in the background (a counter falling while drain waits).
func cmdWriteAfter(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 {
		ts.Fatalf("usage: write-after DURATION FILE TEXT...")
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	path := ts.MkAbs(args[1])
	text := strings.Join(args[2:], " ") + "\n"
	t := time.AfterFunc(d, func() { writeWhole(path, text) })
	ts.Defer(func() { t.Stop() })
}

// writeWhole replaces path with text whole or not at all, for an HTTP
// reader. On Windows the rename fails while the server has the file open:
// it is retried for up to 10 s.
func writeWhole(path, text string) {
	tmp := path + ".tmp"
	if os.WriteFile(tmp, []byte(text), 0o644) != nil {
		return
	}
	for end := time.Now().Add(10 * time.Second); os.Rename(tmp, path) != nil && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
}

// exit CODE PROGRAM ARGS... runs a program and checks its exit code exactly
// (testscript's ! exec only says "non-zero").
func cmdExit(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exit CODE PROGRAM ARGS...")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}

// grep-tree PATTERN DIR succeeds when a file under DIR contains PATTERN (a
// plain string); use it as `! grep-tree` to prove a secret was written nowhere.
func cmdGrepTree(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: grep-tree PATTERN DIR")
	}
	var found []string
	files := 0
	err := filepath.WalkDir(ts.MkAbs(args[1]), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), args[0]) {
			found = append(found, p)
		}
		return err
	})
	ts.Check(err)
	if files == 0 {
		ts.Fatalf("no files under %s: nothing was searched", args[1])
	}
	if neg && len(found) > 0 {
		ts.Fatalf("%q found in %s", args[0], strings.Join(found, ", "))
	}
	if !neg && len(found) == 0 {
		ts.Fatalf("%q not found under %s", args[0], args[1])
	}
}

// wait-gone FILE waits (up to a minute) until FILE no longer exists: a
// background drain has taken the page out, so it holds the lock.
func cmdWaitGone(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: wait-gone FILE")
	}
	p := ts.MkAbs(args[0])
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
			return
		}
	}
	ts.Fatalf("%s still exists after a minute", args[0])
}

// signal SIG[,SIG...] PIDFILE sends each signal, in order, to the process
// whose pid is in PIDFILE (written by ppid). testscript's own kill knows
// only INT and KILL.
func cmdSignal(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: signal SIG[,SIG...] PIDFILE")
	}
	b, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	ts.Check(err)
	p, err := os.FindProcess(pid)
	ts.Check(err)
	names := map[string]syscall.Signal{
		"HUP": syscall.SIGHUP, "INT": syscall.SIGINT, "TERM": syscall.SIGTERM,
		"QUIT": syscall.SIGQUIT, "PIPE": syscall.SIGPIPE, "KILL": syscall.SIGKILL,
	}
	for _, name := range strings.Split(args[0], ",") {
		sig, ok := names[name]
		if !ok {
			ts.Fatalf("unknown signal %s", name)
		}
		ts.Check(p.Signal(sig))
	}
}

// waitfile FILE waits (up to a minute: the machine may be loaded) until FILE
// exists: the background drain got to the point the script wants.
func cmdWaitFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitfile FILE")
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s did not appear within a minute", args[0])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// when-exists FILE DELAY TARGET TEXT... writes TEXT to TARGET DELAY after
// FILE appears, in the background: a deploy step re-creating the keep-alive
// page a while after drain renamed it.
func cmdWhenExists(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 4 {
		ts.Fatalf("usage: when-exists FILE DELAY TARGET TEXT...")
	}
	delay, err := time.ParseDuration(args[1])
	ts.Check(err)
	file, target := ts.MkAbs(args[0]), ts.MkAbs(args[2])
	text := strings.Join(args[3:], " ") + "\n"
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		deadline := time.Now().Add(time.Minute)
		for time.Now().Before(deadline) {
			if _, err := os.Stat(file); err == nil {
				select {
				case <-stop:
				case <-time.After(delay):
					writeWhole(target, text)
				}
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	ts.Defer(func() { close(stop); <-done })
}

// chown-other GLOB... gives the files that match to another account (uid
// and gid 65534, nobody), as if a plain user had written them; the script
// needs root (guard it with [!root] skip).
func cmdChownOther(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: chown-other GLOB...")
	}
	n := 0
	for _, g := range args {
		files, err := filepath.Glob(ts.MkAbs(g))
		ts.Check(err)
		for _, f := range files {
			ts.Check(os.Lchown(f, 65534, 65534))
			n++
		}
	}
	if n == 0 {
		ts.Fatalf("chown-other: no file matches %v", args)
	}
}
