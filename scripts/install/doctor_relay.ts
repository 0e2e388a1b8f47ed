/**
 * Doctor's checks of the log dir: the relay's heartbeat, the key the running relay sends, the
 * backlog of unshipped events, and the dead letters no replay has shipped.
 *
 * @module
 */
import { relayAlive } from "../../hooks/pipeline/relay_launcher.ts";
import { keyFingerprint, readRelayStatus } from "../../hooks/pipeline/relay/relay_status.ts";
import { LAYOUT } from "../../hooks/pipeline/spool.ts";
import type { Backlog, DeadLetters } from "./backlog.ts";
import type { InstallLayout } from "./layout.ts";
import { type CheckResult, count, readOptional } from "./doctor_result.ts";

/** Unshipped events older than this mean the relay is not shipping. */
export const BACKLOG_STALE_MS = 10 * 60_000;

/** Relay: its heartbeat is fresh, or nothing needs one now. */
export async function checkRelay(
  layout: InstallLayout,
  logDir: string,
  needs: { http: boolean; backlog: number; endpoint: boolean },
  nowMs: number,
): Promise<CheckResult> {
  const name = "relay";
  const heartbeat = `${logDir}/${LAYOUT.heartbeatFile}`;
  if (relayAlive(logDir, nowMs)) {
    const pid = (await readOptional(heartbeat))?.trim();
    return { name, status: "ok", detail: `running (pid ${pid || "?"})` };
  }
  const start = `${layout.binDir}/relay --service, or a unit from ${layout.systemdDir}`;
  if (needs.http) {
    return {
      name,
      status: "fail",
      detail: `no relay runs for ${logDir}, and the http hooks need one`,
      fix: `start it: ${start}`,
    };
  }
  if (needs.endpoint && needs.backlog > 0) {
    return {
      name,
      status: "fail",
      detail: `no relay runs for ${logDir}, with ${count(needs.backlog, "event")} waiting`,
      fix:
        `start it (${start}); if it stops at once, run ${layout.binDir}/relay by hand to see why`,
    };
  }
  return {
    name,
    status: "ok",
    detail: needs.endpoint
      ? "not running, nothing to ship: the next hook starts one on demand"
      : "not needed: no endpoint",
  };
}

function size(bytes: number): string {
  return bytes < 1024 * 1024
    ? `${(bytes / 1024).toFixed(1)} KB`
    : `${(bytes / 1048576).toFixed(1)} MB`;
}

/** Backlog: how much waits to be shipped; stale when its oldest event is too old. */
export function checkBacklog(
  backlog: Backlog,
  endpoint: boolean,
  layout: InstallLayout,
  nowMs: number,
): CheckResult {
  const name = "backlog";
  if (backlog.events === 0) return { name, status: "ok", detail: "nothing waits" };
  const waiting = `${count(backlog.events, "event")} (${size(backlog.bytes)}) waiting`;
  if (!endpoint) {
    return { name, status: "ok", detail: `${waiting} in the local spool (no endpoint)` };
  }
  const age = backlog.oldestMs === undefined ? 0 : nowMs - backlog.oldestMs;
  if (age > BACKLOG_STALE_MS) {
    return {
      name,
      status: "fail",
      detail: `${waiting}, the oldest since ${
        new Date(backlog.oldestMs!).toISOString()
      }: nothing ships`,
      fix: "see the relay, endpoint and key checks; run " +
        `${layout.binDir}/relay by hand to see its errors`,
    };
  }
  return { name, status: "ok", detail: `${waiting} to be shipped` };
}

/** The key a process started with `env` (its `.env` loaded by `--env-file`) would send. */
export function keyOf(env: Map<string, string>): { key?: string; variable: string } {
  const ingest = env.get("ZO_INGEST_KEY")?.trim();
  if (ingest) return { key: ingest, variable: "ZO_INGEST_KEY" };
  const old = env.get("ZO_API_KEY")?.trim();
  if (old) return { key: old, variable: "ZO_API_KEY" };
  return { variable: "ZO_INGEST_KEY" };
}

/**
 * Relay key: the running relay sends the `.env`'s key. A key exported in the shell that started
 * Claude Code wins over the `.env` (Deno's `--env-file` never overrides the environment), so
 * every hook and relay started from that shell sends it; the relay reports which key it sends
 * as a fingerprint in `relay/status.json`.
 */
export async function checkRelayKey(
  layout: InstallLayout,
  logDir: string,
  env: Map<string, string>,
  nowMs: number,
): Promise<CheckResult> {
  const name = "relay key";
  if (!env.get("ZO_EVENT_ENDPOINT")) return { name, status: "skip", detail: "no endpoint" };
  if (!relayAlive(logDir, nowMs)) {
    return { name, status: "skip", detail: "no relay runs now" };
  }
  const pid = Number((await readOptional(`${logDir}/${LAYOUT.heartbeatFile}`))?.split("\n")[0]);
  const status = await readRelayStatus(logDir);
  const restart = `restart it: systemctl --user restart zo-relay, or for an on-demand relay ` +
    `kill ${Number.isSafeInteger(pid) ? pid : "<pid>"} (the next hook starts a new one)`;
  if (status === undefined || status.pid !== pid) {
    return {
      name,
      status: "warn",
      detail: `the running relay (pid ${pid || "?"}) does not say which key it sends ` +
        "(started before this install's update?)",
      fix: restart,
    };
  }
  const mine = keyOf(env);
  const expected = mine.key === undefined ? null : await keyFingerprint(mine.key);
  if (status.key_fingerprint === expected && status.key_variable === "ZO_API_KEY") {
    return {
      name,
      status: "warn",
      detail: `the running relay (pid ${pid}) sends the key of ${layout.envFile}, under its old ` +
        "name ZO_API_KEY",
      fix: "re-run bootstrap (it renames the key ZO_INGEST_KEY in the .env), then " + restart,
    };
  }
  if (status.key_fingerprint === expected) {
    return {
      name,
      status: "ok",
      detail: `the running relay (pid ${pid}) sends the key of ${layout.envFile}` +
        (expected === null ? " (none)" : ""),
    };
  }
  const sent = status.key_fingerprint === null
    ? "no key"
    : `another key than ${layout.envFile}, from ${status.key_variable} in the environment it ` +
      "was started from";
  return {
    name,
    status: "fail",
    detail: `the running relay (pid ${pid}) sends ${sent}: the bridge may refuse all it sends`,
    fix: `unset ${status.key_variable} in the shell that starts Claude Code (a read key belongs ` +
      `in ZO_READ_KEY), then ${restart}`,
  };
}

function isoMinute(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16) + "Z";
}

/**
 * Dead letters: events the bridge refused, that `deno task replay` has not shipped since. They
 * never arrive by themselves: each one fails doctor until it is replayed (or its file moved
 * away, to drop it).
 */
export function checkDeadLetters(dead: DeadLetters, envFile: string): CheckResult {
  const name = "dead letters";
  if (dead.total === 0) return { name, status: "ok", detail: "none" };
  if (dead.pending === 0) {
    return {
      name,
      status: "ok",
      detail: `${count(dead.total, "refused event")}, all replayed (${dead.file}.replay/)`,
    };
  }
  const since = dead.firstPendingAt ? ` since ${dead.firstPendingAt.slice(0, 16)}Z` : "";
  const last = dead.lastMs === undefined ? "" : `, the last at ${isoMinute(dead.lastMs)}`;
  return {
    name,
    status: "fail",
    detail: `${count(dead.pending, "event")} refused by the bridge${since}${last}, not replayed: ` +
      `each line of ${dead.file} says why`,
    fix: "fix the cause first (see the key project and api key checks), then replay them from " +
      `this checkout: (set -a; . ${envFile}; deno task replay ${dead.file}); events of another ` +
      "project need a key of that project in ZO_INGEST_KEY. To drop them instead, move the " +
      "file away",
  };
}
