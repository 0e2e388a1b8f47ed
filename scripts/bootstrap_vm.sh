#!/usr/bin/env bash
# Bootstraps the Claude Code telemetry hooks on a VM that may have no Deno yet, from a checkout of
# this repository:
#
#   bash scripts/bootstrap_vm.sh --project-id acme --endpoint https://telemetry.example.com/ingest \
#     --key-file /root/zo.key --settings user
#
# 1. Finds deno $DENO_VERSION (default 2.9.6): on PATH (unless it lives in npx's cache), or
#    already installed under $DENO_PREFIX.
# 2. Else installs it under $DENO_PREFIX (default $HOME/.deno): from the npm registry when npm
#    exists (npm install --prefix "$DENO_PREFIX/npm" deno@$DENO_VERSION), else with Deno's
#    official installer (curl -fsSL https://deno.land/install.sh, into $DENO_PREFIX/bin).
# 3. Runs `deno task --node-modules-dir=manual bootstrap` (so `deno task` does not first install
#    the bridge's npm packages) with every argument given here (see scripts/bootstrap.ts, or
#    --help), from the directory you ran this in, so relative paths and --settings project mean
#    what they say. The deno it found comes first on PATH (bootstrap runs `deno cache` with it).
#
# The wrappers bootstrap writes run this deno by its absolute path, so keep $DENO_PREFIX where it
# is, and pick one the user that runs Claude Code can read (not /root when the agent runs as
# someone else): e.g. DENO_PREFIX=/opt/deno bash scripts/bootstrap_vm.sh ...
set -euo pipefail

DENO_VERSION="${DENO_VERSION:-2.9.6}"
DENO_PREFIX="${DENO_PREFIX:-${HOME:?set HOME or DENO_PREFIX}/.deno}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

say() { printf 'bootstrap_vm: %s\n' "$*" >&2; }

# Prints the path of a deno of the wanted version among the candidates, if any. A deno inside
# npx's cache does not count: npm may clear that cache, and the wrappers need a lasting path.
find_deno() {
  local candidate version
  for candidate in "$(command -v deno 2>/dev/null || true)" \
    "$DENO_PREFIX/npm/node_modules/.bin/deno" "$DENO_PREFIX/bin/deno"; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    case "$(readlink -f "$candidate")" in */_npx/*) continue ;; esac
    version="$(DENO_NO_UPDATE_CHECK=1 "$candidate" --version 2>/dev/null | head -n 1 || true)"
    if [ "$version" = "deno $DENO_VERSION" ] || [[ "$version" == "deno $DENO_VERSION "* ]]; then
      printf '%s\n' "$candidate"
      return 0
    fi
  done
  return 1
}

install_deno() {
  mkdir -p "$DENO_PREFIX"
  if command -v npm >/dev/null 2>&1; then
    say "installing deno $DENO_VERSION from the npm registry into $DENO_PREFIX/npm"
    npm install --prefix "$DENO_PREFIX/npm" --no-save --no-audit --no-fund --loglevel=error \
      "deno@$DENO_VERSION" >&2
  elif command -v curl >/dev/null 2>&1; then
    say "installing deno $DENO_VERSION with Deno's official installer into $DENO_PREFIX"
    # The version is its one argument. CI=1 (and no -y, which asks for it) skips its shell setup,
    # which would edit shell profiles and fetch a module from jsr. It needs unzip, 7z or busybox.
    curl -fsSL https://deno.land/install.sh |
      CI=1 DENO_INSTALL="$DENO_PREFIX" sh -s "v$DENO_VERSION" >&2
  else
    say "Cannot install deno: there is neither npm nor curl; install one, or deno $DENO_VERSION"
    exit 1
  fi
}

if ! deno="$(find_deno)"; then
  install_deno
  if ! deno="$(find_deno)"; then
    say "Cannot find deno $DENO_VERSION after installing it under $DENO_PREFIX"
    exit 1
  fi
fi
say "using $deno"

# bootstrap runs `deno cache` with the deno on PATH: make it this one.
PATH="$(dirname "$deno"):$PATH"
export PATH
export DENO_NO_UPDATE_CHECK=1
# --node-modules-dir=manual: `deno task` would otherwise first install every npm package of
# deno.json (the bridge's); bootstrap needs none.
exec "$deno" task --quiet --node-modules-dir=manual --config "$repo/deno.json" bootstrap "$@"
