package rotation

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/drain-cli/drain/internal/winps"
	"github.com/drain-cli/drain/internal/winps/winpstest"
)

func nlbCluster() winpstest.State {
	// As Get-NlbClusterNode shows them (learn.microsoft.com, get-nlbclusternode).
	return winpstest.State{NLB: winpstest.NLB{Nodes: []winps.NLBNode{
		{Name: "web01", Cluster: "webfarm", ClusterIP: "10.0.0.100", HostID: 1, State: "Converged(default)"},
		{Name: "web02", Cluster: "webfarm", ClusterIP: "10.0.0.100", HostID: 2, State: "Converged"},
		{Name: "web03", Cluster: "webfarm", ClusterIP: "10.0.0.100", HostID: 3, State: "Stopped"},
	}}}
}

func nlbState(t *testing.T, path, node string) string {
	t.Helper()
	for _, n := range winpstest.Load(t, path).NLB.Nodes {
		if n.Name == node {
			return n.State
		}
	}
	t.Fatalf("no node %s", node)
	return ""
}

func TestNLBRemoteOutIn(t *testing.T) {
	liftWindows(t)
	path := winpstest.Install(t, nlbCluster())
	ctx := context.Background()
	m, err := NewMethod("nlb:WebFarm#WEB02.corp.example", Options{Settings: map[string]any{"drain_minutes": 3.0}})
	if err != nil {
		t.Fatal(err)
	}
	if Key(m) != "nlb:webfarm#web02.corp.example" || m.(*NLB).DrainMinutes != 3 {
		t.Errorf("key %s, %+v", Key(m), m)
	}
	if st, err := m.Status(ctx); st != In || err != nil {
		t.Fatalf("status: %s %v", st, err)
	}
	var saved []byte
	changed, err := m.Out(ctx, func(u any) error {
		if s := nlbState(t, path, "web02"); s != "Converged" {
			t.Errorf("changed before save: %s", s)
		}
		saved, err = json.Marshal(u)
		return err
	})
	if !changed || err != nil {
		t.Fatalf("out: %v %v", changed, err)
	}
	// DrainStop returns at once: the node drains (drain's own wait
	// follows), no -Timeout that could cut connections.
	if s := nlbState(t, path, "web02"); s != "Draining" {
		t.Fatalf("web02 %s after out", s)
	}
	if s := nlbState(t, path, "web01"); s != "Converged(default)" {
		t.Fatalf("web01 %s", s)
	}
	if string(saved) != `{"host":"web02","state":"converged"}` {
		t.Errorf("undo %s", saved)
	}
	if st, err := m.Status(ctx); st != Out || err != nil {
		t.Fatalf("status: %s %v", st, err)
	}
	if changed, err := m.Out(ctx, func(any) error { t.Error("save"); return nil }); changed || err != nil {
		t.Fatalf("second out %v %v", changed, err)
	}
	// in while the node still drains: Start answers WLBS_DRAIN_STOP (1002),
	// the node is back; one PowerShell run.
	before := winpstest.Load(t, path).Calls["nlb"]
	if changed, err := m.In(ctx, saved); !changed || err != nil {
		t.Fatalf("in %v %v", changed, err)
	}
	if s := nlbState(t, path, "web02"); s != "Converged" {
		t.Fatalf("web02 %s after in", s)
	}
	if n := winpstest.Load(t, path).Calls["nlb"] - before; n != 1 {
		t.Errorf("in started PowerShell %d times, want 1 (the 3 s restore window)", n)
	}
	if changed, err := m.In(ctx, nil); changed || err != nil {
		t.Fatalf("second in %v %v", changed, err)
	}
	calls := winpstest.Load(t, path).Calls
	if calls["nlb drainstop"] != 1 || calls["nlb start"] != 1 {
		t.Errorf("calls %v", calls)
	}
}

func TestNLBRemotePool(t *testing.T) {
	liftWindows(t)
	winpstest.Install(t, nlbCluster())
	m, err := NewMethod("nlb:web03", Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.(Pooler).Pool(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(p)
	want := `{"name":"webfarm","members":[` +
		`{"name":"web01","admin":"enabled","health":"unknown","in_rotation":true,"detail":"StatusCode 1008 (WLBS_DEFAULT)"},` +
		`{"name":"web02","admin":"enabled","health":"unknown","in_rotation":true,"detail":"StatusCode 1007 (WLBS_CONVERGED)"},` +
		`{"name":"web03","admin":"disabled","health":"unknown","in_rotation":false,"self":true,"detail":"StatusCode 1005 (WLBS_STOPPED)"}]}`
	if string(b) != want {
		t.Errorf("pool\n got %s\nwant %s", b, want)
	}
}

func TestNLBRemoteFaults(t *testing.T) {
	liftWindows(t)
	ctx := context.Background()
	t.Run("other cluster", func(t *testing.T) {
		path := winpstest.Install(t, nlbCluster())
		m, _ := NewMethod("nlb:appfarm#web02", Options{})
		_, err := m.Out(ctx, func(any) error { t.Error("save"); return nil })
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), `nlb web02 is in NLB cluster "webfarm", not "appfarm"`) {
			t.Fatalf("%v", err)
		}
		if winpstest.Load(t, path).Calls["nlb drainstop"] != 0 {
			t.Error("changed")
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		path := winpstest.Install(t, nlbCluster())
		m, _ := NewMethod("nlb:web09", Options{})
		_, err := m.Out(ctx, func(any) error { t.Error("save"); return nil })
		if err == nil || errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "nlb web09: powershell: The RPC server is unavailable") {
			t.Fatalf("%v", err)
		}
		if st, err := m.Status(ctx); st != Unknown || err == nil {
			t.Fatalf("status %s %v", st, err)
		}
		if winpstest.Load(t, path).Calls["nlb drainstop"] != 0 {
			t.Error("changed")
		}
	})
	t.Run("refused", func(t *testing.T) {
		st := nlbCluster()
		st.NLB.Error = "Access is denied. (Exception from HRESULT: 0x80070005 (E_ACCESSDENIED))"
		winpstest.Install(t, st)
		m, _ := NewMethod("nlb:web02", Options{})
		if _, err := m.Out(ctx, func(any) error { return nil }); err == nil || !strings.Contains(err.Error(), "Access is denied") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("not taken", func(t *testing.T) {
		st := nlbCluster()
		st.NLB.IgnoreSet = true
		path := winpstest.Install(t, st)
		m, _ := NewMethod("nlb:web02", Options{})
		_, err := m.Out(ctx, func(any) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "NLB did not take the change: the node is converged after drainstop") {
			t.Fatalf("%v", err)
		}
		if s, err := m.Status(ctx); s != In || err != nil {
			t.Fatalf("status %s %v", s, err)
		}
		if nlbState(t, path, "web02") != "Converged" {
			t.Error("changed")
		}
	})
}

// A host in two clusters, reached over DCOM: the target's cluster, by name
// or by IP, picks the node; without one drain refuses.
func TestNLBRemoteTwoClusters(t *testing.T) {
	liftWindows(t)
	ctx := context.Background()
	st := nlbCluster()
	st.NLB.Nodes = append(st.NLB.Nodes, winps.NLBNode{Name: "web02", Cluster: "appfarm", ClusterIP: "10.0.1.100", HostID: 4, State: "Converged"})
	path := winpstest.Install(t, st)
	for _, spec := range []string{"nlb:appfarm#web02", "nlb:10.0.1.100#web02"} {
		m, err := NewMethod(spec, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if changed, err := m.Out(ctx, func(any) error { return nil }); !changed || err != nil {
			t.Fatalf("%s: out %v %v", spec, changed, err)
		}
		nodes := winpstest.Load(t, path).NLB.Nodes
		if nodes[3].State != "Draining" || nodes[1].State != "Converged" {
			t.Fatalf("%s: appfarm %s, webfarm %s", spec, nodes[3].State, nodes[1].State)
		}
		if changed, err := m.In(ctx, nil); !changed || err != nil {
			t.Fatalf("%s: in %v %v", spec, changed, err)
		}
	}
	m, _ := NewMethod("nlb:web02", Options{})
	if _, err := m.Out(ctx, func(any) error { t.Error("save"); return nil }); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "is in 2 NLB clusters (webfarm, appfarm)") {
		t.Fatalf("%v", err)
	}
}

func TestNLBBadInput(t *testing.T) {
	liftWindows(t)
	for spec, want := range map[string]string{
		"nlb:#web02":    "empty cluster before #",
		"nlb:c#":        "want [CLUSTER#]HOST",
		"nlb:a b":       "want [CLUSTER#]HOST",
		"nlb:c#d#e":     "want [CLUSTER#]HOST",
		"nlb:\\\\web02": "want [CLUSTER#]HOST",
	} {
		_, err := NewMethod(spec, Options{})
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", spec, err, want)
		}
	}
	for v, want := range map[any]string{0.0: "not a whole number", 2.5: "not a whole number", "10": "not a whole number", 5000.0: "from 1 to 1440"} {
		_, err := NewMethod("nlb:web02", Options{Settings: map[string]any{"drain_minutes": v}})
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), want) {
			t.Errorf("drain_minutes %v: %v", v, err)
		}
	}
	_, err := NewMethod("nlb:web02", Options{Settings: map[string]any{"drain_minute": 5}})
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "did you mean drain_minutes?") {
		t.Errorf("%v", err)
	}
	if m, err := NewMethod("nlb:web02", Options{Settings: map[string]any{"drain_minutes": 7}}); err != nil || m.(*NLB).DrainMinutes != 7 {
		t.Errorf("int setting: %v", err)
	}
}

func TestNLBNeedsWindows(t *testing.T) {
	n := nlbNeedsWindows
	nlbNeedsWindows = true
	defer func() { nlbNeedsWindows = n }()
	_, err := NewMethod("nlb:.", Options{})
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "needs Windows") {
		t.Fatalf("%v", err)
	}
}

// fakeWMI plays MicrosoftNLB_Node on this node as the provider documents
// it: DrainStop returns 1000 (WLBS_OK) and leaves the node draining
// (1009), 1001 when already stopped; Start returns 1000 and the node
// converges (1007), or 1002 (WLBS_DRAIN_STOP) when it was draining
// (microsoftnlb-node-start). rc, when set, is returned instead (1013
// WLBS_SUSPENDED: a suspended node refuses both). This machine ("me") may
// be in two clusters (other: the second one's row, with its own state).
type fakeWMI struct {
	code  uint32
	rc    uint32
	calls []string
	err   error
	two   bool
	other uint32
}

func (f *fakeWMI) nodes(context.Context) ([]winps.NLBNode, string, error) {
	if f.err != nil {
		return nil, "", f.err
	}
	nodes := []winps.NLBNode{
		{Name: "other", Cluster: "web-cluster", ClusterIP: "10.0.0.100", Key: "10.0.0.100:1", HostID: 1, State: winps.NLBConverged},
		{Name: "me", Cluster: "web-cluster", ClusterIP: "10.0.0.100", Key: "10.0.0.100:2", HostID: 2, State: winps.NLBStatusCode(f.code)},
	}
	if f.two {
		nodes = append(nodes, winps.NLBNode{Name: "ME.corp.example", Cluster: "app-cluster", ClusterIP: "10.0.1.100", Key: "10.0.1.100:5", HostID: 5, State: winps.NLBStatusCode(f.other)})
	}
	return nodes, "me", nil
}

func (f *fakeWMI) call(_ context.Context, method, key string) (uint32, error) {
	f.calls = append(f.calls, method+" "+key)
	if f.rc != 0 {
		return f.rc, nil
	}
	code := &f.code
	if key == "10.0.1.100:5" {
		code = &f.other
	}
	switch method {
	case "DrainStop":
		if *code == 1005 {
			return 1001, nil
		}
		*code = 1009
	case "Start":
		// Start on a draining node interrupts the drain: WLBS_DRAIN_STOP.
		was := *code
		*code = 1007
		if was == 1009 {
			return 1002, nil
		}
	}
	return 1000, nil
}

func TestNLBLocalWMIPath(t *testing.T) {
	liftWindows(t)
	ctx := context.Background()
	f := &fakeWMI{code: 1008}
	n := &NLB{Cluster: "10.0.0.100", Timeout: 5e9, local: f}
	if Key(n) != "nlb:10.0.0.100#." {
		t.Errorf("key %s", Key(n))
	}
	if changed, err := n.Out(ctx, func(any) error { return nil }); !changed || err != nil {
		t.Fatalf("out %v %v", changed, err)
	}
	if st, err := n.Status(ctx); st != Out || err != nil {
		t.Fatalf("status %s %v", st, err)
	}
	// The node is still draining (keep-alive connections): Start answers
	// WLBS_DRAIN_STOP, and the node is back.
	if changed, err := n.In(ctx, nil); !changed || err != nil {
		t.Fatalf("in %v %v", changed, err)
	}
	if strings.Join(f.calls, ",") != "DrainStop 10.0.0.100:2,Start 10.0.0.100:2" {
		t.Errorf("calls %v", f.calls)
	}
	f.rc = 1013
	_, err := n.Out(ctx, func(any) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "MicrosoftNLB_Node.DrainStop returned 1013 (WLBS_SUSPENDED)") {
		t.Fatalf("%v", err)
	}
	f.rc = 1002 // not a DrainStop answer
	if _, err := n.Out(ctx, func(any) error { return nil }); err == nil || !strings.Contains(err.Error(), "returned 1002 (WLBS_DRAIN_STOP)") {
		t.Fatalf("%v", err)
	}
	n.Cluster = "10.9.9.9"
	if _, err := n.Status(ctx); !errors.Is(err, ErrConfig) {
		t.Fatalf("%v", err)
	}
}

// A host in two NLB clusters: the target's cluster (IP or name) picks the
// row, DrainStop runs on that row, and without a cluster drain refuses.
func TestNLBLocalTwoClusters(t *testing.T) {
	liftWindows(t)
	ctx := context.Background()
	for _, c := range []string{"app-cluster", "10.0.1.100"} {
		f := &fakeWMI{code: 1007, two: true, other: 1007}
		m, err := NewMethod("nlb:"+c+"#.", Options{})
		if err != nil {
			t.Fatal(err)
		}
		n := m.(*NLB)
		n.local = f
		if changed, err := n.Out(ctx, func(any) error { return nil }); !changed || err != nil {
			t.Fatalf("%s: out %v %v", c, changed, err)
		}
		if f.other != 1009 || f.code != 1007 {
			t.Errorf("%s: app-cluster node %d, web-cluster node %d: the wrong row was drain-stopped", c, f.other, f.code)
		}
		if p, err := n.Pool(ctx); err != nil || p.Name != "app-cluster" || len(p.Members) != 1 {
			t.Errorf("%s: pool %+v %v", c, p, err)
		}
	}
	f := &fakeWMI{code: 1007, two: true, other: 1007}
	n := &NLB{Timeout: 5e9, local: f}
	_, err := n.Out(ctx, func(any) error { t.Error("save"); return nil })
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "nlb this node is in 2 NLB clusters (web-cluster, app-cluster): name one, e.g. nlb:web-cluster#.") {
		t.Fatalf("%v", err)
	}
	if len(f.calls) != 0 {
		t.Errorf("calls %v", f.calls)
	}
}

func TestNLBStatusCodes(t *testing.T) {
	for code, want := range map[uint32]string{1005: "stopped", 1006: "converging", 1007: "converged", 1008: "converged", 1009: "draining", 1013: "suspended", 1000: "unknown"} {
		if got := winps.NLBStatusCode(code); got != want {
			t.Errorf("%d: %s, want %s", code, got, want)
		}
	}
}

// On Windows (and under Wine, where WMI has no root\MicrosoftNLB) the
// real WMI path runs: without NLB it must fail clearly, naming the
// namespace and the fix, before anything changes. (Windows answers
// WBEM_E_INVALID_NAMESPACE, a usage error; Wine's automation layer a
// DISP_E_TYPEMISMATCH from ConnectServer, exit 1.)
func TestNLBLocalWithoutNLB(t *testing.T) {
	if runtime.GOOS != "windows" {
		t.Skip("WMI exists only on Windows; TestNLBNeedsWindows covers the refusal here")
	}
	if os.Getenv("DRAIN_REAL_NLB") != "" {
		t.Skip("this machine has NLB (DRAIN_REAL_NLB): scripts/windows/real-nlb.ps1 drives it")
	}
	m, err := NewMethod("nlb:.", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := m.Status(context.Background()); st != Unknown || err == nil || !strings.Contains(err.Error(), `root\MicrosoftNLB`) {
		t.Fatalf("status %s %v", st, err)
	}
	changed, err := m.Out(context.Background(), func(any) error { t.Error("save called"); return nil })
	if changed || err == nil || !strings.Contains(err.Error(), `root\MicrosoftNLB`) || !strings.Contains(err.Error(), "Install-WindowsFeature NLB") {
		t.Fatalf("out %v %v", changed, err)
	}
	t.Log(err)
}
