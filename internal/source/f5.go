package source

import (
	"context"
	"fmt"

	"github.com/drain-cli/drain/internal/f5"
)

func init() {
	Register(Type{
		Name: "f5", Syntax: "https://HOST#/PARTITION/POOL/MEMBER", Example: "f5:https://bigip.example#/Common/web/web01:80",
		Summary: "an F5 BIG-IP pool member's serverside.curConns: connections the balancer still has open to it (serverside.totConns + totRequests is the arrivals counter; #total=off: not read)",
		New:     newF5,
	})
}

// f5Source reads a BIG-IP pool member's serverside.curConns (the
// connections the balancer still has open to the server) from iControl
// REST's stats endpoint: f5:https://HOST#/PARTITION/POOL/MEMBER, with the
// credentials of the f5 rotation method (DRAIN_F5_USER/DRAIN_F5_PASSWORD,
// DRAIN_F5_TOKEN or DRAIN_F5_CREDENTIALS_FILE).
// Its total (the arrivals counter) is serverside.totConns + totRequests.
type f5Source struct {
	t       f5.Target
	client  *f5.Client
	opts    Options
	noTotal bool // #total=off
	lastTotal
}

func newF5(target string, opts Options) (Source, error) {
	target, what, has := cutTotal(target)
	if has && what != "arrivals" && what != "off" {
		return nil, fmt.Errorf("#total=%s: an f5 source's total is arrivals (serverside.totConns + totRequests, the default) or off", what)
	}
	t, err := f5.ParseTarget(target)
	if err != nil {
		return nil, err
	}
	creds, err := f5.LoadCredentials(nil)
	if err != nil {
		return nil, err
	}
	return &f5Source{t: t, client: &f5.Client{HTTP: opts.Client, Creds: creds}, opts: opts, noTotal: what == "off"}, nil
}

// Read returns serverside.curConns; an unreadable member is an error
// (unknown), never 0.
func (s *f5Source) Read(ctx context.Context) (float64, error) {
	if s.opts.ReadTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.opts.ReadTimeout)
		defer cancel()
	}
	st, err := s.client.MemberStats(ctx, s.t)
	if err != nil {
		return 0, fmt.Errorf("f5 %s/%s: %w", s.t.PoolPath(), s.t.Member, err)
	}
	if !s.noTotal {
		s.set(st.Arrivals, st.HasArrivals)
	}
	return finite(st.CurConns)
}
