/**
 * What the real Claude Code CLI fired, counted beside our hooks: an http recorder and a shell
 * recorder registered on every wired event, next to this project's own block.
 *
 * @module
 */
import {
  COMMAND_ONLY_EVENTS,
  type HooksSettings,
  WIRED_EVENTS,
} from "../../scripts/install/hooks_block.ts";

export const TOOL_EVENTS = new Set([
  "PreToolUse",
  "PermissionRequest",
  "PermissionDenied",
  "PostToolUse",
  "PostToolUseFailure",
]);

/**
 * The recorder of what the CLI fired: an http hook to this server on every event the CLI runs
 * http hooks for. The CLI posts it from its own process, so its kill of hooks still running at
 * its exit cannot lose a count (a request counts once its head arrives). SessionStart and Setup,
 * which never run http hooks, get a shell recorder instead: deaf to the CLI's SIGTERM and
 * detached like our wrapper, writing each payload to a file of its own (they fire at a session's
 * start, not its end).
 */
export interface Recorder extends AsyncDisposable {
  url: string;
  counts: Map<string, number>;
  sessions: Set<string>;
}

export function startRecorder(): Recorder {
  const counts = new Map<string, number>();
  const sessions = new Set<string>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const event = new URL(request.url).pathname.split("/").at(-1)!;
    counts.set(event, (counts.get(event) ?? 0) + 1);
    try {
      sessions.add(JSON.parse(await request.text()).session_id);
    } catch {
      // A body the CLI's exit cut short: the event fired all the same.
    }
    return new Response(null, { status: 200 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/record`,
    counts,
    sessions,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** Our block for `wiring`, plus the recorder beside our hook on every wired event. */
export async function settingsWithRecorder(
  installDir: string,
  wiring: "command" | "http",
  recorder: Recorder,
  recordDir: string,
): Promise<{ hooks: HooksSettings }> {
  const ours = JSON.parse(
    await Deno.readTextFile(`${installDir}/settings/hooks.${wiring}.json`),
  ) as { hooks: HooksSettings };
  const hooks: HooksSettings = {};
  for (const event of WIRED_EVENTS) {
    const handler = COMMAND_ONLY_EVENTS.includes(event)
      ? {
        type: "command",
        command: `trap '' TERM; exec setsid -f sh -c 'cat > "$1.tmp" && mv "$1.tmp" "$1"' ` +
          `recorder ${recordDir}/$$.${event}.json`,
        timeout: 10,
      }
      : { type: "http", url: `${recorder.url}/${event}`, timeout: 10 };
    hooks[event] = [
      TOOL_EVENTS.has(event) ? { matcher: "*", hooks: [handler] } : { hooks: [handler] },
      ...(ours.hooks[event] ?? []),
    ];
  }
  return { hooks };
}

/**
 * What the recorders saw: the count of each event (the shell recorder's by the event name in each
 * file's name), and the session ids of the payloads they read.
 */
export async function fired(
  recorder: Recorder,
  recordDir: string,
): Promise<{ counts: Map<string, number>; sessions: Set<string> }> {
  const counts = new Map(recorder.counts);
  const sessions = new Set(recorder.sessions);
  // Detached shell recorders still writing hold a `.tmp` name: wait for them (bounded, generous
  // on a loaded machine).
  for (let i = 0; i < 300; i++) {
    const names = [...Deno.readDirSync(recordDir)].map((entry) => entry.name);
    if (!names.some((name) => name.endsWith(".tmp"))) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  for await (const entry of Deno.readDir(recordDir)) {
    const name = /\.([A-Za-z]+)\.json(\.tmp)?$/.exec(entry.name)?.[1];
    if (name === undefined) continue;
    counts.set(name, (counts.get(name) ?? 0) + 1);
    const text = await Deno.readTextFile(`${recordDir}/${entry.name}`);
    if (entry.name.endsWith(".json") && text.trim() !== "") {
      sessions.add(JSON.parse(text).session_id);
    }
  }
  return { counts, sessions };
}
