package rotation

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/drain-cli/drain/internal/winps"
)

func init() {
	Register(Type{
		Name:     "nlb",
		Syntax:   "[CLUSTER#]HOST",
		Example:  "nlb:.",
		Summary:  "Windows Network Load Balancing: the node drain-stopped (WMI DrainStop on this node, Stop-NlbClusterNode -Drain on another), started on in",
		Settings: func() any { return &nlbSettings{DrainMinutes: 10} },
		New:      newNLB,
	})
}

// nlbNeedsWindows is false only on Windows; tests elsewhere lift it to run
// the same code against the stand-ins.
var nlbNeedsWindows = runtime.GOOS != "windows"

// NLB takes a node out of a Windows Network Load Balancing cluster: out
// drain-stops it (new connections go to the other nodes, existing ones
// finish, then NLB stops on the node), in starts it again. This node is
// driven through WMI (root\MicrosoftNLB, MicrosoftNLB_Node.DrainStop and
// Start: the provider runs them on the local node only); another host
// through the NetworkLoadBalancingClusters PowerShell module
// (Stop-NlbClusterNode -Drain, Start-NlbClusterNode), which returns once
// the node has drained. The node state is read back after each change.
type NLB struct {
	Cluster string // optional: the cluster (name or IP) the node must be in
	Host    string // "" for this node
	// DrainMinutes bounds Stop-NlbClusterNode -Drain (its -Timeout) on a
	// remote host: after it NLB stops the node anyway.
	DrainMinutes int
	Timeout      time.Duration
	local        nlbLocal

	idMu        sync.Mutex
	readCluster string // the cluster as NLB names it, read by PoolID
}

// nlbLocal is this node's NLB through WMI (nlb_windows.go).
type nlbLocal interface {
	// nodes lists MicrosoftNLB_Node; self is the index of this node's.
	nodes(ctx context.Context) (nodes []winps.NLBNode, self int, err error)
	// call runs DrainStop or Start on this node and returns the provider's
	// return value (1000 WLBS_OK, 1001 WLBS_ALREADY, ...).
	call(ctx context.Context, method string) (uint32, error)
}

type nlbUndo struct {
	Host  string `json:"host"`
	State string `json:"state"`
}

// nlbIsLocal says whether host names this node for WMI: "." (or
// localhost). Any other name, this machine's own too, goes through the
// NetworkLoadBalancingClusters cmdlets (-HostName), which work for the
// local host as well.
func nlbIsLocal(host string) bool {
	h := strings.ToLower(host)
	return h == "." || h == "localhost"
}

// nlbSettings is rotation: {nlb: {drain_minutes: N}}.
type nlbSettings struct {
	DrainMinutes int `setting:"drain_minutes"`
}

func newNLB(target string, opts Options) (Method, error) {
	n := &NLB{Timeout: max(opts.Timeout, 30*time.Second)}
	n.DrainMinutes = opts.Typed.(*nlbSettings).DrainMinutes
	if n.DrainMinutes < 1 || n.DrainMinutes > 1440 {
		return nil, configErrorf("config file rotation.nlb.drain_minutes: %v is not a whole number of minutes from 1 to 1440", n.DrainMinutes)
	}
	host := target
	if c, h, ok := strings.Cut(target, "#"); ok {
		n.Cluster, host = strings.TrimSpace(c), h
		if n.Cluster == "" {
			return nil, configErrorf("nlb:%s: empty cluster before #; want [CLUSTER#]HOST, e.g. nlb:. or nlb:web-cluster#web02", target)
		}
	}
	host = strings.TrimSpace(host)
	if host == "" || strings.ContainsAny(host, " \t#/\\") {
		return nil, configErrorf("nlb:%s: want [CLUSTER#]HOST (HOST . for this node), e.g. nlb:. or nlb:web-cluster#web02", target)
	}
	if !nlbIsLocal(host) {
		n.Host = host
	}
	if nlbNeedsWindows {
		return nil, configErrorf("nlb:%s needs Windows: it drives NLB through WMI and the NetworkLoadBalancingClusters PowerShell module (this is %s)", target, runtime.GOOS)
	}
	if n.Host == "" {
		n.local = newNLBLocal()
	}
	return n, nil
}

// Type implements Method.
func (n *NLB) Type() string { return "nlb" }

// Target implements Method: CLUSTER#HOST, lower case; "." for this node.
func (n *NLB) Target() string {
	h := n.Host
	if h == "" {
		h = "."
	}
	t := strings.ToLower(h)
	if n.Cluster != "" {
		t = strings.ToLower(n.Cluster) + "#" + t
	}
	return t
}

func (n *NLB) name() string {
	if n.Host == "" {
		return "nlb this node"
	}
	return "nlb " + n.Host
}

// read lists the cluster's nodes and finds the target's.
func (n *NLB) read(ctx context.Context) ([]winps.NLBNode, int, error) {
	ctx, cancel := context.WithTimeout(ctx, n.Timeout)
	defer cancel()
	var nodes []winps.NLBNode
	var self int
	var err error
	if n.local != nil {
		nodes, self, err = n.local.nodes(ctx)
	} else {
		nodes, err = winps.NLBRemote(ctx, n.Host, "", 0)
		self = nlbFind(nodes, n.Host)
	}
	if err != nil {
		return nil, -1, fmt.Errorf("%s: %w", n.name(), err)
	}
	return nodes, self, n.check(nodes, self)
}

func nlbFind(nodes []winps.NLBNode, host string) int {
	short := func(s string) string { s, _, _ = strings.Cut(strings.ToLower(s), "."); return s }
	for i, nd := range nodes {
		if short(nd.Name) == short(host) {
			return i
		}
	}
	return -1
}

// check makes an unknown node or another cluster a usage error naming
// what exists.
func (n *NLB) check(nodes []winps.NLBNode, self int) error {
	if self < 0 {
		names := make([]string, len(nodes))
		for i, nd := range nodes {
			names[i] = nd.Name
		}
		return configErrorf("%s: not a node of the NLB cluster (nodes: %s)%s", n.name(), listOrNone(names), didYouMean(n.Host, names))
	}
	if c := nodes[self].Cluster; n.Cluster != "" && !strings.EqualFold(c, n.Cluster) {
		return configErrorf("%s is in NLB cluster %q, not %q", n.name(), c, n.Cluster)
	}
	return nil
}

func nlbStatus(state string) (Status, error) {
	switch state {
	case winps.NLBConverged, winps.NLBConverging:
		return In, nil
	case winps.NLBDraining, winps.NLBStopped, winps.NLBSuspended:
		return Out, nil
	}
	return Unknown, fmt.Errorf("NLB node state %q is not one drain knows", state)
}

// Status implements Method: IN when converged or converging, OUT when
// draining, stopped or suspended.
func (n *NLB) Status(ctx context.Context) (Status, error) {
	nodes, self, err := n.read(ctx)
	if err != nil {
		return Unknown, err
	}
	st, err := nlbStatus(nodes[self].State)
	if err != nil {
		return st, fmt.Errorf("%s: %w", n.name(), err)
	}
	return st, nil
}

// change runs op ("drainstop" or "start") and reads the state back.
func (n *NLB) change(ctx context.Context, op string, want Status) error {
	var nodes []winps.NLBNode
	var self int
	if n.local != nil {
		method := map[string]string{"drainstop": "DrainStop", "start": "Start"}[op]
		c, cancel := context.WithTimeout(ctx, n.Timeout)
		rc, err := n.local.call(c, method)
		cancel()
		if err != nil {
			return fmt.Errorf("%s: MicrosoftNLB_Node.%s: %w", n.name(), method, err)
		}
		// 1000 WLBS_OK, 1001 WLBS_ALREADY; DrainStop also 1005 WLBS_STOPPED
		// (it was stopped). Anything else (1013 WLBS_SUSPENDED, ...) failed.
		if rc != 1000 && rc != 1001 && (op != "drainstop" || rc != 1005) {
			return fmt.Errorf("%s: MicrosoftNLB_Node.%s returned %d (%s)", n.name(), method, rc, nlbReturnName(rc))
		}
		var err2 error
		if nodes, self, err2 = n.read(ctx); err2 != nil {
			return err2
		}
	} else {
		c, cancel := context.WithTimeout(ctx, n.Timeout+time.Duration(n.DrainMinutes)*time.Minute)
		var err error
		nodes, err = winps.NLBRemote(c, n.Host, op, n.DrainMinutes)
		cancel()
		if err != nil {
			return fmt.Errorf("%s: %s: %w", n.name(), map[string]string{"drainstop": "Stop-NlbClusterNode -Drain", "start": "Start-NlbClusterNode"}[op], err)
		}
		if self = nlbFind(nodes, n.Host); self < 0 {
			return n.check(nodes, self)
		}
	}
	if st, _ := nlbStatus(nodes[self].State); st != want {
		return fmt.Errorf("%s: NLB did not take the change: the node is %s after %s", n.name(), nodes[self].State, op)
	}
	return nil
}

func nlbReturnName(rc uint32) string {
	names := map[uint32]string{
		1000: "WLBS_OK", 1001: "WLBS_ALREADY", 1002: "WLBS_DRAIN_STOP", 1003: "WLBS_BAD_PARAMS",
		1004: "WLBS_NOT_FOUND", 1005: "WLBS_STOPPED", 1006: "WLBS_CONVERGING", 1007: "WLBS_CONVERGED", 1008: "WLBS_DEFAULT",
		1009: "WLBS_DRAINING", 1013: "WLBS_SUSPENDED", 1014: "WLBS_MEDIA_DISCONNECTED", 1050: "WLBS_REBOOT",
	}
	if s, ok := names[rc]; ok {
		return s
	}
	return "unknown"
}

// Out implements Method: drain-stop the node unless it is already out.
func (n *NLB) Out(ctx context.Context, save func(undo any) error) (bool, error) {
	nodes, self, err := n.read(ctx)
	if err != nil {
		return false, err
	}
	st, err := nlbStatus(nodes[self].State)
	if err != nil {
		return false, fmt.Errorf("%s: %w", n.name(), err)
	}
	if st == Out {
		return false, nil
	}
	if err := save(nlbUndo{Host: nodes[self].Name, State: nodes[self].State}); err != nil {
		return false, err
	}
	if err := n.change(ctx, "drainstop", Out); err != nil {
		return false, err
	}
	return true, nil
}

// In implements Method: start the node. The undo data holds the state
// before out, always one in rotation (out changes nothing otherwise), so
// In starts the node with or without a record.
func (n *NLB) In(ctx context.Context, undo json.RawMessage) (bool, error) {
	if len(undo) > 0 && string(undo) != "null" {
		var u nlbUndo
		if err := json.Unmarshal(undo, &u); err != nil {
			return false, configErrorf("nlb: unreadable undo record: %w", err)
		}
	}
	nodes, self, err := n.read(ctx)
	if err != nil {
		return false, err
	}
	if st, _ := nlbStatus(nodes[self].State); st == In {
		return false, nil
	}
	if err := n.change(ctx, "start", In); err != nil {
		return false, err
	}
	return true, nil
}

// PoolID implements the pool identity (budget locks and etcd records): the
// NLB cluster, not the node, e.g. "nlb:web-cluster". A target without
// CLUSTER# (nlb:. on each node) has its cluster read from NLB once (bounded
// by the method's timeout); when that read fails the ID is "nlb:", one lock
// for every such drain: slower, never two in one pool at once.
func (n *NLB) PoolID() string {
	if n.Cluster != "" {
		return "nlb:" + strings.ToLower(n.Cluster)
	}
	n.idMu.Lock()
	defer n.idMu.Unlock()
	if n.readCluster == "" {
		if nodes, self, err := n.read(context.Background()); err == nil {
			n.readCluster = strings.ToLower(nodes[self].Cluster)
		}
	}
	return "nlb:" + n.readCluster
}

// Pool implements Pooler: the cluster's nodes. NLB has no health checks of
// its own: health is unknown, and a node is in rotation when converged
// (or converging).
func (n *NLB) Pool(ctx context.Context) (Pool, error) {
	nodes, self, err := n.read(ctx)
	if err != nil {
		return Pool{}, err
	}
	p := Pool{Name: nodes[self].Cluster}
	for i, nd := range nodes {
		m := Member{Name: nd.Name, Health: HealthUnknown, Self: i == self, Detail: nd.Detail}
		switch nd.State {
		case winps.NLBConverged, winps.NLBConverging:
			m.Admin = AdminEnabled
		case winps.NLBDraining:
			m.Admin = AdminDrain
		default:
			m.Admin = AdminDisabled
		}
		m.InRotation = winps.NLBInRotation(nd.State)
		p.Members = append(p.Members, m)
	}
	return p, nil
}
