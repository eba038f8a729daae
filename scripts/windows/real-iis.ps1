# Proves on a real Windows Server with IIS what the Wine stand-ins cannot
# (docs/iis.md, "What was proven where"). Run from an elevated PowerShell at
# the repository root, after the IIS features are installed (see
# .github/workflows/windows.yml):
#
#   go build -o drain.exe ./cmd/drain
#   pwsh -File scripts/windows/real-iis.ps1 -Drain .\drain.exe
#
# Idempotent: the test pool, site, files and user are (re)created each run.
# Each check prints "ok", "FAIL" or "SKIP" with its reason; the script exits 1
# if any check failed.
param([string]$Drain = (Join-Path $PWD 'drain.exe'))
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 1.0  # uninitialized variables only: checks read optional JSON fields
Write-Host "PowerShell $($PSVersionTable.PSVersion) ($($PSVersionTable.PSEdition)) on $([Environment]::OSVersion.VersionString)"

$appcmd = "$env:windir\System32\inetsrv\appcmd.exe"
$pool = 'DrainTest'
$site = 'DrainTestSite'
$port = 8091
$root = 'C:\inetpub\draintest'
$base = "http://localhost:$port"
$page = Join-Path $root 'keepalive.htm'
$env:DRAIN_STATE_DIR = Join-Path $env:TEMP 'drain-real-iis-state'
$failures = [System.Collections.Generic.List[string]]::new()

function Check([bool]$ok, [string]$what, [string]$detail = '') {
  if ($ok) { Write-Host "ok   $what" } else { Write-Host "FAIL $what $detail"; $failures.Add($what) }
}
function Skip([string]$what, [string]$why) { Write-Host "SKIP $what ($why)" }

# RunDrain runs drain with --output json and returns its exit code, events
# (parsed NDJSON), stderr and how long it took. Under 'Continue' here:
# Windows PowerShell 5.1 makes each stderr line of a native program an
# ErrorRecord once stderr is redirected, and 'Stop' would end the script at
# the first (PowerShell/PowerShell#4002, #3996; changed in 7.1, #13361):
# the script must not depend on being run by pwsh.
function RunDrain([string[]]$argv) {
  $ErrorActionPreference = 'Continue'
  $sw = [Diagnostics.Stopwatch]::StartNew()
  $all = & $Drain @argv --output json 2>&1
  $code = $LASTEXITCODE
  $sw.Stop()
  $lines = @($all | Where-Object { $_ -isnot [System.Management.Automation.ErrorRecord] } | ForEach-Object { "$_" })
  $events = @($lines | Where-Object { $_ -like '{*' } | ForEach-Object { $_ | ConvertFrom-Json })
  $stderr = (@($all | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] } | ForEach-Object { $_.ToString() }) -join "`n")
  Write-Host "  drain $($argv -join ' ') -> exit $code in $([int]$sw.Elapsed.TotalSeconds)s"
  [pscustomobject]@{ Code = $code; Events = $events; Stderr = "$stderr"; Seconds = $sw.Elapsed.TotalSeconds }
}
function Values($run) {
  @($run.Events | Where-Object { $_.event -eq 'poll' } | ForEach-Object { $_.sources[0].value } | Where-Object { $null -ne $_ })
}
function Slow([int]$n, [int]$seconds) {
  1..$n | ForEach-Object {
    Start-Job -ArgumentList "$base/slow.aspx?s=$seconds" { param($u) (Invoke-WebRequest $u -UseBasicParsing -TimeoutSec 300).Content }
  }
}
function Get([string]$path) {
  try { $r = Invoke-WebRequest "$base/$path" -UseBasicParsing -TimeoutSec 30; [pscustomobject]@{ Status = [int]$r.StatusCode; Body = "$($r.Content)".Trim() } }
  catch {
    $resp = $_.Exception.PSObject.Properties['Response']
    $status = if ($resp -and $resp.Value) { [int]$resp.Value.StatusCode } else { 0 }
    [pscustomobject]@{ Status = $status; Body = '' }
  }
}
function Last($v) { if ($v.Count -gt 0) { $v[-1] } else { $null } }

# --- setup (idempotent) -------------------------------------------------------
Remove-Item -Recurse -Force -ErrorAction SilentlyContinue $env:DRAIN_STATE_DIR
New-Item -ItemType Directory -Force $root | Out-Null
Set-Content -Encoding ascii (Join-Path $root 'keepalive.htm') 'OK'
Remove-Item -ErrorAction SilentlyContinue (Join-Path $root 'keepalive.htm.disabled')
Set-Content -Encoding ascii (Join-Path $root 'slow.aspx') @'
<%@ Page Language="C#" EnableSessionState="false" %>
<% System.Threading.Thread.Sleep(int.Parse(Request.QueryString["s"] ?? "20") * 1000); Response.Write("done " + DateTime.UtcNow.ToString("o")); %>
'@
Set-Content -Encoding ascii (Join-Path $root 'session.aspx') @'
<%@ Page Language="C#" EnableSessionState="true" %>
<% Session["drain"] = 1; Response.Write(Session.SessionID); %>
'@
if ((& $appcmd list site $site | Out-String) -match $site) { & $appcmd delete site $site | Out-Null }
if ((& $appcmd list apppool $pool | Out-String) -match $pool) { & $appcmd delete apppool $pool | Out-Null }
& $appcmd add apppool /name:$pool /managedRuntimeVersion:v4.0 | Out-Null
& $appcmd add site "/name:$site" "/bindings:http/*:$($port):" "/physicalPath:$root" | Out-Null
& $appcmd set app "$site/" /applicationPool:$pool | Out-Null
& $appcmd start apppool /apppool.name:$pool | Out-Null
# WAS may not have the new site yet: retry the first request.
$first = $null
foreach ($i in 1..30) { $first = Get 'keepalive.htm'; if ($first.Status -eq 200) { break }; Start-Sleep 2 }
Check ($first.Status -eq 200) 'setup: the test site serves keepalive.htm' "status $($first.Status)"
& $Drain in --keepalive $page | Out-Null

# --- iis:POOL reads 3 held requests, lists them, falls to 0 -------------------
$jobs = Slow 3 25
Start-Sleep 5
$run = RunDrain @('wait', '--source', "iis:$pool", '--interval', '1s', '--settle', '2s', '--timeout', '120s')
$jobs | Wait-Job | Receive-Job | Out-Null
$v = Values $run
Check ($run.Code -eq 0) 'iis:POOL drains to 0 (exit 0)' "exit $($run.Code) $($run.Stderr)"
Check (($v | Measure-Object -Maximum).Maximum -eq 3) 'iis:POOL reads 3 with three requests held' "values: $($v -join ',')"
Check ((Last $v) -eq 0) 'iis:POOL falls to 0'
$reqs = @($run.Events | Where-Object { $_.PSObject.Properties['requests'] -and $_.requests } | ForEach-Object { $_.requests })
$r = $reqs | Where-Object { $_.url -like '/slow.aspx*' } | Select-Object -First 1
Check ($null -ne $r -and $r.verb -eq 'GET' -and $r.client -ne '' -and $r.elapsed_s -gt 0) 'in-flight requests show URL, verb, client and elapsed time' "requests: $($reqs | ConvertTo-Json -Compress)"

# --- overlapped recycle: the old worker's requests still count ----------------
$jobs = Slow 3 20
Start-Sleep 4
& $appcmd recycle apppool /apppool.name:$pool | Out-Null
$run = RunDrain @('wait', '--source', "iis:$pool", '--interval', '1s', '--settle', '2s', '--timeout', '120s')
$done = (Get-Date).ToUniversalTime()
$bodies = @($jobs | Wait-Job | Receive-Job)
$v = Values $run
Check ($run.Code -eq 0 -and ($v | Measure-Object -Maximum).Maximum -eq 3 -and (Last $v) -eq 0) 'across an overlapped recycle iis:POOL reads 3 then 0' "values: $($v -join ',')"
# The slow page writes when it finished (UTC): a job's own end time also
# counts the job's start-up and teardown.
$ends = @($bodies | ForEach-Object { if ("$_" -match '^done (\S+)') { [DateTime]::Parse($Matches[1]).ToUniversalTime() } })
$lastEnd = ($ends | Measure-Object -Maximum).Maximum
Check ($ends.Count -eq 3 -and $lastEnd -le $done) 'drained only after the held requests finished' "ends: $($ends -join ', '); drained at $done"

# --- empty lists: appcmd's exit codes, and drain accepts them ------------------
& $appcmd stop apppool /apppool.name:$pool | Out-Null
Start-Sleep 3
$wpOut = & $appcmd list wp /apppool.name:$pool /xml; $wpCode = $LASTEXITCODE
$rqOut = & $appcmd list requests /apppool.name:$pool /xml; $rqCode = $LASTEXITCODE
Write-Host "  appcmd list wp (empty): exit $wpCode, $($wpOut -join ' ')"
Write-Host "  appcmd list requests (empty): exit $rqCode, $($rqOut -join ' ')"
& $appcmd start apppool /apppool.name:$pool | Out-Null
$run = RunDrain @('run', '--keepalive', $page, '--source', "iis:$pool", '--settle', '1s', '--timeout', '60s', '--', 'stop-apppool', $pool)
Check ($run.Code -eq 0) 'stop-apppool of an idle started pool (empty list wp/list requests)' "exit $($run.Code) $($run.Stderr)"
$run = RunDrain @('run', '--keepalive', $page, '--source', "iis:$pool", '--settle', '1s', '--timeout', '60s', '--', 'stop-apppool', $pool)
Check ($run.Code -eq 0 -and ($run.Events | Where-Object { $_.event -eq 'result' }).exit_code -eq 0) 'stop-apppool of a stopped pool: nothing to do'

# --- absent instance, and a wildcard that answers only _Total ------------------
$run = RunDrain @('wait', '--source', "iis:$pool", '--settle', '1s', '--timeout', '30s')
$notes = @($run.Events | Where-Object { $_.event -eq 'poll' } | ForEach-Object { $_.sources[0].PSObject.Properties['note'] } | Where-Object { $_ } | ForEach-Object { $_.Value })
Check ($run.Code -eq 0 -and ($notes -join ' ') -like '*absent*') 'stopped pool: iis:POOL reads 0 with an absent note' "exit $($run.Code) notes: $($notes -join '; ') $($run.Stderr)"
$run = RunDrain @('wait', '--source', 'pdh:\W3SVC_W3WP(*)\Active Requests', '--settle', '1s', '--timeout', '30s')
Check ($run.Code -eq 0) 'a wildcard with only _Total (no worker) reads 0' "exit $($run.Code) $($run.Stderr)"
$run = RunDrain @('wait', '--source', 'pdh:\W3SVC_W3WP(999999_NoSuchPool)\Active Requests', '--settle', '1s', '--timeout', '30s')
Check ($run.Code -eq 0) 'an absent instance reads 0 (elevated)' "exit $($run.Code) $($run.Stderr)"
& $Drain in --keepalive $page | Out-Null
& $appcmd start apppool /apppool.name:$pool | Out-Null

# --- a \\host that does not answer, within --read-timeout -----------------------
$run = RunDrain @('wait', '--source', 'state-server:192.0.2.1', '--read-timeout', '2s', '--interval', '1s', '--timeout', '10s')
Check ($run.Code -eq 3 -and $run.Seconds -lt 40) 'an unreachable state-server:HOST ends at --timeout, each read bounded' "exit $($run.Code) in $($run.Seconds)s $($run.Stderr)"

# --- ASP.NET presets on a real app --------------------------------------------
$jobs = Slow 1 15
Start-Sleep 4
$run = RunDrain @('wait', '--source', "aspnet:$site", '--interval', '1s', '--settle', '2s', '--timeout', '90s')
$jobs | Wait-Job | Receive-Job | Out-Null
$v = Values $run
Check ($run.Code -eq 0 -and ($v | Measure-Object -Maximum).Maximum -ge 1 -and (Last $v) -eq 0) 'aspnet:SITE reads a held request, then 0' "values: $($v -join ',') $($run.Stderr)"
Get 'session.aspx' | Out-Null
$run = RunDrain @('wait', '--source', "aspnet-sessions:$site", '--interval', '1s', '--timeout', '5s')
$v = Values $run
Check (($v | Measure-Object -Maximum).Maximum -ge 1) 'aspnet-sessions:SITE counts the InProc session' "values: $($v -join ',') $($run.Stderr)"
if (Get-Service aspnet_state -ErrorAction SilentlyContinue) {
  Set-Service aspnet_state -StartupType Manual
  Start-Service aspnet_state
  $run = RunDrain @('wait', '--source', 'state-server', '--settle', '1s', '--timeout', '30s')
  Check ($run.Code -eq 0) 'state-server reads the ASP.NET State Service (started, no sessions)' "exit $($run.Code) $($run.Stderr)"
} else {
  Skip 'state-server' 'the ASP.NET State Service (aspnet_state) is not installed on this image'
}

# --- a non-elevated run is refused before anything changes ---------------------
$user = 'drainlimited'
$errFile = Join-Path $env:PUBLIC 'drain-limited.err'
# A state directory the limited user can open: the refusal must be the
# elevation check, not the state directory.
$limitedState = Join-Path $env:PUBLIC 'drain-limited-state'
try {
  if ($PSVersionTable.PSEdition -eq 'Core') { Import-Module Microsoft.PowerShell.LocalAccounts -UseWindowsPowerShell }
  New-Item -ItemType Directory -Force $limitedState | Out-Null
  & icacls.exe $limitedState /grant '*S-1-5-32-545:(OI)(CI)M' | Out-Null
  $pw = [guid]::NewGuid().ToString() + 'aA1!'
  $secure = ConvertTo-SecureString $pw -AsPlainText -Force
  if (Get-LocalUser -Name $user -ErrorAction SilentlyContinue) { Remove-LocalUser -Name $user }
  New-LocalUser -Name $user -Password $secure -AccountNeverExpires | Out-Null
  $cred = New-Object System.Management.Automation.PSCredential($user, $secure)
  $p = Start-Process -FilePath $Drain -Credential $cred -LoadUserProfile -Wait -PassThru -WorkingDirectory $env:PUBLIC `
    -RedirectStandardError $errFile -ArgumentList @('run', '--state-dir', $limitedState, '--keepalive', $page, '--source', "iis:$pool", '--timeout', '30s', '--', 'stop-apppool', $pool)
  $err = Get-Content -Raw $errFile
  Check ($p.ExitCode -eq 2 -and "$err" -like '*needs an elevated drain*' -and (Test-Path $page)) 'a non-elevated stop-apppool is refused (exit 2), the page untouched' "exit $($p.ExitCode): $err"
} catch {
  Skip 'non-elevated run' "cannot run drain as a standard local user here: $_"
} finally {
  try { Remove-LocalUser -Name $user -ErrorAction SilentlyContinue } catch { }
}

# --- a keep-alive page IIS has already served, in both modes -------------------
1..3 | ForEach-Object { Get 'keepalive.htm' | Out-Null }
$run = RunDrain @('out', '--keepalive', $page, '--verify-url', "$base/keepalive.htm", '--timeout', '30s')
Check ($run.Code -eq 0 -and (Get 'keepalive.htm').Status -eq 404) 'rename mode: a served page is taken out (404)' "exit $($run.Code) $($run.Stderr)"
$run = RunDrain @('in', '--keepalive', $page, '--verify-url', "$base/keepalive.htm", '--wait-healthy', '--timeout', '30s')
Check ($run.Code -eq 0 -and (Get 'keepalive.htm').Status -eq 200) 'rename mode: and put back (200)' "exit $($run.Code) $($run.Stderr)"
1..3 | ForEach-Object { Get 'keepalive.htm' | Out-Null }
$run = RunDrain @('out', '--keepalive', $page, '--down-content', 'DOWN', '--timeout', '30s')
$body = ''
foreach ($i in 1..20) { $body = (Get 'keepalive.htm').Body; if ($body -eq 'DOWN') { break }; Start-Sleep 1 }
Check ($run.Code -eq 0 -and $body -eq 'DOWN') 'content mode: IIS serves DOWN after out (no stale cached OK)' "exit $($run.Code) body '$body' $($run.Stderr)"
$run = RunDrain @('in', '--keepalive', $page, '--down-content', 'DOWN', '--timeout', '30s')
foreach ($i in 1..20) { $body = (Get 'keepalive.htm').Body; if ($body -eq 'OK') { break }; Start-Sleep 1 }
Check ($run.Code -eq 0 -and $body -eq 'OK') 'content mode: and OK again after in' "exit $($run.Code) body '$body'"

# --- the Event Log text, read back --------------------------------------------
$events = @(Get-WinEvent -FilterHashtable @{ LogName = 'Application'; ProviderName = 'drain' } -MaxEvents 20 -ErrorAction SilentlyContinue)
$text = ($events | ForEach-Object { $_.Message }) -join "`n"
Write-Host "  last drain events in the Application log:`n$(($events | Select-Object -First 4 | ForEach-Object { "    $($_.Id): $($_.Message)" }) -join "`n")"
Check ($events.Count -gt 0 -and $text -like '*keepalive.htm*' -and $text -notlike '*cannot be found*') 'the Event Log shows drain''s own text (message file registered)' "$($events.Count) events"

if ($failures.Count -gt 0) {
  Write-Host "`n$($failures.Count) check(s) failed:`n  $($failures -join "`n  ")"
  exit 1
}
Write-Host "`nall checks passed"
