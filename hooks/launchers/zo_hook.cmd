@echo off
rem Claude Code telemetry on Windows (legacy; see docs\WINDOWS_DEPLOYMENT.md): runs one entry
rem script of <install>\hooks\ with exactly the flags of shared\hook_permissions.ts (the relay:
rem those of relayPermissionFlags() in shared\relay_launcher.ts), loading <install>\.env through
rem Deno's --env-file. Never in the agent's way: nothing on stdout, exit status 0 whatever fails
rem (a problem is one line on stderr).
rem
rem   zo_hook.cmd <script> [args...]     e.g.  zo_hook.cmd post_tool_use
rem                                            zo_hook.cmd relay --service
rem
rem <install> is two directories above this file (<install>\hooks\launchers\zo_hook.cmd).
rem Deno: %ZO_DENO% if set, else the first deno.exe on PATH. ZO_LOG_DIR, ZO_EVENT_ENDPOINT and
rem ZO_RELAY_PORT: the environment, else <install>\.env (Deno's --env-file gives the environment
rem the same precedence), else /zo-telemetry, none and 8790.
setlocal EnableExtensions DisableDelayedExpansion
for %%I in ("%~dp0..\..") do set "ZO_INSTALL=%%~fI"
set "ZO_SCRIPT=%~1"
if not defined ZO_SCRIPT goto usage
set "ZO_SCRIPT=%ZO_SCRIPT:.ts=%"
if not exist "%ZO_INSTALL%\hooks\%ZO_SCRIPT%.ts" goto no_script
rem The arguments after the script name, as typed (%2... would split --type=log at "=").
set "ZO_ARGS=%*"
call set "ZO_ARGS=%%ZO_ARGS:*%~1=%%"

set "ZO_ENV_FILE=%ZO_INSTALL%\.env"
rem Only the three lines it needs are read: the API key never passes through this script.
if exist "%ZO_ENV_FILE%" for /f "usebackq tokens=1,* delims==" %%A in (`findstr /b /i /c:"ZO_LOG_DIR=" /c:"ZO_EVENT_ENDPOINT=" /c:"ZO_RELAY_PORT=" "%ZO_ENV_FILE%"`) do call :setting "%%A" "%%B"
if not defined ZO_LOG_DIR set "ZO_LOG_DIR=/zo-telemetry"
if not defined ZO_RELAY_PORT set "ZO_RELAY_PORT=8790"

if defined ZO_DENO goto have_deno
for /f "delims=" %%D in ('where deno.exe 2^>nul') do if not defined ZO_DENO set "ZO_DENO=%%~fD"
:have_deno
if not defined ZO_DENO goto no_deno
if not exist "%ZO_DENO%" goto no_deno

set "DENO_DIR=%ZO_INSTALL%\deno_dir"
set "DENO_NO_UPDATE_CHECK=1"
set "DENO_NO_PROMPT=1"
if /i "%ZO_SCRIPT%"=="relay" goto relay

set "ZO_READ=--allow-read=%ZO_LOG_DIR%"
for %%S in (artifact_produced) do if /i "%ZO_SCRIPT%"=="%%S" set "ZO_READ=--allow-read"
"%ZO_DENO%" run "--env-file=%ZO_ENV_FILE%" --no-config --no-npm --no-remote "--allow-env=ZO_*,CLAUDE_RUN_ID,CLAUDE_PROJECT_DIR,HOME" --allow-sys=hostname,uid "%ZO_READ%" "--allow-write=%ZO_LOG_DIR%" "--allow-run=%ZO_DENO%" "%ZO_INSTALL%\hooks\%ZO_SCRIPT%.ts" %ZO_ARGS% >nul
goto done

:relay
set "ZO_NET=127.0.0.1:%ZO_RELAY_PORT%"
if not defined ZO_EVENT_ENDPOINT goto relay_run
rem The endpoint's host[:port]: what follows "://", up to the first "/", "?" or "#".
set "ZO_HOST=%ZO_EVENT_ENDPOINT:*://=%"
for /f "delims=/?#" %%H in ("%ZO_HOST%") do set "ZO_HOST=%%H"
set "ZO_NET=%ZO_HOST%,%ZO_NET%"
:relay_run
"%ZO_DENO%" run "--env-file=%ZO_ENV_FILE%" --no-config --no-remote --cached-only "--allow-env=ZO_*,CLAUDE_RUN_ID,CLAUDE_PROJECT_DIR,HOME" --allow-sys=hostname,uid "--allow-read=%ZO_LOG_DIR%,%ZO_INSTALL%\hooks,%ZO_INSTALL%\shared" "--allow-write=%ZO_LOG_DIR%" "--allow-net=%ZO_NET%" "--allow-run=%ZO_DENO%" "%ZO_INSTALL%\hooks\relay.ts" %ZO_ARGS% >nul
goto done

rem One KEY=value line of .env; a variable already in the environment wins. Values may be
rem written 'quoted' (bootstrap writes them so): the quotes go.
:setting
set "ZO_KEY=%~1"
set "ZO_VALUE=%~2"
if defined ZO_VALUE set "ZO_VALUE=%ZO_VALUE:'=%"
if not defined %ZO_KEY% set "%ZO_KEY%=%ZO_VALUE%"
exit /b 0

:usage
>&2 echo zo-telemetry: usage: zo_hook.cmd ^<script^> [args...], e.g. zo_hook.cmd post_tool_use
goto done
:no_script
>&2 echo zo-telemetry: no such hook script under "%ZO_INSTALL%\hooks": "%ZO_SCRIPT%.ts"
goto done
:no_deno
>&2 echo zo-telemetry: no deno.exe found; install Deno or set ZO_DENO to its full path
goto done

:done
endlocal
exit /b 0
