#!/bin/sh
# Installs the real Claude Code CLI the hook path's test runs (e2e/claude_cli.e2e.ts), pinned in
# .ci/claude-code-version, under .cache/claude-code/<version>, unless it is there already. Run by
# .ci/run and by `deno task test:cli` (so the gate works in any fresh clone with npm reachable).
# The package ships its native binary in an optional dependency, and its postinstall puts it in
# place: without it `claude` is a stub that only prints an error.
set -eu
cd "$(dirname "$0")/.."
version=$(cat .ci/claude-code-version)
prefix=".cache/claude-code/${version}"
if "${prefix}/node_modules/.bin/claude" --version 2>/dev/null | grep -q "^${version} "; then
  exit 0
fi
echo "Installing @anthropic-ai/claude-code@${version} into ${prefix} (npm)" >&2
npm install --prefix "${prefix}" --no-save --no-audit --no-fund --loglevel=error \
  "@anthropic-ai/claude-code@${version}" >/dev/null
