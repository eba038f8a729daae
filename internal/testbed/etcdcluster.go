//go:build !windows

package testbed

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// EtcdCluster is a real etcd cluster of several members (Debian's
// etcd-server) on 127.0.0.1 random ports, each with its own data directory:
// members can be killed, restarted (they keep their data and rejoin) and
// paused, as a failing machine would be.
type EtcdCluster struct {
	Members []*EtcdMember
}

// EtcdMember is one member of an EtcdCluster.
type EtcdMember struct {
	Name, Dir, URL, peer, cluster string

	mu     sync.Mutex
	proc   *Proc
	log    *syncBuffer
	paused bool
}

// StartEtcdCluster starts n members under dir and waits until every one
// answers (a cluster answers only once it has a leader).
func StartEtcdCluster(dir string, n int) (*EtcdCluster, error) {
	c := &EtcdCluster{}
	var peers []string
	for i := range n {
		client, err := FreeAddr()
		if err != nil {
			return nil, err
		}
		peer, err := FreeAddr()
		if err != nil {
			return nil, err
		}
		m := &EtcdMember{Name: fmt.Sprintf("m%d", i+1), Dir: filepath.Join(dir, fmt.Sprintf("m%d", i+1)), URL: "http://" + client, peer: "http://" + peer}
		c.Members = append(c.Members, m)
		peers = append(peers, m.Name+"="+m.peer)
	}
	for _, m := range c.Members {
		m.cluster = strings.Join(peers, ",")
		if err := m.spawn(); err != nil {
			c.Stop()
			return nil, err
		}
	}
	for _, m := range c.Members {
		if err := m.waitReady(30 * time.Second); err != nil {
			c.Stop()
			return nil, err
		}
	}
	return c, nil
}

// URLs are the client URLs of every member, comma-separated (what
// --lock etcd: takes).
func (c *EtcdCluster) URLs() string {
	var us []string
	for _, m := range c.Members {
		us = append(us, m.URL)
	}
	return strings.Join(us, ",")
}

// Stop kills every member (resuming a paused one first).
func (c *EtcdCluster) Stop() {
	for _, m := range c.Members {
		m.Kill()
	}
}

func (m *EtcdMember) spawn() error {
	bin, err := Find("etcd")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(m.Dir, 0o700); err != nil {
		return err
	}
	// The initial-cluster flags only count on the first start: a restarted
	// member finds its data directory and rejoins with what it holds.
	cmd := exec.Command(bin,
		"--name", m.Name,
		"--data-dir", filepath.Join(m.Dir, "data"),
		"--listen-client-urls", m.URL, "--advertise-client-urls", m.URL,
		"--listen-peer-urls", m.peer, "--initial-advertise-peer-urls", m.peer,
		"--initial-cluster", m.cluster, "--initial-cluster-state", "new",
		"--initial-cluster-token", "drain-chaos",
		"--listen-metrics-urls", "",
	)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.log = &syncBuffer{}
	cmd.Stdout, cmd.Stderr = m.log, m.log
	m.proc, err = start(cmd)
	m.paused = false
	return err
}

func (m *EtcdMember) waitReady(limit time.Duration) error {
	e := &Etcd{URL: m.URL}
	deadline := time.Now().Add(limit)
	for !e.ready() {
		m.mu.Lock()
		p := m.proc
		m.mu.Unlock()
		select {
		case <-p.exited:
			return fmt.Errorf("etcd %s exited: %s", m.Name, m.Log())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("etcd %s not ready in %s: %s", m.Name, limit, m.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

// Kill ends the member at once (SIGKILL, as a crash), resuming it first if
// paused so that it can die.
func (m *EtcdMember) Kill() {
	m.mu.Lock()
	p := m.proc
	m.mu.Unlock()
	if p == nil {
		return
	}
	_ = p.Cmd.Process.Signal(syscall.SIGCONT)
	p.Kill()
}

// Restart starts a killed member again on its ports and data directory; it
// returns once the process runs (it answers once it has caught up with the
// cluster's leader).
func (m *EtcdMember) Restart() error {
	m.mu.Lock()
	p := m.proc
	m.mu.Unlock()
	if p != nil {
		select {
		case <-p.exited:
		default:
			return errors.New("etcd " + m.Name + " is still running")
		}
	}
	return m.spawn()
}

// Pause stops the member (SIGSTOP: a frozen VM, a long GC pause); Resume
// lets it go on.
func (m *EtcdMember) Pause() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.paused = true
	return m.proc.Cmd.Process.Signal(syscall.SIGSTOP)
}

// Resume continues a paused member.
func (m *EtcdMember) Resume() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.paused = false
	return m.proc.Cmd.Process.Signal(syscall.SIGCONT)
}

// Running says whether the member's process is alive.
func (m *EtcdMember) Running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc == nil {
		return false
	}
	select {
	case <-m.proc.exited:
		return false
	default:
		return true
	}
}

// Log is what the member printed, the last 2 KB.
func (m *EtcdMember) Log() string {
	m.mu.Lock()
	l := m.log
	m.mu.Unlock()
	s := l.String()
	if len(s) > 2048 {
		s = s[len(s)-2048:]
	}
	return s
}
