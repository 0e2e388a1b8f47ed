/**
 * Doctor's check of the Claude Code settings files: each wires every event to this install.
 *
 * @module
 */
import { isOurHook, WIRED_EVENTS } from "./hooks_block.ts";
import type { HookType, InstallLayout } from "./layout.ts";
import {
  type CheckResult,
  type DoctorOptions,
  messageOf,
  readOptional,
  rerun,
} from "./doctor_result.ts";

/** Settings: every wired event has one of this install's hooks in each settings file. */
export async function checkSettings(
  layout: InstallLayout,
  paths: readonly string[],
  options: DoctorOptions,
): Promise<{ result: CheckResult; hookTypes: Set<HookType> }> {
  const name = "settings";
  const hookTypes = new Set<HookType>();
  if (paths.length === 0) {
    return {
      result: {
        name,
        status: "skip",
        detail: "bootstrap merged the hooks into no settings file; pass --settings user|project " +
          "to check one",
      },
      hookTypes,
    };
  }
  const problems: string[] = [];
  for (const path of paths) {
    const text = await readOptional(path);
    if (text === undefined) {
      problems.push(`${path} does not exist`);
      continue;
    }
    let hooks: Record<string, unknown> = {};
    try {
      hooks = JSON.parse(text)?.hooks ?? {};
    } catch (error) {
      problems.push(`${path} is not JSON (${messageOf(error)})`);
      continue;
    }
    const missing: string[] = [];
    for (const event of WIRED_EVENTS) {
      const groups = Array.isArray(hooks[event]) ? hooks[event] as { hooks?: unknown[] }[] : [];
      const ours = groups.flatMap((g) => Array.isArray(g?.hooks) ? g.hooks : [])
        .find((h) => isOurHook(h, layout.dir)) as { type?: string } | undefined;
      if (ours) hookTypes.add(ours.type === "http" ? "http" : "command");
      else missing.push(event);
    }
    if (missing.length > 0) {
      problems.push(
        `${path} does not wire ${missing.slice(0, 4).join(", ")}` +
          (missing.length > 4 ? ` and ${missing.length - 4} more` : ""),
      );
    }
  }
  if (problems.length > 0) {
    return {
      result: {
        name,
        status: "fail",
        detail: problems.join("; "),
        fix: `${rerun(options)} with --settings user|project (your own hooks stay)`,
      },
      hookTypes,
    };
  }
  return {
    result: {
      name,
      status: "ok",
      detail: `${WIRED_EVENTS.length} events wired (${[...hookTypes].join(", ")} hooks) in ${
        paths.join(", ")
      }`,
    },
    hookTypes,
  };
}
