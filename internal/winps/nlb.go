package winps

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// NLB node states, as drain words them: a node in rotation takes its share
// of new connections.
const (
	NLBConverged  = "converged"  // in rotation
	NLBConverging = "converging" // joining: in rotation once converged
	NLBDraining   = "draining"   // out: existing connections finish, then it stops
	NLBStopped    = "stopped"    // out
	NLBSuspended  = "suspended"  // out: cluster control suspended too
	NLBUnknown    = "unknown"
)

// NLBStatusCode maps MicrosoftNLB_Node.StatusCode (the NLB provider's
// "standard return values", learn.microsoft.com/previous-versions/windows/
// desktop/wlbsprov/standard-return-values) to a state: 1005 WLBS_STOPPED,
// 1006 WLBS_CONVERGING, 1007 WLBS_CONVERGED, 1008 WLBS_DEFAULT (converged
// as the default host), 1009 WLBS_DRAINING, 1013 WLBS_SUSPENDED. (Not 1008
// converged / 1009 converging / 1013 draining, as sometimes quoted.)
func NLBStatusCode(code uint32) string {
	switch code {
	case 1005:
		return NLBStopped
	case 1006:
		return NLBConverging
	case 1007, 1008:
		return NLBConverged
	case 1009:
		return NLBDraining
	case 1013:
		return NLBSuspended
	}
	return NLBUnknown
}

// NLBStateWord maps the State of a Get-NlbClusterNode node ("Converged",
// "Converged(default)", "Converging", "Draining", "Stopped", "Suspended")
// to a state.
func NLBStateWord(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	switch {
	case strings.HasPrefix(s, "converging"):
		return NLBConverging
	case strings.HasPrefix(s, "converged"), s == "default":
		return NLBConverged
	case strings.HasPrefix(s, "drain"):
		return NLBDraining
	case strings.HasPrefix(s, "stopped"):
		return NLBStopped
	case strings.HasPrefix(s, "suspended"):
		return NLBSuspended
	}
	return NLBUnknown
}

// NLBInRotation says whether a node in state takes new connections.
func NLBInRotation(state string) bool { return state == NLBConverged || state == NLBConverging }

// NLBNode is one node of an NLB cluster, as the host asked sees it.
type NLBNode struct {
	Name      string `json:"name"`                // computer name
	Cluster   string `json:"cluster"`             // cluster name (MicrosoftNLB_ClusterSetting.ClusterName), "" when unknown
	ClusterIP string `json:"clusterIp,omitempty"` // cluster IP address
	Key       string `json:"key,omitempty"`       // MicrosoftNLB_Node.Name: "CLUSTER_IP:HOST_ID"
	HostID    int    `json:"hostId"`
	State     string `json:"state"` // one of the NLB* words
	Detail    string `json:"detail,omitempty"`
}

// InCluster says whether the node is in cluster c, named by its name or
// its IP address (without case).
func (n NLBNode) InCluster(c string) bool {
	return c == "" || strings.EqualFold(c, n.Cluster) || (n.ClusterIP != "" && strings.EqualFold(c, n.ClusterIP))
}

// ClusterID is how drain names the node's cluster: its name, else its IP.
func (n NLBNode) ClusterID() string {
	if n.Cluster != "" {
		return n.Cluster
	}
	return n.ClusterIP
}

// NLBScript drives the NLB WMI provider of host DRAIN_PS_HOST over DCOM
// (Get-WmiObject -ComputerName, as the provider's "Enumerating Remote
// Nodes" sample connects to another host's root\MicrosoftNLB). There the
// host's own node is local, so its MicrosoftNLB_Node.DrainStop and Start
// work: the provider refuses them on a node that is remote to the host it
// runs on. It lists the nodes that host sees (all its clusters), with the
// cluster names from MicrosoftNLB_ClusterSetting; the host's node is the
// row whose ComputerName is the host's (short name) in cluster
// DRAIN_PS_CLUSTER (IP or name; any when empty). When DRAIN_PS_OP is
// "drainstop" and that one node is in rotation (StatusCode 1006-1008), it
// calls DrainStop, which returns at once and leaves the node draining
// (drain's own wait follows); when "start" and the node is out of rotation,
// Start; then it lists again. "rc" is the method's return value (0 when
// none was called), "changed" whether one was. No NetworkLoadBalancingClusters
// cmdlet: Stop-NlbClusterNode -Drain blocks until drained and its -Timeout
// is in seconds in Microsoft's help (minutes were passed before), and
// Get-NlbClusterNode objects have no HostID.
const NLBScript = `$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
try {
  [Console]::OutputEncoding = New-Object Text.UTF8Encoding $false
  $h = [string]$env:DRAIN_PS_HOST
  $short = $h.Split('.')[0]
  $want = [string]$env:DRAIN_PS_CLUSTER
  $ns = @{ Namespace = 'root\MicrosoftNLB'; ComputerName = $h }
  $names = @{}
  foreach ($c in @(Get-WmiObject @ns -Class MicrosoftNLB_ClusterSetting)) { $names[([string]$c.Name).Split(':')[0]] = [string]$c.ClusterName }
  $rows = @(Get-WmiObject @ns -Class MicrosoftNLB_Node)
  $mine = @()
  foreach ($r in $rows) {
    $ip = ([string]$r.Name).Split(':')[0]
    if (([string]$r.ComputerName).Split('.')[0] -eq $short -and ($want -eq '' -or $ip -eq $want -or [string]$names[$ip] -eq $want)) { $mine += $r }
  }
  $rc = 0
  $changed = $false
  if ($env:DRAIN_PS_OP -and $mine.Count -eq 1) {
    $in = ([int]$mine[0].StatusCode) -in 1006, 1007, 1008
    if ($env:DRAIN_PS_OP -eq 'drainstop' -and $in) { $rc = [int]$mine[0].DrainStop().ReturnValue; $changed = $true }
    elseif ($env:DRAIN_PS_OP -eq 'start' -and -not $in) { $rc = [int]$mine[0].Start().ReturnValue; $changed = $true }
    if ($changed) { $rows = @(Get-WmiObject @ns -Class MicrosoftNLB_Node) }
  }
  $nodes = @(foreach ($r in $rows) {
    $ip, $id = ([string]$r.Name).Split(':')
    @{ name = [string]$r.ComputerName; key = [string]$r.Name; clusterIp = [string]$ip; cluster = [string]$names[$ip]; hostId = [int]$id; statusCode = [int]$r.StatusCode } })
  ConvertTo-Json -Compress -Depth 4 -InputObject @{ nodes = $nodes; rc = $rc; changed = $changed }
} catch { [Console]::Error.WriteLine(($_.Exception.Message -replace '\s+', ' ')); exit 1 }
`

// NLBResult is what NLBScript answers: the nodes host sees and, when an
// operation was asked, the method's return value and whether it was
// called.
type NLBResult struct {
	Nodes   []NLBNode
	RC      uint32
	Changed bool
}

// NLBRemote runs NLBScript against host: op is "" (list), "drainstop" or
// "start"; cluster (IP or name, "" for any) picks the host's node.
func NLBRemote(ctx context.Context, host, cluster, op string) (NLBResult, error) {
	out, err := Run(ctx, NLBScript, map[string]string{"HOST": host, "CLUSTER": cluster, "OP": op})
	if err != nil {
		return NLBResult{}, err
	}
	var doc struct {
		Nodes oneOrMany[struct {
			NLBNode
			StatusCode uint32 `json:"statusCode"`
		}] `json:"nodes"`
		RC      uint32 `json:"rc"`
		Changed bool   `json:"changed"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return NLBResult{}, fmt.Errorf("%w: NLB listing is not the JSON expected: %w", ErrScript, err)
	}
	r := NLBResult{RC: doc.RC, Changed: doc.Changed}
	for _, n := range doc.Nodes {
		nd := n.NLBNode
		nd.State = NLBStatusCode(n.StatusCode)
		nd.Detail = fmt.Sprintf("StatusCode %d (%s)", n.StatusCode, NLBReturnName(n.StatusCode))
		r.Nodes = append(r.Nodes, nd)
	}
	return r, nil
}

// NLBReturnName names a standard return value of the NLB provider
// (learn.microsoft.com/previous-versions/windows/desktop/wlbsprov/
// standard-return-values).
func NLBReturnName(rc uint32) string {
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
