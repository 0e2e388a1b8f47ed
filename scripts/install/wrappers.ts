/**
 * The wrappers in `<install>/bin/`: one small `sh` script per entry script of `hooks/`, which
 * Claude Code (or a person, or systemd) runs instead of a long `deno run` line. Each runs the
 * installed script with absolute paths and exactly its flags from `scripts/install/hook_permissions.ts`
 * (the relay: `relayPermissionFlags()` of `hooks/pipeline/relay_launcher.ts`), loads `<install>/.env`
 * through Deno's `--env-file`, and sets what it needs itself (`DENO_DIR`, `ZO_LOG_DIR`), so it
 * works from any directory under `env -i PATH=/usr/bin:/bin`. A wrapper never blocks the agent:
 * a hook's wrapper hands its stdin to the `deno run` started with `setsid -f` and exits 0 at
 * once (about 5 ms, against 30-60 ms for the hook itself; see `hooks/README.md`), and with its
 * deno binary gone it prints one line on stderr and exits 0. It ignores SIGTERM (as the settings
 * command already made it: `COMMAND_PREFIX` of `hooks_block.ts`), and the detached `deno run`
 * inherits that; the usage collector it may start listens for SIGTERM itself. The relay's
 * wrapper `exec`s, SIGTERM stopping it as usual.
 *
 * @module
 */
import { HOOK_SCRIPTS, hookCommand } from "./hook_permissions.ts";
import { RELAY_RUN_FLAGS, relayPermissionFlags } from "../../hooks/pipeline/relay_launcher.ts";
import type { VmConfig } from "../../hooks/pipeline/vm_config.ts";
import type { InstallLayout } from "./layout.ts";

/** Name of the relay's wrapper. */
export const RELAY_WRAPPER = "relay";

/** The wrapper of an entry script: `stop.ts` -> `stop`; `report_event.ts` -> `zo_report_event`. */
export function wrapperName(file: string): string {
  const base = file.replace(/\.ts$/, "");
  return base === "report_event" ? "zo_report_event" : base;
}

/** Every wrapper name, relay included, in a stable order. */
export function wrapperNames(): string[] {
  return [...HOOK_SCRIPTS.map((script) => wrapperName(script.file)), RELAY_WRAPPER];
}

/** Quotes one word for `sh` when it needs it (`'...'`, with `'` as `'\''`). */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_.,:=\/@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The values every wrapper is built from. */
export interface WrapperValues {
  layout: InstallLayout;
  /** Absolute, resolved deno binary (`Deno.execPath()`). */
  denoPath: string;
  /** The VM settings as the `.env` file gives them (log dir, endpoint, relay port). */
  config: VmConfig;
}

/**
 * How a wrapper runs its `deno run`: in the foreground (`exec`, the relay), or handed off to a
 * process in a session of its own (`setsid -f`, every hook) that keeps Claude Code's stdin pipe
 * and writes nothing to Claude Code's stdout or stderr, while the wrapper exits 0 at once.
 * Without `setsid` (util-linux) the hook runs in the background of the same session, with the
 * same stdin: still fast, but then killable with Claude Code's process group.
 */
function launchLines(args: string[]): string[] {
  const line = `"$deno" ${args.map(shellQuote).join(" ")} "$@"`;
  return [
    "# Hand off: the hook redacts and spools in a session of its own, so neither the end of a",
    "# turn nor Claude Code's exit can cut it short; Claude Code waits only for this sh (~5 ms).",
    "if command -v setsid >/dev/null 2>&1; then",
    `  setsid -f ${line} >/dev/null 2>&1`,
    "else",
    `  ${line} <&0 >/dev/null 2>&1 &`,
    "fi",
    "exit 0",
  ];
}

function render(
  name: string,
  what: string,
  values: WrapperValues,
  command: string[],
  mode: "exec" | "detach",
): string {
  const { layout, denoPath, config } = values;
  const [, ...args] = command;
  const exports = [
    `DENO_DIR=${shellQuote(layout.denoDir)}`,
    "DENO_NO_UPDATE_CHECK=1",
    "DENO_NO_PROMPT=1",
    `ZO_LOG_DIR=${shellQuote(config.logDir)}`,
  ];
  return [
    "#!/bin/sh",
    `# Claude Code telemetry: ${what}. Written by scripts/bootstrap.ts into ${layout.dir};`,
    "# re-run bootstrap rather than editing it. The settings are in ../.env.",
    `deno=${shellQuote(denoPath)}`,
    'if [ ! -x "$deno" ]; then',
    `  echo "zo-telemetry ${name}: no deno at $deno; re-run scripts/bootstrap.ts" >&2`,
    "  exit 0",
    "fi",
    `export ${exports.join(" ")}`,
    "# Under a file-size limit (ulimit -f) a write then fails (EFBIG) instead of killing the hook.",
    "trap '' XFSZ",
    ...(mode === "detach"
      ? [
        "# Claude Code's settings command ignored SIGTERM before exec'ing this; so does a run by",
        "# hand or an older settings block: at its exit Claude Code SIGTERMs hooks still running.",
        "trap '' TERM",
      ]
      : []),
    ...(mode === "exec"
      ? [`exec "$deno" ${args.map(shellQuote).join(" ")} "$@"`]
      : launchLines(args)),
    "",
  ].join("\n");
}

/** `run --env-file=<install>/.env` followed by the rest of a `deno run` command. */
function withEnvFile(layout: InstallLayout, command: string[]): string[] {
  const [deno, run, ...rest] = command;
  return [deno!, run!, `--env-file=${layout.envFile}`, ...rest];
}

/** The wrapper of one entry script of `hooks/` (by file name, e.g. `stop.ts`). */
export function hookWrapper(file: string, values: WrapperValues): string {
  const command = hookCommand(file, {
    logDir: values.config.logDir,
    denoPath: values.denoPath,
    hooksDir: values.layout.hooksDir,
  });
  const script = HOOK_SCRIPTS.find((s) => s.file === file);
  const what = script?.event ? `the ${script.event} hook` : `hooks/${file}`;
  return render(wrapperName(file), what, values, withEnvFile(values.layout, command), "detach");
}

/**
 * The relay's wrapper: `hooks/relay.ts` with the flags of its module doc (the endpoint's host
 * and the loopback http-hook port on the network). Arguments pass through: `relay --service`.
 */
export function relayWrapper(values: WrapperValues): string {
  const command = [
    values.denoPath,
    "run",
    ...RELAY_RUN_FLAGS,
    // The installed protobuf module, not this checkout's (the path this module would give).
    ...relayPermissionFlags(
      values.config,
      values.denoPath,
      `${values.layout.hooksDir}/pipeline/otel/otlp_protobuf.ts`,
    ),
    `${values.layout.hooksDir}/relay.ts`,
  ];
  return render(
    RELAY_WRAPPER,
    "the relay (hooks/relay.ts)",
    values,
    withEnvFile(values.layout, command),
    "exec",
  );
}

/** Every wrapper: name -> text. */
export function allWrappers(values: WrapperValues): Map<string, string> {
  const wrappers = new Map<string, string>();
  for (const script of HOOK_SCRIPTS) {
    wrappers.set(wrapperName(script.file), hookWrapper(script.file, values));
  }
  wrappers.set(RELAY_WRAPPER, relayWrapper(values));
  return wrappers;
}

/** The deno binary a wrapper runs, as its `deno=` line names it; undefined if it has none. */
export function wrapperDenoPath(text: string): string | undefined {
  const line = text.split("\n").find((l) => l.startsWith("deno="));
  if (line === undefined) return undefined;
  const value = line.slice("deno=".length);
  return value.startsWith("'") ? value.slice(1, -1).replaceAll(`'\\''`, "'") : value;
}
