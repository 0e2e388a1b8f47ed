/**
 * Doctor's `log dir` check: the hooks refuse a log dir that is not the user's or that group or
 * others may write to, and never follow a link or open a FIFO in it; this says so before events
 * go missing, and how to fix it.
 *
 * @module
 */
import { LAYOUT } from "../../hooks/pipeline/spool.ts";
import { logDirIssue } from "../../hooks/pipeline/vm_config.ts";
import type { CheckResult } from "./doctor_result.ts";

/** Options of {@linkcode checkLogDir}. */
export interface LogDirCheckOptions {
  /** The uid the hooks run as; default this process's (doctor runs with `--allow-sys=uid`). */
  uid?: number;
}

function ownUid(): number | undefined {
  try {
    return Deno.uid() ?? undefined;
  } catch {
    return undefined;
  }
}

/** Entries of `dir` that are links, FIFOs, sockets or devices (a replay's state dir is fine). */
async function oddEntries(dir: string): Promise<string[]> {
  const odd: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isSymlink || (!entry.isFile && !entry.isDirectory)) {
        odd.push(`${dir}/${entry.name}`);
      }
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  return odd.sort();
}

/**
 * Fails when the hooks would refuse `logDir` (another user's, open to group or others, a
 * `spool/` or `relay/` that is a link), or when its `spool/` or `relay/` holds a link, FIFO or
 * socket (the hooks and the relay refuse to open those: what they would have written is lost).
 */
export async function checkLogDir(
  logDir: string,
  options: LogDirCheckOptions = {},
): Promise<CheckResult> {
  const name = "log dir";
  const issue = logDirIssue(logDir, options.uid ?? ownUid());
  if (issue) {
    return { name, status: "fail", detail: `the hooks refuse it: ${issue.reason}`, fix: issue.fix };
  }
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(logDir);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    return {
      name,
      status: "ok",
      detail: `${logDir} does not exist yet (the first hook creates it 0700)`,
    };
  }
  if (!info.isDirectory) {
    return {
      name,
      status: "fail",
      detail: `${logDir} is not a directory`,
      fix: `remove ${logDir}`,
    };
  }
  const odd = [
    ...await oddEntries(`${logDir}/${LAYOUT.spoolDir}`),
    ...await oddEntries(`${logDir}/${LAYOUT.relayDir}`),
  ];
  if (odd.length > 0) {
    return {
      name,
      status: "fail",
      detail: `a link, FIFO or socket, refused by the hooks: ${odd.slice(0, 3).join(", ")}${
        odd.length > 3 ? ` and ${odd.length - 3} more` : ""
      }`,
      fix: `remove ${odd.length === 1 ? "it" : "them"} (rm ${odd.slice(0, 3).join(" ")}${
        odd.length > 3 ? " ..." : ""
      })`,
    };
  }
  return {
    name,
    status: "ok",
    detail: `${logDir} is yours and closed to others (mode ${
      ((info.mode ?? 0) & 0o777).toString(8)
    })`,
  };
}
