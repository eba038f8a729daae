package winps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ARR runtime states: the `state` counter of a web farm server's
// applicationRequestRouting/counters element, and the value given to its
// SetState method's input (newState), as arr_schema.xml defines them and as
// scripts in the field use them: 0 available (Start), 1 drain (Drain: only
// requests of affinitized clients still reach the server, "Disallow New
// Connections" in IIS Manager), 2 unavailable (ForcefulStop, "Make Server
// Unavailable Immediately"), 3 unavailable gracefully (GracefulStop). See
// blogs.iis.net/anilr "Using ARR config extensibility to gracefully stop
// server" (AHADMIN, arr_schema.xml) and automagik.piximo.me 2013/03 "Make
// server unavailable gracefully using Powershell in ARR" (0 -> Available,
// 1 -> Drain, 2/3 -> Unavailable).
const (
	ARRAvailable             = 0
	ARRDrain                 = 1
	ARRUnavailable           = 2
	ARRUnavailableGracefully = 3
)

// ARRStateName names an ARR runtime state.
func ARRStateName(s int) string {
	switch s {
	case ARRAvailable:
		return "available"
	case ARRDrain:
		return "drain"
	case ARRUnavailable:
		return "unavailable"
	case ARRUnavailableGracefully:
		return "unavailable-gracefully"
	}
	return "state-" + strconv.Itoa(s)
}

// ARRScript lists every web farm with its servers' runtime state and, when
// DRAIN_PS_STATE is set, first calls SetState on DRAIN_PS_SERVER of
// DRAIN_PS_FARM (PowerShell's -eq: names without case) unless its runtime
// state already is that one; "changed" says whether it called it. One run
// both sets and lists, so that `in` after Ctrl-C starts one PowerShell, not
// two, inside the restore window. An unknown farm or server changes
// nothing: the listing says what exists. It goes through
// Microsoft.Web.Administration's ServerManager (OpenRemote when
// DRAIN_PS_HOST is set), loaded by path from %SystemRoot%\System32\inetsrv:
// LoadWithPartialName would take the highest version in the GAC, IIS
// Express's 7.9.0.0 where Visual Studio installed it, reading IIS
// Express's configuration. It never calls CommitChanges: SetState is a
// runtime method served by ARR, not a configuration write (a webFarms
// write in applicationHost.config would restart ASP.NET Core worker
// processes, dotnet/aspnetcore#8775). The JSON is UTF-8 without a BOM
// (Text.UTF8Encoding $false: [Text.Encoding]::UTF8 has a preamble that
// Console writes, dotnet/runtime#28929). Under Constrained Language Mode
// (AppLocker or WDAC) the assembly cannot be loaded: it says so and exits
// 1. Errors end it with exit 1 and the exception's message, on one line,
// on standard error.
const ARRScript = `$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
if ($ExecutionContext.SessionState.LanguageMode -ne 'FullLanguage') {
  Write-Output ('Windows PowerShell runs in ' + $ExecutionContext.SessionState.LanguageMode + ' mode (an AppLocker or WDAC policy), where Microsoft.Web.Administration cannot be loaded; allow FullLanguage for drain''s account, or set DRAIN_POWERSHELL')
  exit 1
}
try {
  [Console]::OutputEncoding = New-Object Text.UTF8Encoding $false
  $dll = Join-Path $env:SystemRoot 'System32\inetsrv\Microsoft.Web.Administration.dll'
  if (-not (Test-Path -LiteralPath $dll)) { throw ('Microsoft.Web.Administration is not installed (no ' + $dll + '): add IIS Management Scripts and Tools, Install-WindowsFeature Web-Scripting-Tools') }
  $mwa = [Reflection.Assembly]::LoadFrom($dll)
  if ($env:DRAIN_PS_HOST) { $mgr = [Microsoft.Web.Administration.ServerManager]::OpenRemote($env:DRAIN_PS_HOST) }
  else { $mgr = New-Object Microsoft.Web.Administration.ServerManager }
  $farms = $mgr.GetApplicationHostConfiguration().GetSection('webFarms').GetCollection()
  $changed = $false
  if ($env:DRAIN_PS_STATE) {
    $hit = $null
    foreach ($f in $farms) {
      if ($f.GetAttributeValue('name') -eq $env:DRAIN_PS_FARM) {
        foreach ($s in $f.GetCollection()) { if ($s.GetAttributeValue('address') -eq $env:DRAIN_PS_SERVER) { $hit = $s } }
      }
    }
    if ($null -ne $hit) {
      $arr = $hit.GetChildElement('applicationRequestRouting')
      if ([int]$arr.GetChildElement('counters').GetAttributeValue('state') -ne [int]$env:DRAIN_PS_STATE) {
        $m = $arr.Methods['SetState'].CreateInstance()
        $m.Input.Attributes[0].Value = [int]$env:DRAIN_PS_STATE
        $m.Execute()
        $changed = $true
      }
    }
  }
  $list = @()
  foreach ($f in $farms) {
    $servers = @()
    foreach ($s in $f.GetCollection()) {
      $arr = $s.GetChildElement('applicationRequestRouting')
      $c = $arr.GetChildElement('counters')
      $servers += @{ address = [string]$s.GetAttributeValue('address'); enabled = [bool]$s.GetAttributeValue('enabled');
        httpPort = [int]$arr.GetAttributeValue('httpPort'); state = [int]$c.GetAttributeValue('state');
        isHealthy = [bool]$c.GetAttributeValue('isHealthy'); currentRequests = [long]$c.GetAttributeValue('currentRequests');
        totalRequests = [long]$c.GetAttributeValue('totalRequests') }
    }
    $list += @{ name = [string]$f.GetAttributeValue('name'); servers = $servers }
  }
  ConvertTo-Json -Compress -Depth 6 -InputObject @{ farms = $list; changed = $changed }
} catch { [Console]::Error.WriteLine(($_.Exception.Message -replace '\s+', ' ')); exit 1 }
`

// ParseARRTarget reads [ARR_HOST/]FARM#SERVER (host "" for this machine).
func ParseARRTarget(target string) (host, farm, server string, err error) {
	i := strings.LastIndex(target, "#")
	if i < 0 {
		return "", "", "", errors.New("want [ARR_HOST/]FARM#SERVER, e.g. web#10.0.0.5")
	}
	farm, server = strings.TrimSpace(target[:i]), strings.TrimSpace(target[i+1:])
	if h, f, ok := strings.Cut(farm, "/"); ok {
		host, farm = strings.TrimSpace(h), strings.TrimSpace(f)
		if host == "" {
			return "", "", "", errors.New("empty ARR host before /; want [ARR_HOST/]FARM#SERVER")
		}
	}
	if farm == "" || server == "" {
		return "", "", "", errors.New("want a web farm name and a server address around #, e.g. web#10.0.0.5")
	}
	return host, farm, server, nil
}

// ARRServer is one server of a web farm as ARRScript lists it.
type ARRServer struct {
	Address         string `json:"address"`
	Enabled         bool   `json:"enabled"`
	HTTPPort        int    `json:"httpPort"`
	State           int    `json:"state"`
	IsHealthy       bool   `json:"isHealthy"`
	CurrentRequests int64  `json:"currentRequests"`
	// TotalRequests is the counters element's totalRequests: the requests
	// ARR has sent the server in all, a counter that only grows (what IIS
	// Manager's "Monitoring and Management" shows as Total Requests): the
	// balancer's arrivals counter.
	TotalRequests int64 `json:"totalRequests"`
}

// ARRFarm is one web farm.
type ARRFarm struct {
	Name    string      `json:"name"`
	Servers []ARRServer `json:"servers"`
}

// ARRList reads every farm; host "" is this machine.
func ARRList(ctx context.Context, host string) ([]ARRFarm, error) {
	farms, _, err := arrRun(ctx, map[string]string{"HOST": host})
	return farms, err
}

// ARRSetState calls SetState(state) on a server (farm and server compared
// without case) unless it is in that state already, and returns the farms
// read afterwards and whether SetState was called; an unknown farm or
// server changes nothing (the caller finds it missing in the listing).
func ARRSetState(ctx context.Context, host, farm, server string, state int) ([]ARRFarm, bool, error) {
	return arrRun(ctx, map[string]string{"HOST": host, "FARM": farm, "SERVER": server, "STATE": strconv.Itoa(state)})
}

func arrRun(ctx context.Context, params map[string]string) ([]ARRFarm, bool, error) {
	out, err := Run(ctx, ARRScript, params)
	if err != nil {
		return nil, false, err
	}
	var doc struct {
		Farms oneOrMany[struct {
			Name    string               `json:"name"`
			Servers oneOrMany[ARRServer] `json:"servers"`
		}] `json:"farms"`
		Changed bool `json:"changed"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return nil, false, fmt.Errorf("%w: ARR listing is not the JSON expected: %w", ErrScript, err)
	}
	farms := make([]ARRFarm, len(doc.Farms))
	for i, f := range doc.Farms {
		farms[i] = ARRFarm{Name: f.Name, Servers: f.Servers}
	}
	return farms, doc.Changed, nil
}

// oneOrMany reads a JSON array, or a lone object as an array of one
// (ConvertTo-Json unrolls one-element arrays in some positions), or null
// as none.
type oneOrMany[T any] []T

func (o *oneOrMany[T]) UnmarshalJSON(b []byte) error {
	var many []T
	if err := json.Unmarshal(b, &many); err == nil {
		*o = many
		return nil
	}
	var one T
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	*o = []T{one}
	return nil
}
