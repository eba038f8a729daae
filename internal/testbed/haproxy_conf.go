package testbed

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// StartHAProxyConf starts a load balancer in dir whose backends are
// written by the caller: backends is the configuration text after the
// frontend, e.g. "backend web\n  server a ADDR check\n  server b ADDR track
// web/a\n" (track, weights, agent checks: whatever the test is about). The
// frontend sends everything to backend "web". It returns once HAProxy
// listens; the caller waits for the check states it needs.
func StartHAProxyConf(dir, backends string) (*HAProxy, error) {
	bin, err := Find("haproxy")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	h := &HAProxy{Dir: dir, Sock: filepath.Join(dir, "admin.sock")}
	if h.Addr, err = FreeAddr(); err != nil {
		return nil, err
	}
	if h.StatsAddr, err = FreeAddr(); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`global
  stats socket %[1]s mode 600 level admin
  stats timeout 10s
  maxconn 1000

defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  retries 0
  no option redispatch
  option http-server-close

frontend fe
  bind %[2]s
  default_backend web

frontend stats
  bind %[3]s
  stats enable
  stats uri /stats

%[4]s`, h.Sock, h.Addr, h.StatsAddr, backends)
	confPath := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-db", "-f", confPath)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if h.Proc, err = start(cmd); err != nil {
		return nil, err
	}
	if err := waitListen(h.Addr, h.exited); err != nil {
		h.Kill()
		return nil, fmt.Errorf("haproxy: %w: %s", err, stderr.String())
	}
	// The runtime socket may come a moment after the frontend (seen under
	// -race on a loaded machine: "dial: connect: no such file or
	// directory" at the caller's first command).
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := h.Cmd("show info")
		if err == nil {
			return h, nil
		}
		if time.Now().After(deadline) {
			h.Kill()
			return nil, fmt.Errorf("haproxy: runtime socket %s not answering after 10s: %w: %s", h.Sock, err, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
