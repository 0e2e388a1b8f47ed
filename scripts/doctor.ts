/**
 * Checks a VM's install, as a person would after bootstrap or when events stop arriving:
 *
 *     deno task doctor [--install-dir /opt/claude-hooks] [--settings user|project|none] [--json]
 *
 * The task runs exactly `deno run --no-config --no-npm --no-remote --allow-read --allow-net
 * --allow-env=HOME,INIT_CWD --allow-sys=uid scripts/doctor.ts`: reads and the network are unscoped
 * because the install dir, log dir, settings files and the bridge's host are known only at run
 * time; the uid is compared with the log dir's owner. (On a
 * VM, run it as bootstrap's last line says, with `deno task --node-modules-dir=manual`, so
 * `deno task` does not first install the bridge's npm packages.) `--settings` picks the settings
 * file to check; by default, those bootstrap merged into (from `install.json`).
 *
 * The checks, in order, and when each fails (each failure prints a `fix:`; the logic is in
 * `scripts/install/doctor_checks.ts` and the `doctor_*.ts` beside it):
 *
 * - `deno`: the deno binary the wrappers name is gone or not executable. Its version is shown
 *   when it is the binary running doctor.
 * - `install`: `install.json` is missing, a file it lists is missing, a wrapper is not
 *   executable, or an entry script is not cached in `deno_dir`.
 * - `env`: `.env` is missing, is not mode 0600, or sets no absolute `ZO_LOG_DIR`.
 * - `endpoint`: `GET health` next to `ZO_EVENT_ENDPOINT` does not answer 200 (skipped with no
 *   endpoint).
 * - `api key`: an empty `POST` to the endpoint with the key gets 401 or 403 rather than the 400
 *   `empty_body` of a key that passed. Nothing is stored (the bridge counts one malformed
 *   request in `zo_events_rejected_total`).
 * - `key project`: the bridge's `GET /whoami` says the key is bound to another project than the
 *   install's `ZO_PROJECT_ID` (or it is unset): the bridge would refuse every event with 403 and
 *   the relay dead-letter them, though the empty `POST` above passes.
 * - `settings`: a settings file lacks one of the wired events (see
 *   `scripts/install/hooks_block.ts`), or is missing or not JSON.
 * - `log dir`: the hooks would refuse the log dir (it belongs to another user, group or others may
 *   write to it or to its `spool/` or `relay/`, or one of those is a link), or `spool/` or `relay/`
 *   holds a link, FIFO or socket (refused by the hooks: what they would write there is lost).
 * - `relay`: no fresh heartbeat in `<log-dir>/relay/heartbeat` while http hooks are wired or
 *   events wait to be shipped (with command hooks and nothing to ship, an idle relay is fine: the
 *   next hook starts one).
 * - `relay key`: the running relay sends another key than the `.env`'s (one exported in the
 *   shell it was started from wins over the `.env`): `relay/status.json` holds its key's
 *   fingerprint, compared with the `.env` key's (skipped when no relay runs).
 * - `relay port`: `ZO_RELAY_PORT` on 127.0.0.1 is held by another install's relay (its
 *   `GET /relay` names another install dir) or by another program: fails with http hooks wired,
 *   warns with command hooks; with no `ZO_RELAY_PORT` in `.env` (an install from before each
 *   got its own), a free shared 8790 warns with http hooks.
 * - `backlog`: events past the relay's checkpoint in `<log-dir>/spool` are older than 10 minutes;
 *   it also reports their number and size.
 * - `dead letters`: `<log-dir>/relay/dead_letter.jsonl` has events the bridge refused that
 *   `deno task replay` has not shipped (past its checkpoint in `dead_letter.jsonl.replay/`); the
 *   fix line gives the replay command.
 *
 * Output: one line per check on stdout (`ok`, `warn`, `skip`, `FAIL`) with a `fix:` line under
 * each failure, then a summary; with `--json`, `{ "ok": ..., "checks": [...] }`. The API key is
 * never printed. Exit status 0 when no check fails,
 * 1 when one does, 2 on bad flags.
 *
 * @module
 */
import { DOCTOR_USAGE, type DoctorFlags, parseDoctorArgs } from "./install/args.ts";
import { runDoctor } from "./install/doctor_checks.ts";
import type { CheckResult } from "./install/doctor_result.ts";

/** The report doctor prints: one line per check, a `fix:` line under each failure. */
export function formatReport(results: readonly CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length));
  const lines: string[] = [];
  for (const result of results) {
    const status = result.status === "fail" ? "FAIL" : result.status;
    lines.push(`${status.padEnd(4)}  ${result.name.padEnd(width)}  ${result.detail}`);
    if (result.fix && result.status !== "ok") {
      lines.push(`${" ".repeat(width + 8)}fix: ${result.fix}`);
    }
  }
  const failed = results.filter((r) => r.status === "fail").length;
  lines.push(failed === 0 ? "All checks passed." : `${failed} check(s) failed.`);
  return lines.join("\n") + "\n";
}

/** Runs doctor with `args`; returns the exit status. */
export async function doctor(
  args: readonly string[],
  context: { cwd: string; home: string | undefined; out: (text: string) => void },
): Promise<number> {
  let flags: DoctorFlags;
  try {
    flags = parseDoctorArgs(args);
  } catch (error) {
    context.out(`${(error as Error).message}\nRun with --help for the flags.\n`);
    return 2;
  }
  if (flags.help) {
    context.out(`${DOCTOR_USAGE}\n`);
    return 0;
  }
  const installDir = flags.installDir.startsWith("/")
    ? flags.installDir
    : `${context.cwd}/${flags.installDir}`;
  let settingsPaths: string[] | undefined;
  if (flags.settings === "none") settingsPaths = [];
  else if (flags.settings === "project") settingsPaths = [`${context.cwd}/.claude/settings.json`];
  else if (flags.settings === "user") {
    if (!context.home) {
      context.out("Cannot use --settings user: HOME is not set\n");
      return 2;
    }
    settingsPaths = [`${context.home}/.claude/settings.json`];
  }
  const results = await runDoctor({ installDir, settingsPaths });
  const failed = results.some((r) => r.status === "fail");
  context.out(
    flags.json
      ? `${JSON.stringify({ ok: !failed, checks: results }, null, 2)}\n`
      : formatReport(results),
  );
  return results.some((r) => r.status === "fail") ? 1 : 0;
}

/** Entry point: `deno task doctor [flags]`. */
export async function main(): Promise<void> {
  const encoder = new TextEncoder();
  const code = await doctor(Deno.args, {
    cwd: Deno.env.get("INIT_CWD") || Deno.cwd(),
    home: Deno.env.get("HOME") || undefined,
    out: (text) => Deno.stdout.writeSync(encoder.encode(text)),
  });
  Deno.exit(code);
}

if (import.meta.main) {
  await main();
}
