//go:build !windows

package testbed

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Restart stops the backend with SIGTERM (nginx's fast shutdown: what is in
// flight is cut, as a stop or a recycle does) and starts it again on the same
// address, returning once it listens.
func (n *Nginx) Restart() error {
	_ = n.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(10 * time.Second):
		n.Kill()
	}
	bin, err := Find("nginx")
	if err != nil {
		return err
	}
	conf := filepath.Join(n.Dir, "nginx.conf")
	cmd := exec.Command(bin, "-p", n.Dir, "-c", conf, "-e", filepath.Join(n.Dir, "error.log"))
	cmd.Stderr = os.Stderr
	p, err := start(cmd)
	if err != nil {
		return err
	}
	n.Proc = p
	if err := waitListen(n.Addr, p.exited); err != nil {
		log, _ := os.ReadFile(filepath.Join(n.Dir, "error.log"))
		return fmt.Errorf("nginx %s restart: %w: %s", n.Name, err, log)
	}
	return nil
}
