<#
.SYNOPSIS
Install a drain release on Windows, its SHA-256 verified against the
release's checksums.txt.

.DESCRIPTION
Downloads drain_VERSION_windows_ARCH.zip (or takes -Zip, a local copy next
to its checksums.txt), verifies its SHA-256, and puts drain.exe in -Dir.

  -Scope Machine  (default) for servers and pipeline agents that run as a
                  service account: -Dir defaults to %ProgramFiles%\drain, it
                  goes on the machine PATH, and PowerShell completion is
                  registered for all users (the AllUsersAllHosts profile of
                  Windows PowerShell and of PowerShell 7).
                  Needs an administrator.
  -Scope Path     only install into -Dir (the setup action adds it to PATH).

A checksum that does not match, or an archive checksums.txt does not list,
installs nothing. Used by the setup action (action.yml) with -Scope Path.

.EXAMPLE
powershell -ExecutionPolicy Bypass -File install.ps1 -Version 1.2.3

.EXAMPLE
.\install.ps1 -Zip C:\media\drain_1.2.3_windows_amd64.zip
#>
[CmdletBinding()]
param(
  [string]$Version = 'latest',
  [string]$BaseUrl = 'https://github.com/drain-cli/drain/releases/download',
  [string]$Zip = '',
  [string]$Dir = '',
  [ValidateSet('Machine', 'Path')]
  [string]$Scope = 'Machine'
)
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue' # Invoke-WebRequest is much faster without the progress bar
[Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12

function Fail([string]$Message, [int]$Code = 1) {
  [Console]::Error.WriteLine("install: $Message")
  exit $Code
}

$arch = switch ($env:PROCESSOR_ARCHITECTURE) {
  'AMD64' { 'amd64' }
  'ARM64' { 'arm64' }
  default { Fail "unsupported architecture $($env:PROCESSOR_ARCHITECTURE): drain is released for amd64 and arm64" 2 }
}
if (-not $Dir) {
  if ($Scope -eq 'Machine') { $Dir = Join-Path $env:ProgramFiles 'drain' } else { Fail '-Dir is required with -Scope Path' 2 }
}
if ($Scope -eq 'Machine') {
  $admin = ([Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent()).IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)
  if (-not $admin) { Fail '-Scope Machine needs an administrator (or use -Scope Path -Dir DIR)' 2 }
}

$BaseUrl = $BaseUrl.TrimEnd('/')
$tmp = Join-Path ([IO.Path]::GetTempPath()) ("drain-install-" + [Guid]::NewGuid().ToString('N'))
New-Item -ItemType Directory -Path $tmp | Out-Null
try {
  if ($Zip) {
    # A local copy: its checksums.txt lies next to it.
    $zipPath = (Resolve-Path -LiteralPath $Zip).Path
    $name = Split-Path -Leaf $zipPath
    $sums = Join-Path (Split-Path -Parent $zipPath) 'checksums.txt'
    if (-not (Test-Path -LiteralPath $sums)) { Fail "no checksums.txt next to $zipPath" }
  } else {
    if ($Version -eq 'latest') {
      $latest = $BaseUrl -replace '/download$', '/latest'
      $resp = Invoke-WebRequest -UseBasicParsing -Uri $latest -MaximumRedirection 0 -ErrorAction SilentlyContinue
      $location = $resp.Headers.Location
      if (-not $location) { Fail "could not find the latest release at $latest; pass -Version" }
      $Version = ($location -split '/')[-1]
    }
    $Version = $Version.TrimStart('v')
    if ($Version -notmatch '^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$') { Fail "not a release version: $Version" 2 }
    $name = "drain_${Version}_windows_${arch}.zip"
    $zipPath = Join-Path $tmp $name
    $sums = Join-Path $tmp 'checksums.txt'
    try {
      Invoke-WebRequest -UseBasicParsing -Uri "$BaseUrl/v$Version/checksums.txt" -OutFile $sums
      Invoke-WebRequest -UseBasicParsing -Uri "$BaseUrl/v$Version/$name" -OutFile $zipPath
    } catch {
      Fail "could not download v$Version ($name): $($_.Exception.Message)"
    }
  }

  $want = $null
  foreach ($line in Get-Content -LiteralPath $sums) {
    $f = $line -split '\s+', 2
    if ($f.Count -eq 2 -and ($f[1] -eq $name -or $f[1] -eq "*$name")) { $want = $f[0].ToLowerInvariant(); break }
  }
  if ($want -notmatch '^[0-9a-f]{64}$') { Fail "checksums.txt does not list $name" }
  $got = (Get-FileHash -Algorithm SHA256 -LiteralPath $zipPath).Hash.ToLowerInvariant()
  if ($got -ne $want) { Fail "checksum mismatch for ${name}: checksums.txt says $want, the file is $got; nothing installed" }

  $unpacked = Join-Path $tmp 'unpacked'
  Expand-Archive -LiteralPath $zipPath -DestinationPath $unpacked
  $new = Join-Path $unpacked 'drain.exe'
  if (-not (Test-Path -LiteralPath $new)) { Fail "$name has no drain.exe" }
  New-Item -ItemType Directory -Force -Path $Dir | Out-Null
  $exe = Join-Path $Dir 'drain.exe'
  # A running drain.exe cannot be overwritten but can be renamed away.
  if (Test-Path -LiteralPath $exe) { Move-Item -LiteralPath $exe -Destination "$exe.old" -Force }
  Copy-Item -LiteralPath $new -Destination $exe
  Remove-Item -LiteralPath "$exe.old" -Force -ErrorAction SilentlyContinue
  $installed = & $exe version
  if ($LASTEXITCODE -ne 0) { Fail "the installed $exe does not run" }

  if ($Scope -eq 'Machine') {
    $path = [Environment]::GetEnvironmentVariable('Path', 'Machine')
    if (($path -split ';') -notcontains $Dir) {
      [Environment]::SetEnvironmentVariable('Path', ($path.TrimEnd(';') + ';' + $Dir), 'Machine')
    }
    # Completion for every user's PowerShell: the AllUsersAllHosts profile
    # of Windows PowerShell, of PowerShell 7 when it is installed, and of
    # the PowerShell running this script, dot-sources the script drain
    # writes (run from Windows PowerShell, $PROFILE alone would miss pwsh).
    $completion = Join-Path $Dir 'drain-completion.ps1'
    & $exe completion powershell | Set-Content -LiteralPath $completion -Encoding UTF8
    $line = ". '$completion'"
    $profiles = @($PROFILE.AllUsersAllHosts, (Join-Path $env:windir 'System32\WindowsPowerShell\v1.0\profile.ps1'))
    $pwsh = Get-Command pwsh.exe -ErrorAction SilentlyContinue
    if ($pwsh) { $profiles += Join-Path (Split-Path -Parent $pwsh.Source) 'profile.ps1' }
    foreach ($profilePath in ($profiles | Where-Object { $_ } | Select-Object -Unique)) {
      if (-not (Test-Path -LiteralPath $profilePath) -or -not (Select-String -LiteralPath $profilePath -SimpleMatch $line -Quiet)) {
        Add-Content -LiteralPath $profilePath -Value $line
      }
    }
  }
  Write-Output "install: $installed in $Dir, SHA-256 $got"
  if ($env:GITHUB_OUTPUT) {
    "version=$Version" | Out-File -Append -Encoding utf8 $env:GITHUB_OUTPUT
    "path=$exe" | Out-File -Append -Encoding utf8 $env:GITHUB_OUTPUT
  }
} finally {
  Remove-Item -LiteralPath $tmp -Recurse -Force -ErrorAction SilentlyContinue
}
