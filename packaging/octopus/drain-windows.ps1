# drain - take this server out of rotation, wait until idle, run the action
# (the PowerShell script of the Octopus step template drain-windows.json;
# the template's ScriptBody is this file). The same parameters and output
# variables as drain-linux.sh. internal/e2e/octopus_test.go checks the
# template and parse-checks this script (there is no PowerShell to run it
# on the Linux CI).
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

function Get-Param([string]$Name) {
  $v = $OctopusParameters[$Name]
  if ($null -eq $v) { return '' }
  return [string]$v
}
function Get-Lines([string]$Name) {
  return @((Get-Param $Name) -split "`r?`n" | Where-Object { $_ -ne '' })
}

$command = Get-Param 'Drain.Command'
if (-not $command) { $command = 'run' }
if ($command -notin @('run', 'out', 'in')) { Fail-Step "Drain.Command must be run, out or in, not '$command'" }

$version = (Get-Param 'Drain.Version').TrimStart('v')
$drain = (Get-Command drain.exe -ErrorAction SilentlyContinue).Source
$dir = Join-Path $env:ProgramData "drain\$version"
if (-not $drain -and $version -and (Test-Path -LiteralPath (Join-Path $dir 'drain.exe'))) {
  $drain = Join-Path $dir 'drain.exe' # installed by an earlier step
}
if (-not $drain) {
  if ($version -notmatch '^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$') {
    Fail-Step 'drain.exe is not on PATH: set Drain.Version (e.g. 1.2.3) to install it'
  }
  $base = (Get-Param 'Drain.BaseUrl').TrimEnd('/')
  if (-not $base) { $base = 'https://github.com/drain-cli/drain/releases/download' }
  $arch = if ($env:PROCESSOR_ARCHITECTURE -eq 'ARM64') { 'arm64' } else { 'amd64' }
  $name = "drain_${version}_windows_${arch}.zip"
  $tmp = Join-Path ([IO.Path]::GetTempPath()) ('drain-' + [Guid]::NewGuid().ToString('N'))
  New-Item -ItemType Directory -Path $tmp | Out-Null
  try {
    [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
    Invoke-WebRequest -UseBasicParsing -Uri "$base/v$version/checksums.txt" -OutFile (Join-Path $tmp 'checksums.txt')
    Invoke-WebRequest -UseBasicParsing -Uri "$base/v$version/$name" -OutFile (Join-Path $tmp $name)
    $want = ''
    foreach ($line in Get-Content -LiteralPath (Join-Path $tmp 'checksums.txt')) {
      $f = $line -split '\s+', 2
      if ($f.Count -eq 2 -and $f[1] -eq $name) { $want = $f[0].ToLowerInvariant() }
    }
    $got = (Get-FileHash -Algorithm SHA256 -LiteralPath (Join-Path $tmp $name)).Hash.ToLowerInvariant()
    if ($want -notmatch '^[0-9a-f]{64}$' -or $got -ne $want) {
      Fail-Step "checksum mismatch for $name (checksums.txt: $want, download: $got): drain not installed"
    }
    Expand-Archive -LiteralPath (Join-Path $tmp $name) -DestinationPath (Join-Path $tmp 'unpacked')
    New-Item -ItemType Directory -Force -Path $dir | Out-Null
    Copy-Item -LiteralPath (Join-Path $tmp 'unpacked\drain.exe') -Destination (Join-Path $dir 'drain.exe') -Force
  } finally {
    Remove-Item -LiteralPath $tmp -Recurse -Force -ErrorAction SilentlyContinue
  }
  $drain = Join-Path $dir 'drain.exe'
  Write-Host "installed drain $version into $dir (SHA-256 $got)"
}

$argv = @($command, '--output', 'json', '--ci', 'off')
foreach ($r in Get-Lines 'Drain.Rotate') { $argv += "--rotate=$r" }
if ($command -eq 'run') { foreach ($s in Get-Lines 'Drain.Sources') { $argv += "--source=$s" } }
foreach ($p in @(@('Drain.VerifyUrl', 'verify-url'), @('Drain.Timeout', 'timeout'), @('Drain.Reason', 'reason'))) {
  $v = Get-Param $p[0]
  if ($v) { $argv += "--$($p[1])=$v" }
}
if ($command -eq 'run') {
  foreach ($p in @(@('Drain.LbGrace', 'lb-grace'), @('Drain.Settle', 'settle'))) {
    $v = Get-Param $p[0]
    if ($v) { $argv += "--$($p[1])=$v" }
  }
}
$budget = Get-Param 'Drain.MinInRotation'
if ($command -ne 'in' -and $budget -and $budget -ne '0') { $argv += "--min-in-rotation=$budget" }
if ($command -eq 'in') { $argv += '--wait-healthy' }
if ($command -eq 'run') {
  $action = Get-Lines 'Drain.Action'
  if ($action.Count -gt 0) { $argv += '--'; $argv += $action }
}

# drain.exe gets each element as one argument: no shell in between.
$lines = & $drain @argv
$code = $LASTEXITCODE
$result = 'unknown'
$rotation = 'UNKNOWN'
foreach ($line in $lines) {
  if ($line -match '"event":"result"') {
    $ev = $line | ConvertFrom-Json
    if ($ev.result) { $result = $ev.result }
    if ($ev.rotation) { $rotation = $ev.rotation }
  }
}
Set-OctopusVariable -name 'DrainResult' -value $result
Set-OctopusVariable -name 'DrainRotation' -value $rotation
Set-OctopusVariable -name 'DrainExitCode' -value "$code"
Write-Host "drain ${command}: $result (exit $code); server is $rotation rotation"
if ($code -ne 0) {
  Fail-Step "drain $command failed: $result (exit $code); server is $rotation rotation"
}
