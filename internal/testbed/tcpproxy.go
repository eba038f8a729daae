package testbed

import (
	"io"
	"net"
	"sync"
	"time"
)

// TCPProxy forwards connections from a 127.0.0.1 port to another address
// (a balancer's management API), and can refuse connections for a while:
// the listener closes (connect gets ECONNREFUSED) and opens again on the
// same port.
type TCPProxy struct {
	Addr, Target string
	identify     func(clientPort, proxyPort int) int
	port         int

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
	log    []*TCPConn
	closed bool
	wg     sync.WaitGroup
}

// StartTCPProxy listens on a free 127.0.0.1 port. identify, if not nil,
// names the process that opened a connection from the client's port (on
// Linux, through /proc); the log keeps it.
func StartTCPProxy(target string, identify func(clientPort, proxyPort int) int) (*TCPProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &TCPProxy{Addr: ln.Addr().String(), Target: target, ln: ln, conns: map[net.Conn]bool{}, identify: identify, port: ln.Addr().(*net.TCPAddr).Port}
	p.wg.Add(1)
	go p.accept(ln)
	return p, nil
}

func (p *TCPProxy) accept(ln net.Listener) {
	defer p.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		rec := &TCPConn{Start: time.Now()}
		if p.identify != nil {
			if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
				rec.PID = p.identify(a.Port, p.port)
			}
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer c.Close()
			p.mu.Lock()
			p.conns[c] = true
			p.log = append(p.log, rec)
			p.mu.Unlock()
			defer func() {
				p.mu.Lock()
				delete(p.conns, c)
				p.mu.Unlock()
			}()
			t, err := net.DialTimeout("tcp", p.Target, 2*time.Second)
			if err != nil {
				return
			}
			defer t.Close()
			done := make(chan struct{})
			go func() {
				defer close(done)
				_, _ = io.Copy(t, c)
				_ = t.(*net.TCPConn).CloseWrite()
			}()
			buf := make([]byte, 32<<10)
			for {
				n, err := t.Read(buf)
				if n > 0 {
					if _, werr := c.Write(buf[:n]); werr != nil {
						break
					}
					p.mu.Lock()
					rec.Replies = append(rec.Replies, time.Now())
					p.mu.Unlock()
				}
				if err != nil {
					break
				}
			}
			_ = c.(*net.TCPConn).CloseWrite()
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			<-done
		}()
	}
}

// TCPConn is one connection through the proxy: who opened it (0 when not
// known) and when answers came back through it.
type TCPConn struct {
	PID     int
	Start   time.Time
	Replies []time.Time
}

// LastReply is when process pid last got an answer through the proxy
// before t (zero if never).
func (p *TCPProxy) LastReply(pid int, before time.Time) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	var last time.Time
	for _, rec := range p.log {
		if rec.PID != pid {
			continue
		}
		for _, r := range rec.Replies {
			if r.Before(before) && r.After(last) {
				last = r
			}
		}
	}
	return last
}

// Refuse closes the listener until Accept, and every connection open
// through it (kept-alive ones included).
func (p *TCPProxy) Refuse() {
	p.mu.Lock()
	ln := p.ln
	p.ln = nil
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	if ln != nil {
		_ = ln.Close()
	}
}

// Accept listens again on the same address after Refuse.
func (p *TCPProxy) Accept() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil || p.closed {
		return nil
	}
	var err error
	for range 50 { // the port may take a moment to be free again
		var ln net.Listener
		if ln, err = net.Listen("tcp", p.Addr); err == nil {
			p.ln = ln
			p.wg.Add(1)
			go p.accept(ln)
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

// Close stops the proxy and waits for its connections.
func (p *TCPProxy) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.Refuse()
	p.wg.Wait()
}
