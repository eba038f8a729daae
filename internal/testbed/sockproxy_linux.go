package testbed

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// SockProxy is a unix socket in front of another one (HAProxy's runtime
// API), for drains pointed at it instead of the real socket. The test can
// make it refuse connections for a while (the socket file stays, nothing
// listens: ECONNREFUSED, as when HAProxy is down), or hold new connections
// at a gate while it reloads the balancer. It logs every connection it
// forwarded with the client's process id (SO_PEERCRED), so a test can tell
// when a given process last read the balancer.
type SockProxy struct {
	Path, Target string
	done         func(pid int, command string)

	mu       sync.Mutex
	ln       *net.UnixListener
	gateCh   chan struct{} // closed while the gate is open
	gated    bool
	inflight int
	log      []SockConn
	closed   bool
	wg       sync.WaitGroup
}

// SockConn is one forwarded connection: who opened it, when it reached the
// real socket, and when it ended.
type SockConn struct {
	PID        int
	Start, End time.Time
	Command    string // the first line, when the proxy has a done hook (it reads it then)
	Failed     bool   // the real socket could not be reached
}

// StartSockProxy listens on path and forwards every connection to target.
// done, if not nil, is called with the client's process id and its command
// (the first line) once the answer has been passed on and the connection
// closed (the test may pause the client right after a given read).
func StartSockProxy(path, target string, done func(pid int, command string)) (*SockProxy, error) {
	p := &SockProxy{Path: path, Target: target, gateCh: make(chan struct{}), done: done}
	close(p.gateCh)
	return p, p.listen()
}

func (p *SockProxy) listen() error {
	_ = os.Remove(p.Path)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: p.Path, Net: "unix"})
	if err != nil {
		return err
	}
	ln.SetUnlinkOnClose(false)
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go p.accept(ln)
	return nil
}

func (p *SockProxy) accept(ln *net.UnixListener) {
	defer p.wg.Done()
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.handle(c)
	}
}

func peerPID(c *net.UnixConn) int {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0
	}
	pid := 0
	_ = raw.Control(func(fd uintptr) {
		if cred, err := syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED); err == nil {
			pid = int(cred.Pid)
		}
	})
	return pid
}

func (p *SockProxy) handle(c *net.UnixConn) {
	defer p.wg.Done()
	defer c.Close()
	pid := peerPID(c)
	for { // wait at the gate, then count as in flight
		p.mu.Lock()
		if !p.gated {
			p.inflight++
			p.mu.Unlock()
			break
		}
		g := p.gateCh
		p.mu.Unlock()
		<-g
	}
	rec := SockConn{PID: pid, Start: time.Now()}
	defer func() {
		rec.End = time.Now()
		p.mu.Lock()
		p.inflight--
		p.log = append(p.log, rec)
		p.mu.Unlock()
	}()
	br := bufio.NewReader(c)
	var first string
	if p.done != nil {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		first, _ = br.ReadString('\n')
		_ = c.SetReadDeadline(time.Time{})
		rec.Command = strings.TrimSpace(first)
		defer func() { p.done(pid, first) }() // runs once the answer and EOF are passed on (CloseWrite below)
	}
	t, err := net.DialTimeout("unix", p.Target, 2*time.Second)
	if err != nil {
		rec.Failed = true
		return
	}
	defer t.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := io.WriteString(t, first); err == nil {
			_, _ = io.Copy(t, br)
		}
		_ = t.(*net.UnixConn).CloseWrite()
	}()
	_, _ = io.Copy(c, t)
	_ = c.CloseWrite()
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	_ = t.Close()
	<-done
}

// Refuse closes the listener: until Accept, connections are refused.
func (p *SockProxy) Refuse() {
	p.mu.Lock()
	ln := p.ln
	p.ln = nil
	p.mu.Unlock()
	if ln != nil {
		_ = ln.Close()
	}
}

// Accept listens again after Refuse.
func (p *SockProxy) Accept() error {
	p.mu.Lock()
	busy := p.ln != nil || p.closed
	p.mu.Unlock()
	if busy {
		return nil
	}
	return p.listen()
}

// Gate holds every new connection until Open, and waits (up to limit) for
// the connections already forwarded to end: then the real socket's state
// can be saved and the balancer reloaded with no change in between.
func (p *SockProxy) Gate(limit time.Duration) error {
	p.mu.Lock()
	if !p.gated {
		p.gated = true
		p.gateCh = make(chan struct{})
	}
	p.mu.Unlock()
	deadline := time.Now().Add(limit)
	for {
		p.mu.Lock()
		n := p.inflight
		p.mu.Unlock()
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("connections still in flight at the gate")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Open lets held and new connections through.
func (p *SockProxy) Open() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gated {
		p.gated = false
		close(p.gateCh)
	}
}

// Log is every connection forwarded so far.
func (p *SockProxy) Log() []SockConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]SockConn(nil), p.log...)
}

// Close stops the proxy and waits for its connections.
func (p *SockProxy) Close() {
	p.Open()
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.Refuse()
	p.wg.Wait()
	_ = os.Remove(p.Path)
}
