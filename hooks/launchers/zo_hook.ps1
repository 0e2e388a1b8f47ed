# Claude Code telemetry on Windows (legacy; see docs\WINDOWS_DEPLOYMENT.md): runs one entry
# script of <install>\hooks\ with exactly the flags of shared\hook_permissions.ts (the relay:
# those of relayPermissionFlags() in shared\relay_launcher.ts), loading <install>\.env through
# Deno's --env-file. Never in the agent's way: nothing on stdout, exit status 0 whatever fails
# (a problem is one line on stderr).
#
#   powershell -NoProfile -ExecutionPolicy Bypass -File zo_hook.ps1 <script> [args...]
#   e.g. zo_hook.ps1 post_tool_use;  zo_hook.ps1 relay --service
#
# <install> is two directories above this file (<install>\hooks\launchers\zo_hook.ps1).
# Deno: $env:ZO_DENO if set, else the first deno.exe on PATH. ZO_LOG_DIR, ZO_EVENT_ENDPOINT and
# ZO_RELAY_PORT: the environment, else <install>\.env (Deno's --env-file gives the environment
# the same precedence), else /zo-telemetry, none and 8790.
$ErrorActionPreference = 'Stop'
try {
  if ($args.Count -lt 1) { throw 'usage: zo_hook.ps1 <script> [args...], e.g. zo_hook.ps1 post_tool_use' }
  $script = ([string]$args[0]) -replace '\.ts$', ''
  $rest = @($args | Select-Object -Skip 1)
  $install = (Resolve-Path -LiteralPath (Join-Path $PSScriptRoot '..\..')).Path
  $entry = Join-Path $install "hooks\$script.ts"
  if (-not (Test-Path -LiteralPath $entry -PathType Leaf)) {
    throw "no such hook script under `"$install\hooks`": `"$script.ts`""
  }

  # Only the three lines it needs are read: the API key never passes through this script.
  $envFile = Join-Path $install '.env'
  $fromFile = @{}
  if (Test-Path -LiteralPath $envFile -PathType Leaf) {
    foreach ($line in Get-Content -LiteralPath $envFile) {
      if ($line -match '^(ZO_LOG_DIR|ZO_EVENT_ENDPOINT|ZO_RELAY_PORT)=(.*)$') {
        if (-not $fromFile.ContainsKey($Matches[1])) { $fromFile[$Matches[1]] = $Matches[2].Trim("'", '"') }
      }
    }
  }
  function Get-Setting([string]$name, [string]$default) {
    $value = [Environment]::GetEnvironmentVariable($name)
    if ($value) { return $value }
    if ($fromFile[$name]) { return $fromFile[$name] }
    return $default
  }

  $deno = $env:ZO_DENO
  if (-not $deno) {
    $found = Get-Command deno.exe -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if (-not $found) { throw 'no deno.exe found; install Deno or set ZO_DENO to its full path' }
    $deno = $found.Source
  }
  $deno = (Resolve-Path -LiteralPath $deno).Path
  $logDir = Get-Setting 'ZO_LOG_DIR' '/zo-telemetry'

  $env:ZO_LOG_DIR = $logDir
  $env:DENO_DIR = Join-Path $install 'deno_dir'
  $env:DENO_NO_UPDATE_CHECK = '1'
  $env:DENO_NO_PROMPT = '1'

  $hookRun = @('--no-config', '--no-npm', '--no-remote')
  # The relay may load the OTLP protobuf decoder's npm packages, from the install's cache only.
  $relayRun = @('--no-config', '--no-remote', '--cached-only')
  $common = @('--allow-env=ZO_*,CLAUDE_RUN_ID,CLAUDE_PROJECT_DIR,HOME', '--allow-sys=hostname,uid')
  $run = $hookRun
  if ($script -eq 'relay') {
    $run = $relayRun
    $net = "127.0.0.1:$(Get-Setting 'ZO_RELAY_PORT' '8790')"
    $endpoint = Get-Setting 'ZO_EVENT_ENDPOINT' ''
    # The endpoint's host[:port], as the relay launcher names it (a default port left out).
    if ($endpoint) { $net = "$(([Uri]$endpoint).Authority),$net" }
    # Its code (the OTLP protobuf module among it): its http endpoint's workers load their
    # modules with its permissions.
    $code = "$(Join-Path $install 'hooks'),$(Join-Path $install 'shared')"
    $flags = @("--allow-read=$logDir,$code", "--allow-write=$logDir", "--allow-net=$net", "--allow-run=$deno")
  } else {
    $readsAnyFile = @('artifact_produced')
    $read = if ($readsAnyFile -contains $script) { '--allow-read' } else { "--allow-read=$logDir" }
    $flags = @($read, "--allow-write=$logDir", "--allow-run=$deno")
  }
  & $deno run "--env-file=$envFile" @run @common @flags $entry @rest | Out-Null
} catch {
  [Console]::Error.WriteLine("zo-telemetry: $($_.Exception.Message)")
}
exit 0
