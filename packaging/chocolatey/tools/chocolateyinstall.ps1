# Chocolatey install script of drain @VERSION@: the release's zip for this
# machine's architecture, its SHA-256 from the release's checksums.txt
# (filled in by the release process, scripts/chocolatey), unpacked into
# %ProgramFiles%\drain, which goes on the machine PATH; PowerShell
# completion is registered for all users of Windows PowerShell and of
# PowerShell 7. The same as scripts/install.ps1 -Scope Machine.
$ErrorActionPreference = 'Stop'

$installDir = Join-Path $env:ProgramFiles 'drain'
# A 32-bit PowerShell on 64-bit Windows sees x86 here and the real one in
# PROCESSOR_ARCHITEW6432.
$arch = if ($env:PROCESSOR_ARCHITEW6432) { $env:PROCESSOR_ARCHITEW6432 } else { $env:PROCESSOR_ARCHITECTURE }
switch ($arch) {
  'AMD64' { $url = '@URL_AMD64@'; $checksum = '@SHA256_AMD64@' }
  'ARM64' { $url = '@URL_ARM64@'; $checksum = '@SHA256_ARM64@' }
  default { throw "drain is released for 64-bit Windows (amd64, arm64), not $arch" }
}

# A running drain.exe cannot be overwritten but can be renamed away.
$exe = Join-Path $installDir 'drain.exe'
if (Test-Path -LiteralPath $exe) { Move-Item -LiteralPath $exe -Destination "$exe.old" -Force }

$packageArgs = @{
  packageName    = $env:ChocolateyPackageName
  unzipLocation  = $installDir
  url64bit       = $url
  checksum64     = $checksum
  checksumType64 = 'sha256'
}
try {
  Install-ChocolateyZipPackage @packageArgs
} catch {
  # A failed download or checksum: the drain that was there stays.
  if (Test-Path -LiteralPath "$exe.old") { Move-Item -LiteralPath "$exe.old" -Destination $exe -Force }
  throw
}
Remove-Item -LiteralPath "$exe.old" -Force -ErrorAction SilentlyContinue

$installed = & $exe version
if ($LASTEXITCODE -ne 0) { throw "the installed $exe does not run" }
Install-ChocolateyPath -PathToInstall $installDir -PathType 'Machine'

# Completion for every user: the AllUsersAllHosts profile of Windows
# PowerShell and, when it is installed, of PowerShell 7 dot-source the
# script drain writes.
$completion = Join-Path $installDir 'drain-completion.ps1'
& $exe completion powershell | Set-Content -LiteralPath $completion -Encoding UTF8
$line = ". '$completion'"
$profiles = @(Join-Path $env:windir 'System32\WindowsPowerShell\v1.0\profile.ps1')
$pwsh = Get-Command pwsh.exe -ErrorAction SilentlyContinue
if ($pwsh) { $profiles += Join-Path (Split-Path -Parent $pwsh.Source) 'profile.ps1' }
foreach ($p in $profiles) {
  if (-not (Test-Path -LiteralPath $p) -or -not (Select-String -LiteralPath $p -SimpleMatch $line -Quiet)) {
    Add-Content -LiteralPath $p -Value $line
  }
}
Write-Host "drain: $($installed | Select-Object -First 1) in $installDir (machine PATH; completion for all users)"
