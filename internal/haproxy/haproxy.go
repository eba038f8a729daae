// Package haproxy speaks the HAProxy runtime API (the "stats socket"): one
// command per connection, over a unix socket or TCP. Both the haproxy
// rotation method and the haproxy source use it.
package haproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/drain-cli/drain/internal/denied"
	"github.com/drain-cli/drain/internal/trace"
)

// DefaultTimeout bounds one command when the context has no deadline.
const DefaultTimeout = 5 * time.Second

// maxAnswer bounds one answer (a `show stat` of thousands of servers is a few MB).
const maxAnswer = 64 << 20

// Addr is where a runtime API listens.
type Addr struct {
	Network string // unix or tcp
	Address string
}

func (a Addr) String() string {
	if a.Network == "unix" {
		return a.Address
	}
	return a.Network + ":" + a.Address
}

// ParseAddr reads a runtime API address: a unix socket path, unix:/path,
// host:port or tcp:host:port.
func ParseAddr(s string) (Addr, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return Addr{}, errors.New("empty runtime API address")
	case strings.HasPrefix(s, "unix:"):
		p := strings.TrimPrefix(s, "unix:")
		if p == "" {
			return Addr{}, fmt.Errorf("runtime API address %q has no socket path", s)
		}
		return Addr{"unix", p}, nil
	case strings.HasPrefix(s, "tcp:"):
		return tcpAddr(s, strings.TrimPrefix(s, "tcp:"))
	case strings.HasPrefix(s, "/"), strings.HasPrefix(s, "."), strings.HasPrefix(s, "~"), filepath.IsAbs(s):
		return Addr{"unix", s}, nil
	}
	return tcpAddr(s, s)
}

func tcpAddr(raw, hp string) (Addr, error) {
	host, port, err := net.SplitHostPort(hp)
	if _, perr := strconv.ParseUint(port, 10, 16); err != nil || perr != nil {
		return Addr{}, fmt.Errorf("runtime API address %q: want a socket path, unix:/path, host:port or tcp:host:port", raw)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return Addr{"tcp", net.JoinHostPort(host, port)}, nil
}

// Command sends one command and returns the whole answer. The runtime API
// closes the connection after answering a command in non-interactive mode.
func Command(ctx context.Context, a Addr, cmd string) (answer string, err error) {
	done := trace.Start(ctx, "haproxy", a.String()+": "+cmd)
	defer func() {
		if err != nil {
			done("error: " + err.Error())
			return
		}
		done(trace.Answer(answer))
	}()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, a.Network, a.Address)
	if err != nil {
		if a.Network == "unix" {
			return "", denied.Wrap(plain(err), a.Address, "run drain as a member of group GROUP (haproxy.cfg: stats socket ... mode 660 group GROUP), or as the socket's owner")
		}
		return "", plain(err)
	}
	defer conn.Close()
	dl, _ := ctx.Deadline()
	_ = conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := io.WriteString(conn, cmd+"\n"); err != nil {
		return "", plain(err)
	}
	// Read into a strings.Builder: its String is the bytes read, not a copy
	// (a pool's show stat is a megabyte at 5000 servers).
	var b strings.Builder
	if _, err := io.Copy(&b, io.LimitReader(conn, maxAnswer+1)); err != nil {
		return "", plain(err)
	}
	if b.Len() > maxAnswer {
		return "", fmt.Errorf("answer to %q larger than %d bytes", cmd, maxAnswer)
	}
	return b.String(), nil
}

// plain turns timeouts into one short message and drops the net.OpError
// wrapping that repeats the address.
func plain(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return errors.New("runtime API did not answer in time")
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return fmt.Errorf("%s: %w", oe.Op, oe.Err)
	}
	return err
}

// Answer turns the answer of a command that prints nothing on success (set
// server ...) into an error when HAProxy said something.
func Answer(out string) error {
	if s := strings.TrimSpace(out); s != "" {
		return errors.New(strings.Join(strings.Fields(s), " "))
	}
	return nil
}
