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
		Summary:  "Windows Network Load Balancing: the node drain-stopped (WMI MicrosoftNLB_Node.DrainStop, on this node or over DCOM on another), started on in",
		Settings: func() any { return &nlbSettings{DrainMinutes: 10} },
		New:      newNLB,
	})
}

// nlbNeedsWindows is false only on Windows; tests elsewhere lift it to run
// the same code against the stand-ins.
var nlbNeedsWindows = runtime.GOOS != "windows"

// NLB takes a node out of a Windows Network Load Balancing cluster: out
// drain-stops it (new connections go to the other nodes, existing ones
// finish, then NLB stops on the node), in starts it again. Both go through
// the NLB WMI provider (root\MicrosoftNLB, MicrosoftNLB_Node.DrainStop and
// Start, which the provider runs on its own host's node only): in process
// for this node, and for another host through Windows PowerShell
// connecting to that host's provider over DCOM (winps.NLBScript), where the
// node is local. DrainStop returns at once; drain's own wait follows. The
// node state is read back after each change. A host in two clusters is
// acted on in the cluster the target names (by IP or name), on the row
// that was read.
type NLB struct {
	Cluster string // optional: the cluster (name or IP) the node must be in
	Host    string // "" for this node
	// DrainMinutes is rotation.nlb.drain_minutes, still accepted: it
	// bounded Stop-NlbClusterNode -Drain, which drain no longer runs
	// (DrainStop does not stop on its own; drain's --timeout bounds the
	// wait).
	DrainMinutes int
	Timeout      time.Duration
	local        nlbLocal

	idMu        sync.Mutex
	readCluster string // the cluster as NLB names it, read by PoolID
}

// nlbLocal is this node's NLB through WMI (nlb_windows.go).
type nlbLocal interface {
	// nodes lists MicrosoftNLB_Node (every cluster this machine is in)
	// and this machine's computer name.
	nodes(ctx context.Context) (nodes []winps.NLBNode, self string, err error)
	// call runs DrainStop or Start on this machine's node whose
	// MicrosoftNLB_Node.Name is key and returns the provider's return
	// value (1000 WLBS_OK, 1001 WLBS_ALREADY, ...).
	call(ctx context.Context, method, key string) (uint32, error)
}

type nlbUndo struct {
	Host  string `json:"host"`
	State string `json:"state"`
}

// nlbIsLocal says whether host names this node for WMI in process: "."
// (or localhost). Any other name, this machine's own too, goes through
// Windows PowerShell to that host's own root\MicrosoftNLB over DCOM
// (winps.NLBScript), where the node is local to the provider. HOST is a
// computer name: the node is found by MicrosoftNLB_Node.ComputerName.
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
	host := n.Host
	var err error
	if n.local != nil {
		nodes, host, err = n.local.nodes(ctx)
	} else {
		var r winps.NLBResult
		r, err = winps.NLBRemote(ctx, n.Host, n.Cluster, "")
		nodes = r.Nodes
	}
	if err != nil {
		return nil, -1, fmt.Errorf("%s: %w", n.name(), err)
	}
	self := nlbFind(nodes, host, n.Cluster)
	return nodes, self, n.check(nodes, host, self)
}

func nlbShortName(s string) string { s, _, _ = strings.Cut(strings.ToLower(s), "."); return s }

// nlbFind is the index of host's node in cluster (IP or name; any when
// ""): -1 when there is none, -2 when host is in more than one cluster
// and the target names none.
func nlbFind(nodes []winps.NLBNode, host, cluster string) int {
	self := -1
	for i, nd := range nodes {
		if nlbShortName(nd.Name) == nlbShortName(host) && nd.InCluster(cluster) {
			if self >= 0 {
				return -2
			}
			self = i
		}
	}
	return self
}

// check makes an unknown node, another cluster or a host in two clusters
// a usage error naming what exists.
func (n *NLB) check(nodes []winps.NLBNode, host string, self int) error {
	if self >= 0 {
		return nil
	}
	var names, clusters []string
	for _, nd := range nodes {
		names = append(names, nd.Name)
		if nlbShortName(nd.Name) == nlbShortName(host) {
			clusters = append(clusters, nd.ClusterID())
		}
	}
	switch {
	case self == -2:
		return configErrorf("%s is in %d NLB clusters (%s): name one, e.g. nlb:%s#%s", n.name(), len(clusters), strings.Join(clusters, ", "), clusters[0], n.hostWord())
	case len(clusters) > 0:
		return configErrorf("%s is in NLB cluster %q, not %q", n.name(), strings.Join(clusters, ", "), n.Cluster)
	}
	return configErrorf("%s: not a node of the NLB cluster (nodes: %s)%s", n.name(), listOrNone(names), didYouMean(host, names))
}

func (n *NLB) hostWord() string {
	if n.Host == "" {
		return "."
	}
	return n.Host
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

// nlbAccepted says whether a DrainStop or Start return value means the
// call did its work, as the method pages list them: 1000 WLBS_OK, 1001
// WLBS_ALREADY; DrainStop also 1005 WLBS_STOPPED (it was stopped); Start
// also 1002 WLBS_DRAIN_STOP (the node was draining: the drain was
// interrupted and the node started, what `in` after a run usually meets
// while keep-alive connections linger). Anything else (1013
// WLBS_SUSPENDED, 1003 WLBS_BAD_PARAMS, ...) failed. The read-back that
// follows decides.
func nlbAccepted(op string, rc uint32) bool {
	switch rc {
	case 1000, 1001:
		return true
	case 1005:
		return op == "drainstop"
	case 1002:
		return op == "start"
	}
	return false
}

// change runs op ("drainstop" or "start") on the node read (self, for
// this node) or, on another host, in one PowerShell run that acts unless
// the node already is where it should be, and reads the state back. It
// says whether a method was called.
func (n *NLB) change(ctx context.Context, op string, want Status, nodes []winps.NLBNode, self int) (bool, error) {
	method := map[string]string{"drainstop": "DrainStop", "start": "Start"}[op]
	var rc uint32
	changed := true
	if n.local != nil {
		c, cancel := context.WithTimeout(ctx, n.Timeout)
		var err error
		rc, err = n.local.call(c, method, nodes[self].Key)
		cancel()
		if err != nil {
			return false, fmt.Errorf("%s: MicrosoftNLB_Node.%s: %w", n.name(), method, err)
		}
		if !nlbAccepted(op, rc) {
			return false, fmt.Errorf("%s: MicrosoftNLB_Node.%s returned %d (%s)", n.name(), method, rc, winps.NLBReturnName(rc))
		}
		var err2 error
		if nodes, self, err2 = n.read(ctx); err2 != nil {
			return true, err2
		}
	} else {
		c, cancel := context.WithTimeout(ctx, n.Timeout)
		r, err := winps.NLBRemote(c, n.Host, n.Cluster, op)
		cancel()
		if err != nil {
			return false, fmt.Errorf("%s: MicrosoftNLB_Node.%s over DCOM: %w", n.name(), method, err)
		}
		nodes, rc, changed = r.Nodes, r.RC, r.Changed
		self = nlbFind(nodes, n.Host, n.Cluster)
		if err := n.check(nodes, n.Host, self); err != nil {
			return false, err
		}
		if changed && !nlbAccepted(op, rc) {
			return false, fmt.Errorf("%s: MicrosoftNLB_Node.%s returned %d (%s)", n.name(), method, rc, winps.NLBReturnName(rc))
		}
	}
	if st, _ := nlbStatus(nodes[self].State); st != want {
		return changed, fmt.Errorf("%s: NLB did not take the change: the node is %s after %s", n.name(), nodes[self].State, op)
	}
	return changed, nil
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
	if _, err := n.change(ctx, "drainstop", Out, nodes, self); err != nil {
		return false, err
	}
	return true, nil
}

// In implements Method: start the node. The undo data holds the state
// before out, always one in rotation (out changes nothing otherwise), so
// In starts the node with or without a record. On another host that is
// one PowerShell run (start unless in rotation, then list), so that `in`
// after Ctrl-C fits the restore window.
func (n *NLB) In(ctx context.Context, undo json.RawMessage) (bool, error) {
	if len(undo) > 0 && string(undo) != "null" {
		var u nlbUndo
		if err := json.Unmarshal(undo, &u); err != nil {
			return false, configErrorf("nlb: unreadable undo record: %w", err)
		}
	}
	if n.local == nil {
		return n.change(ctx, "start", In, nil, -1)
	}
	nodes, self, err := n.read(ctx)
	if err != nil {
		return false, err
	}
	if st, _ := nlbStatus(nodes[self].State); st == In {
		return false, nil
	}
	return n.change(ctx, "start", In, nodes, self)
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
			n.readCluster = strings.ToLower(nodes[self].ClusterID())
		}
	}
	return "nlb:" + n.readCluster
}

// nlbSameCluster: by IP when both have one, else by name.
func nlbSameCluster(a, b winps.NLBNode) bool {
	if a.ClusterIP != "" && b.ClusterIP != "" {
		return a.ClusterIP == b.ClusterIP
	}
	return strings.EqualFold(a.Cluster, b.Cluster)
}

// Pool implements Pooler: the cluster's nodes. NLB has no health checks of
// its own: health is unknown, and a node is in rotation when converged
// (or converging).
func (n *NLB) Pool(ctx context.Context) (Pool, error) {
	nodes, self, err := n.read(ctx)
	if err != nil {
		return Pool{}, err
	}
	p := Pool{Name: nodes[self].ClusterID()}
	for i, nd := range nodes {
		if !nlbSameCluster(nd, nodes[self]) {
			continue // another cluster this host is in
		}
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
