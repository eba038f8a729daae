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
# Windows PowerShell 5.1, not pwsh: Microsoft.Web.Administration is a .NET
# Framework assembly (loaded here by path from inetsrv, as drain's own
# script does), and the NLB module is native there.
#
# Windows PowerShell 5.1 turns every line a native program writes on stderr
# into an ErrorRecord as soon as stderr is redirected, and under
# $ErrorActionPreference = 'Stop' the first one ends the script
# (PowerShell/PowerShell#4002, #3996; changed only in 7.1, #13361). drain
# writes its progress on stderr, so RunDrain runs it under 'Continue' and
# turns the records back into lines; no other native call here redirects
# stderr.
#
# arr: makes a real farm: a backend site on port 8081, a web farm
# "drainfarm" (two servers, 127.0.0.1 and 127.0.0.2, httpPort 8081), ARR's
# proxy on and a global rewrite rule routing port 80 to the farm, the ARR
# pool set as docs/iis.md asks (no idle time-out, no periodic recycle, one
# worker: ARR's runtime state lives in that worker), all by appcmd (test
# set-up, configuration writes drain itself never makes). One request goes
# through ARR before out, so that the ARR worker holds the farm's runtime
# state. Then it checks that drain out/in set the server's runtime state
# (read back here through Microsoft.Web.Administration, independently of
# drain's own script), that applicationHost.config is byte for byte the
# same after out and in, that an unknown farm is exit 2 naming drainfarm,
# and the arr: source.
# nlb: without a cluster, drain must fail clearly (exit 2); then it creates
# a one-node multicast cluster on the first adapter that is up and checks
# out (DrainStop) and in (Start) through WMI in process (nlb:.) and over
# DCOM (nlb:COMPUTERNAME), reading the node state with Get-NlbClusterNode.
# While out, a TCP connection to the cluster IP is held for 20 s: the node
# must still be draining then (no time-out cut it) and stop once it
# closes (SKIP when NLB did not see the connection: one from the node
# itself may not pass NLB's filter; DRAIN_NLB_CLIENT names another machine
# to make it from). Azure's NICs do not support NLB's MAC handling, so on GitHub's
# hosted runners this part is informational (continue-on-error); a
# self-hosted runner with a second NIC proves it.
#
# Idempotent; each check prints "ok" or "FAIL"; exit 1 if any failed.
param([string]$Drain = (Join-Path $PWD 'drain.exe'), [ValidateSet('arr', 'nlb')][string]$Part = 'arr')
$ErrorActionPreference = 'Stop'
Write-Host "PowerShell $($PSVersionTable.PSVersion) ($($PSVersionTable.PSEdition)) on $([Environment]::OSVersion.VersionString)"
$env:DRAIN_STATE_DIR = Join-Path $env:TEMP 'drain-real-lb-state'
$failures = [System.Collections.Generic.List[string]]::new()
function Check([bool]$ok, [string]$what, [string]$detail = '') {
  if ($ok) { Write-Host "ok   $what" } else { Write-Host "FAIL $what $detail"; $failures.Add($what) }
}
function RunDrain([string[]]$argv) {
  $ErrorActionPreference = 'Continue'  # this function only: see the header
  $all = & $Drain @argv 2>&1
  $code = $LASTEXITCODE
  $out = @($all | Where-Object { $_ -isnot [System.Management.Automation.ErrorRecord] } | ForEach-Object { "$_" })
  $stderr = @($all | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] } | ForEach-Object { $_.ToString() })
  Write-Host "  drain $($argv -join ' ') -> exit $code"
  [pscustomobject]@{ Code = $code; Out = ($out -join "`n"); Stderr = ($stderr -join "`n") }
}

if ($Part -eq 'arr') {
  $appcmd = "$env:windir\System32\inetsrv\appcmd.exe"
  $farm = 'drainfarm'
  $backend = 'C:\inetpub\drainbackend'
  New-Item -ItemType Directory -Force $backend | Out-Null
  Set-Content -Encoding ascii (Join-Path $backend 'index.htm') 'backend'
  if (-not ((& $appcmd list site drainbackend | Out-String) -match 'drainbackend')) {
    & $appcmd add site /name:drainbackend /bindings:"http/*:8081:" /physicalPath:$backend | Out-Null
  }
  $farms = & $appcmd list config -section:webFarms | Out-String
  if ($farms -notmatch "name=`"$farm`"") {
    & $appcmd set config -section:webFarms /+"[name='$farm']" /commit:apphost | Out-Null
    foreach ($a in '127.0.0.1', '127.0.0.2') {
      & $appcmd set config -section:webFarms /+"[name='$farm'].[address='$a']" /commit:apphost | Out-Null
      & $appcmd set config -section:webFarms "/[name='$farm'].[address='$a'].applicationRequestRouting.httpPort:8081" /commit:apphost | Out-Null
    }
  }
  & $appcmd set config -section:system.webServer/proxy /enabled:"True" /commit:apphost | Out-Null
  $rules = & $appcmd list config -section:system.webServer/rewrite/globalRules | Out-String
  if ($rules -notmatch "ARR_$farm") {
    & $appcmd set config -section:system.webServer/rewrite/globalRules "/+[name='ARR_$farm',patternSyntax='Wildcard',stopProcessing='True']" /commit:apphost | Out-Null
    & $appcmd set config -section:system.webServer/rewrite/globalRules "/[name='ARR_$farm'].match.url:*" /commit:apphost | Out-Null
    & $appcmd set config -section:system.webServer/rewrite/globalRules "/+[name='ARR_$farm'].conditions.[input='{SERVER_PORT}',pattern='80']" /commit:apphost | Out-Null
    & $appcmd set config -section:system.webServer/rewrite/globalRules "/[name='ARR_$farm'].action.type:Rewrite" "/[name='ARR_$farm'].action.url:http://$farm/{R:0}" /commit:apphost | Out-Null
  }
  # ARR's runtime state (the Drain drain sets) lives in the worker process
  # of the pool that proxies: no idle time-out, no periodic recycle, one
  # worker (docs/iis.md).
  & $appcmd set apppool DefaultAppPool /processModel.idleTimeout:00:00:00 /recycling.periodicRestart.time:00:00:00 /processModel.maxProcesses:1 | Out-Null
  # WAS may not serve a new site or rule at once: retry the first request.
  $body = ''
  foreach ($i in 1..30) {
    try { $body = "$((Invoke-WebRequest 'http://localhost/index.htm' -UseBasicParsing -TimeoutSec 10).Content)".Trim() } catch { $body = "$_" }
    if ($body -eq 'backend') { break }
    Start-Sleep -Seconds 2
  }
  Check ($body -eq 'backend') 'arr: a request through ARR (port 80, rewrite rule) reaches the farm' $body
  Add-Type -Path "$env:windir\System32\inetsrv\Microsoft.Web.Administration.dll"
  function ArrState([string]$server) {
    $mgr = New-Object Microsoft.Web.Administration.ServerManager
    $f = $mgr.GetApplicationHostConfiguration().GetSection('webFarms').GetCollection() | Where-Object { $_.GetAttributeValue('name') -eq $farm }
    $s = $f.GetCollection() | Where-Object { $_.GetAttributeValue('address') -eq $server }
    [int]$s.GetChildElement('applicationRequestRouting').GetChildElement('counters').GetAttributeValue('state')
  }
  $cfg = "$env:windir\System32\inetsrv\config\applicationHost.config"
  $hash = (Get-FileHash $cfg).Hash
  $spec = 'arr:' + $farm + '#127.0.0.1'  # not "...$farm#...": tree-sitter's grammar reads a comment there
  $r = RunDrain @('in', '--rotate', $spec)  # a clean start
  Check ((ArrState '127.0.0.1') -eq 0) 'arr: available before out'
  $r = RunDrain @('out', '--rotate', $spec)
  Check ($r.Code -eq 0) 'arr: out exit 0' $r.Stderr
  Check ((ArrState '127.0.0.1') -eq 1) 'arr: runtime state 1 (drain) after out' "state $(ArrState '127.0.0.1')"
  Check ((ArrState '127.0.0.2') -eq 0) 'arr: the other server untouched'
  $r = RunDrain @('status', '--rotate', $spec)
  Check ($r.Out -match 'OUT') 'arr: status OUT' $r.Out
  $r = RunDrain @('wait', '--source', $spec, '--timeout', '60s')
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
  # Without a cluster Get-NlbCluster throws a terminating error, which
  # -ErrorAction SilentlyContinue does not stop.
  $cluster = $null
  try { $cluster = Get-NlbCluster -ErrorAction Stop } catch { Write-Host "  Get-NlbCluster: $_" }
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
  $r = RunDrain @('out', '--rotate', 'nlb:drainnlb#.')
  Check ($r.Code -eq 0) 'nlb: the cluster by name (ClusterSetting.ClusterName) on the WMI path' "$($r.Code) $($r.Stderr)"
  $r = RunDrain @('in', '--rotate', 'nlb:10.254.254.10#.')
  Check ($r.Code -eq 0) 'nlb: the cluster by IP' "$($r.Code) $($r.Stderr)"

  # A connection held through out: DrainStop keeps the node draining, with
  # no time-out of its own (Stop-NlbClusterNode -Timeout, seconds in the
  # help, is no longer used): after 20 s it must still be draining, and
  # stop once the connection closes. NLB is a filter between the adapter
  # and TCP/IP: a connection the node makes to its own cluster IP may never
  # pass it (the stack delivers it locally), and then NLB has nothing to
  # wait for and stops at once. That reading proves nothing either way, so
  # it is reported as SKIP, not as a failure; DRAIN_NLB_CLIENT (a
  # self-hosted runner's second machine, reachable by PowerShell remoting)
  # makes the connection from outside instead.
  $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Any, 18080)
  $listener.Start()
  $client = [Net.Sockets.TcpClient]::new()
  $remote = $null
  try {
    if ($env:DRAIN_NLB_CLIENT) {
      $remote = Invoke-Command -ComputerName $env:DRAIN_NLB_CLIENT -AsJob -ScriptBlock {
        $c = [Net.Sockets.TcpClient]::new('10.254.254.10', 18080); Start-Sleep -Seconds 90; $c.Close()
      }
    } else {
      $client.Connect('10.254.254.10', 18080)
    }
    $accept = $listener.AcceptTcpClientAsync()
    if (-not $accept.Wait(60000)) { throw 'no connection reached the listener within 60 s' }
    $server = $accept.Result
    $r = RunDrain @('out', '--rotate', 'nlb:.')
    Check ($r.Code -eq 0) 'nlb: out with a connection held' $r.Stderr
    $first = NodeState
    if ($first -notmatch 'Draining') {
      Write-Host "SKIP nlb: held connection (the node is '$first' at once: NLB did not see the connection, made from the node itself; set DRAIN_NLB_CLIENT)"
    } else {
      Start-Sleep -Seconds 20
      Check ((NodeState) -match 'Draining') 'nlb: still draining 20 s later (no time-out cut the connection)' (NodeState)
      $client.Close(); $server.Close()
      $state = ''
      foreach ($i in 1..60) { $state = NodeState; if ($state -match 'Stopped') { break }; Start-Sleep -Seconds 2 }
      Check ($state -match 'Stopped') 'nlb: stopped once the held connection closed' $state
    }
  } catch {
    Write-Host "  a connection to the cluster IP could not be held here: $_"
  } finally {
    if ($remote) { $remote | Wait-Job -Timeout 60 | Remove-Job -Force }
    $client.Dispose(); $listener.Stop()
    RunDrain @('in', '--rotate', 'nlb:.') | Out-Null
  }
}

if ($failures.Count -gt 0) { Write-Host "$($failures.Count) check(s) failed: $($failures -join '; ')"; exit 1 }
Write-Host 'all checks passed'
