# Drives the arr and nlb rotation methods against a real IIS Application
# Request Routing and a real Windows NLB node, what the stand-in
# powershell.exe (internal/winps/winpstest) cannot prove. Run from an
# elevated PowerShell at the repository root, after
# .github/workflows/windows.yml has installed the features:
#
#   go build -o drain.exe ./cmd/drain
#   powershell -File scripts/windows/real-lb.ps1 -Drain .\drain.exe -Part arr
#   powershell -File scripts/windows/real-lb.ps1 -Drain .\drain.exe -Part nlb
#
# Windows PowerShell 5.1, not pwsh: it loads Microsoft.Web.Administration
# from the GAC, as drain's own script does.
#
# arr: creates a web farm "drainfarm" (two servers, by appcmd: test set-up,
# a configuration write drain itself never makes), then checks that drain
# out/in set the server's runtime state (read back here through
# Microsoft.Web.Administration, independently of drain's own script), that
# applicationHost.config is byte for byte the same after out and in, that an
# unknown farm is exit 2 naming drainfarm, and the arr: source.
# nlb: without a cluster, drain must fail clearly (exit 2); then it creates
# a one-node multicast cluster on the first adapter that is up and checks
# out (drain-stop) and in (start) through WMI (nlb:.) and through the
# cmdlets (nlb:COMPUTERNAME), reading the node state with Get-NlbClusterNode.
#
# Idempotent; each check prints "ok" or "FAIL"; exit 1 if any failed.
param([string]$Drain = (Join-Path $PWD 'drain.exe'), [ValidateSet('arr', 'nlb')][string]$Part = 'arr')
$ErrorActionPreference = 'Stop'
$env:DRAIN_STATE_DIR = Join-Path $env:TEMP 'drain-real-lb-state'
$failures = [System.Collections.Generic.List[string]]::new()
function Check([bool]$ok, [string]$what, [string]$detail = '') {
  if ($ok) { Write-Host "ok   $what" } else { Write-Host "FAIL $what $detail"; $failures.Add($what) }
}
function RunDrain([string[]]$argv) {
  $errPath = (New-TemporaryFile).FullName
  $out = & $Drain @argv 2>$errPath
  $code = $LASTEXITCODE
  $stderr = Get-Content -Raw $errPath
  Remove-Item $errPath
  Write-Host "  drain $($argv -join ' ') -> exit $code"
  [pscustomobject]@{ Code = $code; Out = "$out"; Stderr = "$stderr" }
}

if ($Part -eq 'arr') {
  $appcmd = "$env:windir\System32\inetsrv\appcmd.exe"
  $farm = 'drainfarm'
  $farms = & $appcmd list config -section:webFarms | Out-String
  if ($farms -notmatch "name=`"$farm`"") {
    & $appcmd set config -section:webFarms /+"[name='$farm']" /commit:apphost | Out-Null
    & $appcmd set config -section:webFarms /+"[name='$farm'].[address='127.0.0.1']" /commit:apphost | Out-Null
    & $appcmd set config -section:webFarms /+"[name='$farm'].[address='127.0.0.2']" /commit:apphost | Out-Null
    Start-Sleep -Seconds 2
  }
  [void][Reflection.Assembly]::LoadWithPartialName('Microsoft.Web.Administration')
  function ArrState([string]$server) {
    $mgr = New-Object Microsoft.Web.Administration.ServerManager
    $f = $mgr.GetApplicationHostConfiguration().GetSection('webFarms').GetCollection() | Where-Object { $_.GetAttributeValue('name') -eq $farm }
    $s = $f.GetCollection() | Where-Object { $_.GetAttributeValue('address') -eq $server }
    [int]$s.GetChildElement('applicationRequestRouting').GetChildElement('counters').GetAttributeValue('state')
  }
  $cfg = "$env:windir\System32\inetsrv\config\applicationHost.config"
  $hash = (Get-FileHash $cfg).Hash
  $spec = "arr:$farm#127.0.0.1"
  $r = RunDrain @('in', '--rotate', $spec)  # a clean start
  Check ((ArrState '127.0.0.1') -eq 0) 'arr: available before out'
  $r = RunDrain @('out', '--rotate', $spec)
  Check ($r.Code -eq 0) 'arr: out exit 0' $r.Stderr
  Check ((ArrState '127.0.0.1') -eq 1) 'arr: runtime state 1 (drain) after out' "state $(ArrState '127.0.0.1')"
  Check ((ArrState '127.0.0.2') -eq 0) 'arr: the other server untouched'
  $r = RunDrain @('status', '--rotate', $spec)
  Check ($r.Out -match 'OUT') 'arr: status OUT' $r.Out
  $r = RunDrain @('wait', '--source', "arr:$farm#127.0.0.1", '--timeout', '60s')
  Check ($r.Code -eq 0) 'arr: source currentRequests read and 0' $r.Stderr
  $r = RunDrain @('in', '--rotate', $spec)
  Check ($r.Code -eq 0) 'arr: in exit 0' $r.Stderr
  Check ((ArrState '127.0.0.1') -eq 0) 'arr: runtime state 0 (available) after in'
  Check ((Get-FileHash $cfg).Hash -eq $hash) 'arr: applicationHost.config unchanged by out and in (no webFarms write)'
  $r = RunDrain @('out', '--rotate', 'arr:nofarm#127.0.0.1')
  Check ($r.Code -eq 2 -and $r.Stderr -match $farm) 'arr: unknown farm exit 2 naming drainfarm' "$($r.Code) $($r.Stderr)"
}

if ($Part -eq 'nlb') {
  Import-Module NetworkLoadBalancingClusters
  $cluster = Get-NlbCluster -ErrorAction SilentlyContinue
  if (-not $cluster) {
    $r = RunDrain @('out', '--rotate', 'nlb:.')
    Check ($r.Code -eq 2 -and $r.Stderr -match 'MicrosoftNLB') 'nlb: no cluster yet: exit 2 naming root\MicrosoftNLB' "$($r.Code) $($r.Stderr)"
    $nic = (Get-NetAdapter | Where-Object Status -eq 'Up' | Select-Object -First 1).Name
    # Multicast: the adapter keeps its MAC (unicast mode would replace it
    # and cut the runner off). The cluster IP is in a subnet of its own.
    New-NlbCluster -InterfaceName $nic -ClusterName drainnlb -ClusterPrimaryIP 10.254.254.10 -SubnetMask 255.255.255.0 -OperationMode Multicast -Force | Out-Null
    Start-Sleep -Seconds 10
  }
  function NodeState { [string](Get-NlbClusterNode -NodeName $env:COMPUTERNAME).State }
  foreach ($spec in @('nlb:.', "nlb:$env:COMPUTERNAME")) {
    $r = RunDrain @('in', '--rotate', $spec)
    Check ((NodeState) -match 'Converged') "$spec converged before out" (NodeState)
    $r = RunDrain @('out', '--rotate', $spec)
    Check ($r.Code -eq 0) "$spec out exit 0" $r.Stderr
    Check ((NodeState) -match 'Stopped|Draining') "$spec drain-stopped after out" (NodeState)
    $r = RunDrain @('status', '--rotate', $spec)
    Check ($r.Out -match 'OUT') "$spec status OUT" $r.Out
    $r = RunDrain @('in', '--rotate', $spec)
    Check ($r.Code -eq 0) "$spec in exit 0" $r.Stderr
    Start-Sleep -Seconds 5
    Check ((NodeState) -match 'Converg') "$spec converging or converged after in" (NodeState)
  }
  $r = RunDrain @('out', '--rotate', 'nlb:othercluster#.')
  Check ($r.Code -eq 2) 'nlb: another cluster exit 2' "$($r.Code) $($r.Stderr)"
}

if ($failures.Count -gt 0) { Write-Host "$($failures.Count) check(s) failed: $($failures -join '; ')"; exit 1 }
Write-Host 'all checks passed'
