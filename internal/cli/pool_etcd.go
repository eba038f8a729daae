package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/drain-cli/drain/internal/etcdlock"
	"github.com/drain-cli/drain/internal/rotation"
)

// The pool view's etcd side: with --lock etcd:URL, who took each server out
// comes from the records drains on every machine keep in etcd (the budget's
// pool lock writes them): /drain/pools/<pool>/out/<server>, the pool named
// as the pool locks name it (haproxy:unix:/run/haproxy/admin.sock#web,
// path-escaped), the value one JSON object. Read through etcd's v3 JSON
// gateway (POST /v3/kv/range, keys and values base64), net/http only.
//
// This reader and the budget's etcd client (internal/etcdlock) agree on the
// key layout and etcdOut's JSON; when both are on main this one can use that
// client.

// etcdOut is one out record in etcd, as the budget writes it.
type etcdOut struct {
	Server  string    `json:"server"`
	Target  string    `json:"target,omitempty"`
	By      string    `json:"by,omitempty"`
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Command string    `json:"command,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	Since   time.Time `json:"since"`
}

// poolID names the pool as the pool locks do, "" when the view cannot.
func poolID(v rotation.PoolView) string {
	if p, ok := v.(interface{ PoolID() string }); ok {
		return p.PoolID()
	}
	return ""
}

// etcdOuts reads the out records of pool, by server name, through the
// budget's own etcd client (the first endpoint that answers).
func etcdOuts(ctx context.Context, c *http.Client, endpoints []string, pool string) (map[string]etcdOut, error) {
	prefix := etcdlock.PoolKey(pool) + "/out/"
	kvs, err := (&etcdlock.Client{Endpoints: endpoints, HTTP: c}).List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := map[string]etcdOut{}
	for k, v := range kvs {
		var o etcdOut
		if err := json.Unmarshal([]byte(v), &o); err != nil {
			return nil, fmt.Errorf("etcd %s: unreadable out record: %w", k, err)
		}
		if o.Server == "" {
			o.Server, _ = url.PathUnescape(strings.TrimPrefix(k, prefix))
		}
		out[o.Server] = o
	}
	return out, nil
}

// changeFromEtcd is the DRAIN column of a server with an out record in etcd.
func changeFromEtcd(o etcdOut) *poolChange {
	by := o.By
	if by == "" {
		by = o.Host
	}
	return &poolChange{From: "etcd", By: by, Since: o.Since, Why: o.Reason, Command: o.Command, PID: o.PID, Record: o.Target}
}
