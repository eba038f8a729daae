//go:build !windows

package e2e

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestVerboseLogsEveryCall (issue 19): with --verbose, drain logs on stderr
// every call it makes to another server or program, not only its HTTP
// requests: each HAProxy runtime API command (of the rotation method and
// of the haproxy: source), each etcd call of the budget's lock, each
// program it runs (an exec: source, the action). Against a real HAProxy
// and a real etcd. A password planted where drain does carry it (the
// Authorization header of an HTTP source, the user info of a URL in the
// action's arguments and in --reason) is never in the log.
func TestVerboseLogsEveryCall(t *testing.T) {
	f := confFarm(t, `backend web
  option httpchk GET /
  default-server inter 100ms fall 1 rise 1
  server a %s check
  server b %s check
`)
	e := startEtcd(t)
	const planted = "pl4nted-pw"
	metrics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "ops" || p != planted {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte("busy 0\n"))
	}))
	t.Cleanup(metrics.Close)
	server := "haproxy:" + f.lb.Sock + "#web/a"
	lock := "etcd:" + e.URL

	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(f.drain, args...)
		cmd.Env = append(os.Environ(), "DRAIN_STATE_DIR="+f.state, "DRAIN_BASIC_AUTH=ops:"+planted, "NO_COLOR=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("drain %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		if strings.Contains(string(out), planted) {
			t.Errorf("drain %s: the planted password is in its output:\n%s", args[0], out)
		}
		return string(out)
	}
	out := run("run", "--verbose", "--rotate", server, "--min-in-rotation", "1", "--lock", lock,
		"--reason", "deploy http://ops:"+planted+"@ci.example/job/1",
		"--source", "haproxy:"+f.lb.Sock+"#web/a", "--source", "exec:echo 0", "--source", "prom:"+metrics.URL+"/m#busy",
		"--interval", "100ms", "--settle", "0", "--timeout", "60s",
		"--", "true", "http://ops:"+planted+"@example.invalid/hook")
	in := run("in", "--verbose", "--rotate", server, "--lock", lock)

	sock := regexp.QuoteMeta(f.lb.Sock)
	for _, c := range []struct{ what, re, in string }{
		{"the rotation's runtime API command", `(?m)^\d\d:\d\d:\d\d haproxy ` + sock + `: set server web/a state (drain|maint) -> ok \(empty answer\) \(\d+m?s\)$`, out},
		{"the source's runtime API command", `(?m)^\d\d:\d\d:\d\d haproxy ` + sock + `: show stat [^\n]* -> "# pxname,svname,`, out},
		{"an etcd call", `(?m)^\d\d:\d\d:\d\d http POST ` + regexp.QuoteMeta(e.URL) + `/v3/lease/grant -> 200 OK`, out},
		{"an etcd transaction", `(?m)^\d\d:\d\d:\d\d http POST ` + regexp.QuoteMeta(e.URL) + `/v3/kv/txn -> 200 OK`, out},
		{"the exec source", `(?m)^\d\d:\d\d:\d\d exec \S*echo 0 -> exit 0 \(\d+m?s\)$`, out},
		{"the action, its URL masked", `(?m)^\d\d:\d\d:\d\d exec true http://xxxxx@example\.invalid/hook -> exit 0 \(\d+m?s\)$`, out},
		{"the HTTP source, without its header", `(?m)^\d\d:\d\d:\d\d http GET ` + regexp.QuoteMeta(metrics.URL) + `/m -> 200 OK`, out},
		{"in's runtime API command", `(?m)^\d\d:\d\d:\d\d haproxy ` + sock + `: set server web/a state ready -> ok \(empty answer\)`, in},
		{"in's etcd call", `(?m)^\d\d:\d\d:\d\d http POST ` + regexp.QuoteMeta(e.URL) + `/v3/kv/`, in},
	} {
		if !regexp.MustCompile(c.re).MatchString(c.in) {
			t.Errorf("--verbose does not log %s (%s):\n%s", c.what, c.re, c.in)
		}
	}

	// Without --verbose: none of it.
	quiet := run("wait", "--source", "haproxy:"+f.lb.Sock+"#web/a", "--source", "exec:echo 0", "--interval", "100ms", "--settle", "0")
	if strings.Contains(quiet, " haproxy ") || strings.Contains(quiet, " exec ") {
		t.Errorf("without --verbose, call lines:\n%s", quiet)
	}
}
