package winps

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
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

// NLBNode is one node of an NLB cluster.
type NLBNode struct {
	Name    string `json:"name"`    // computer name
	Cluster string `json:"cluster"` // cluster name (PowerShell) or IP (WMI)
	HostID  int    `json:"hostId"`
	State   string `json:"state"` // one of the NLB* words
	Detail  string `json:"detail,omitempty"`
}

// NLBScript lists the nodes of the NLB cluster DRAIN_PS_HOST belongs to
// with the NetworkLoadBalancingClusters module (Get-NlbClusterNode
// -HostName), after, when DRAIN_PS_OP says so, draining and stopping that
// host (Stop-NlbClusterNode -HostName H -Drain -Timeout MINUTES: it returns
// when the node has drained, or stops it anyway after MINUTES) or starting
// it (Start-NlbClusterNode -HostName H).
const NLBScript = `$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = [Text.Encoding]::UTF8
try {
  Import-Module NetworkLoadBalancingClusters
  $h = $env:DRAIN_PS_HOST
  if ($env:DRAIN_PS_OP -eq 'drainstop') { Stop-NlbClusterNode -HostName $h -Drain -Timeout ([uint32]$env:DRAIN_PS_TIMEOUT) | Out-Null }
  elseif ($env:DRAIN_PS_OP -eq 'start') { Start-NlbClusterNode -HostName $h | Out-Null }
  $nodes = @(Get-NlbClusterNode -HostName $h | ForEach-Object {
    @{ name = [string]$_.Name; state = [string]$_.State; hostId = [int]$_.HostID; cluster = [string]$_.Cluster } })
  ConvertTo-Json -Compress -Depth 4 -InputObject @{ nodes = $nodes }
} catch { [Console]::Error.WriteLine(($_.Exception.Message -replace '\s+', ' ')); exit 1 }
`

// NLBRemote runs NLBScript against host: op is "" (list), "drainstop" or
// "start"; minutes bounds Stop-NlbClusterNode's drain.
func NLBRemote(ctx context.Context, host, op string, minutes int) ([]NLBNode, error) {
	out, err := Run(ctx, NLBScript, map[string]string{"HOST": host, "OP": op, "TIMEOUT": strconv.Itoa(minutes)})
	if err != nil {
		return nil, err
	}
	var doc struct {
		Nodes oneOrMany[NLBNode] `json:"nodes"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return nil, fmt.Errorf("%w: NLB listing is not the JSON expected: %w", ErrScript, err)
	}
	for i := range doc.Nodes {
		n := &doc.Nodes[i]
		n.Detail = n.State
		n.State = NLBStateWord(n.State)
	}
	return doc.Nodes, nil
}
