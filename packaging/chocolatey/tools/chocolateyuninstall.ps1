# Chocolatey uninstall script of drain: removes %ProgramFiles%\drain, its
# entry in the machine PATH and the completion line of the all-users
# profiles chocolateyinstall.ps1 added.
$ErrorActionPreference = 'Stop'

$installDir = Join-Path $env:ProgramFiles 'drain'
$completion = Join-Path $installDir 'drain-completion.ps1'
$line = ". '$completion'"
$profiles = @(Join-Path $env:windir 'System32\WindowsPowerShell\v1.0\profile.ps1')
$pwsh = Get-Command pwsh.exe -ErrorAction SilentlyContinue
if ($pwsh) { $profiles += Join-Path (Split-Path -Parent $pwsh.Source) 'profile.ps1' }
foreach ($p in $profiles) {
  if (Test-Path -LiteralPath $p) {
    $kept = @(Get-Content -LiteralPath $p | Where-Object { $_ -ne $line })
    Set-Content -LiteralPath $p -Value $kept -Encoding UTF8
  }
}

$path = [Environment]::GetEnvironmentVariable('Path', 'Machine')
$kept = @($path -split ';' | Where-Object { $_ -and $_.TrimEnd('\') -ne $installDir })
[Environment]::SetEnvironmentVariable('Path', ($kept -join ';'), 'Machine')

Remove-Item -LiteralPath $installDir -Recurse -Force -ErrorAction SilentlyContinue
Write-Host "drain: removed $installDir and its machine PATH entry"
