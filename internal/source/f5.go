package source

import (
	"context"
	"fmt"

	"github.com/drain-cli/drain/internal/f5"
)

func init() {
	Register(Type{
		Name: "f5", Syntax: "https://HOST#/PARTITION/POOL/MEMBER", Example: "f5:https://bigip.example#/Common/web/web01:80",
		Summary: "an F5 BIG-IP pool member's serverside.curConns: connections the balancer still has open to it",
		New:     newF5,
	})
}

// f5Source reads a BIG-IP pool member's serverside.curConns (the
// connections the balancer still has open to the server) from iControl
// REST's stats endpoint: f5:https://HOST#/PARTITION/POOL/MEMBER, with the
// credentials of the f5 rotation method (DRAIN_F5_USER/DRAIN_F5_PASSWORD,
// DRAIN_F5_TOKEN or DRAIN_F5_CREDENTIALS_FILE).
type f5Source struct {
	t      f5.Target
	client *f5.Client
	opts   Options
}

func newF5(target string, opts Options) (Source, error) {
	t, err := f5.ParseTarget(target)
	if err != nil {
		return nil, err
	}
	creds, err := f5.LoadCredentials(nil)
	if err != nil {
		return nil, err
	}
	return &f5Source{t: t, client: &f5.Client{HTTP: opts.Client, Creds: creds}, opts: opts}, nil
}

// Read returns serverside.curConns; an unreadable member is an error
// (unknown), never 0.
func (s *f5Source) Read(ctx context.Context) (float64, error) {
	if s.opts.ReadTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.opts.ReadTimeout)
		defer cancel()
	}
	v, err := s.client.CurConns(ctx, s.t)
	if err != nil {
		return 0, fmt.Errorf("f5 %s/%s: %w", s.t.PoolPath(), s.t.Member, err)
	}
	return finite(v)
}
