package rotation

import (
	"fmt"

	"github.com/drain-cli/drain/internal/haproxy"
)

// checkUndo refuses HAProxy undo data that out could not have written for
// this target: an entry for another instance, backend or server, or a
// state before out that drain never records. In acts only on h.Servers
// (from the command line), but what a record says must not be taken for
// another server's state, nor shown as one.
func (h *HAProxy) checkUndo(u haUndo) error {
	for _, s := range u.HAProxy {
		switch s.Before {
		case haReady, haDrain, haMaint:
		default:
			return fmt.Errorf("%w: the record of %s says the state before out was %q, which drain never records: refusing it; remove the record from the state directory (in without a record puts the server back on every instance)", ErrConfig, h.Servers[0].name(), s.Before)
		}
		if !h.names(s) {
			return fmt.Errorf("%w: the record of %s names haproxy %q, which is not this target's server: refusing it; remove the record from the state directory (in without a record puts the server back on every instance)", ErrConfig, h.Servers[0].name(), s.Addr+"#"+s.Backend+"/"+s.Server)
		}
	}
	return nil
}

// names reports whether s is one of the method's servers: same backend and
// server, on the same instance as typed or as resolved.
func (h *HAProxy) names(s haServer) bool {
	a, err := haproxy.ParseAddr(s.Addr)
	for _, m := range h.Servers {
		if s.Backend != m.Backend || s.Server != m.Server {
			continue
		}
		if s.Addr == m.Addr.String() || err == nil && canonicalAddr(a) == canonicalAddr(m.Addr) {
			return true
		}
	}
	return false
}
