// Package apachetest starts a real Apache httpd (Debian's apache2) as a
// load balancer for tests: mod_proxy_balancer in front of the given
// workers, its balancer-manager on /balancer-manager, on a free 127.0.0.1
// port, with its own configuration, pid file and logs in a test directory.
package apachetest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Server is one running Apache.
type Server struct {
	Addr string // 127.0.0.1:PORT
	Dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// Manager is the balancer-manager URL.
func (s *Server) Manager() string { return "http://" + s.Addr + "/balancer-manager" }

// URL is a path through the balancer.
func (s *Server) URL(p string) string { return "http://" + s.Addr + p }

// ErrorLog is the server's error log, for failure messages.
func (s *Server) ErrorLog() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "error.log"))
	return string(b)
}

// Member is one BalancerMember line: a URL and its parameters, e.g.
// {URL: "http://127.0.0.1:9001", Params: "status=+H"}.
type Member struct{ URL, Params string }

// Binary finds apache2 (Debian) or httpd.
func Binary() (string, error) {
	for _, name := range []string{"apache2", "httpd"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
		for _, d := range []string{"/usr/sbin", "/usr/local/sbin", "/usr/local/apache2/bin"} {
			p := filepath.Join(d, name)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
	}
	return "", errors.New("apache2 not installed (apt-get install -y apache2)")
}

func moduleDir() string {
	for _, d := range []string{"/usr/lib/apache2/modules", "/usr/lib64/httpd/modules", "/usr/local/apache2/modules"} {
		if _, err := os.Stat(filepath.Join(d, "mod_proxy_balancer.so")); err == nil {
			return d
		}
	}
	return "/usr/lib/apache2/modules"
}

// Start runs Apache with balancer "web" over the members; extra is added
// to the configuration (e.g. an access rule). It fails the test when Apache
// is not installed: the tests that use it are the proof of the apache
// method, not an optional extra.
func Start(t testing.TB, extra string, members ...Member) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	mods := moduleDir()
	var b strings.Builder
	fmt.Fprintf(&b, "ServerRoot %q\nPidFile %q\nErrorLog %q\nDefaultRuntimeDir %q\nLogLevel warn\nListen %s\nServerName 127.0.0.1\n",
		dir, filepath.Join(dir, "httpd.pid"), filepath.Join(dir, "error.log"), dir, addr)
	for _, m := range []string{"mpm_event", "authz_core", "proxy", "proxy_http", "proxy_balancer", "lbmethod_byrequests", "slotmem_shm", "status"} {
		fmt.Fprintf(&b, "LoadModule %s_module %q\n", m, filepath.Join(mods, "mod_"+m+".so"))
	}
	b.WriteString("<Proxy \"balancer://web\">\n")
	for _, m := range members {
		fmt.Fprintf(&b, "  BalancerMember %s %s\n", m.URL, m.Params)
	}
	b.WriteString("</Proxy>\n<Location \"/balancer-manager\">\n  SetHandler balancer-manager\n  Require all granted\n</Location>\n")
	b.WriteString("ProxyPass /balancer-manager !\nProxyPass / balancer://web/\n")
	b.WriteString(extra + "\n")
	conf := filepath.Join(dir, "httpd.conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(context.Background(), bin, "-f", conf, "-DFOREGROUND")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: addr, Dir: dir, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	t.Cleanup(s.Stop)
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := (&net.Dialer{Timeout: 200 * time.Millisecond}).DialContext(context.Background(), "tcp", addr)
		if err == nil {
			_ = c.Close()
			return s
		}
		select {
		case <-s.done:
			t.Fatalf("apache exited at start:\n%s", s.ErrorLog())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("apache not listening on %s after 15s:\n%s", addr, s.ErrorLog())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop ends Apache gracefully (SIGTERM to the process this package
// started) and waits, killing it after 10 s.
func (s *Server) Stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// ModulePath is the path of an Apache module file, e.g. "mod_auth_basic.so".
func ModulePath(name string) (string, error) {
	p := filepath.Join(moduleDir(), name)
	if _, err := os.Stat(p); err != nil {
		return "", err
	}
	return p, nil
}
