# Installs healthcheck from the unpacked zip: run from an elevated PowerShell
# in the unpacked folder,
#   powershell -ExecutionPolicy Bypass -File .\install.ps1 [-User DOMAIN\NAME]
# It copies healthcheck.exe to %ProgramFiles%\healthcheck\, the config to
# %ProgramData%\healthcheck\healthcheck.toml (an existing config is kept, not
# overwritten), validates that config, and registers the task "healthcheck"
# from healthcheck-task.xml (every 5 minutes, as the user, whether logged on
# or not; it asks for the account's password). Run it again to upgrade.
[CmdletBinding()]
param(
    [string]$User = "$env:USERDOMAIN\$env:USERNAME",
    [string]$TaskName = "healthcheck"
)
$ErrorActionPreference = "Stop"

$programDir = Join-Path $env:ProgramFiles "healthcheck"
$dataDir = Join-Path $env:ProgramData "healthcheck"
$exe = Join-Path $programDir "healthcheck.exe"
$config = Join-Path $dataDir "healthcheck.toml"

New-Item -ItemType Directory -Force -Path $programDir, $dataDir | Out-Null
Copy-Item -Force -Path (Join-Path $PSScriptRoot "healthcheck.exe") -Destination $exe
Write-Host "Installed $exe"
if (Test-Path -LiteralPath $config) {
    Write-Host "Kept the existing $config"
} else {
    Copy-Item -Path (Join-Path $PSScriptRoot "healthcheck.toml") -Destination $config
    Write-Host "Installed $config (a commented starter: disk, memory, cpu)"
}

& $exe validate -c $config
if ($LASTEXITCODE -ne 0) {
    Write-Host "$config is not valid (the lines above): fix them, check with" -ForegroundColor Red
    Write-Host "  & '$exe' validate -c '$config'" -ForegroundColor Red
    Write-Host "then run install.ps1 again. The task was not registered." -ForegroundColor Red
    exit 1
}

# The task file as shipped, pointed at the installed exe and config.
[xml]$task = Get-Content -Raw -LiteralPath (Join-Path $PSScriptRoot "healthcheck-task.xml")
$exec = $task.Task.Actions.Exec
$exec.Command = $exe
$exec.Arguments = "-c `"$config`" --quiet"
$exec.WorkingDirectory = $dataDir

$credential = Get-Credential -UserName $User -Message "The account the healthcheck task runs as (its password lets it run while logged off)"
Register-ScheduledTask -TaskName $TaskName -Xml $task.OuterXml -User $credential.UserName `
    -Password $credential.GetNetworkCredential().Password -Force | Out-Null
Write-Host "Registered the task ${TaskName}: every 5 minutes. Its Last Run Result is the exit code"
Write-Host "(0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN): schtasks /Query /TN $TaskName /V /FO LIST"
Write-Host "Edit $config, then: & '$exe' validate -c '$config'"
