/**
 * Doctor's checks of the log dir: the relay's heartbeat, and the backlog of unshipped events.
 *
 * @module
 */
import { relayAlive } from "../../hooks/pipeline/relay_launcher.ts";
import { LAYOUT } from "../../hooks/pipeline/spool.ts";
import type { Backlog } from "./backlog.ts";
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
  const dead = backlog.deadLetters > 0
    ? `; ${count(backlog.deadLetters, "event")} refused by the bridge in relay/dead_letter.jsonl`
    : "";
  if (backlog.events === 0) return { name, status: "ok", detail: `nothing waits${dead}` };
  const waiting = `${count(backlog.events, "event")} (${size(backlog.bytes)}) waiting`;
  if (!endpoint) {
    return { name, status: "ok", detail: `${waiting} in the local spool (no endpoint)${dead}` };
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
  return { name, status: "ok", detail: `${waiting} to be shipped${dead}` };
}
