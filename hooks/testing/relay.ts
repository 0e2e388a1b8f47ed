/**
 * Test support for the relay's unit tests: a fake bridge on a free loopback port that records
 * what it receives (gunzipped, NDJSON split), spool segments written by hand, and a VM config
 * pointing at both. Integration tests use the real bridge instead.
 *
 * @module
 */
import { loadVmConfig, type VmConfig } from "../pipeline/vm_config.ts";
import { ensureDir, LAYOUT, segmentName } from "../pipeline/spool.ts";
import type { Checkpoint } from "../pipeline/relay/checkpoint.ts";

/** One request the fake bridge received. */
export interface ReceivedRequest {
  headers: Headers;
  /** The NDJSON lines, parsed. */
  events: Record<string, unknown>[];
  /** Bytes on the wire (gzip'd when sent so). */
  wireBytes: number;
}

/** A fake bridge. */
export interface FakeBridge {
  url: URL;
  requests: ReceivedRequest[];
  /** Every event of every request answered 2xx, in order. */
  accepted: Record<string, unknown>[];
  close(): Promise<void>;
}

/** Decides the answer to request number `n` (0-based); default: accept everything. */
export type FakeAnswer = (
  request: ReceivedRequest,
  n: number,
) => Response | Promise<Response>;

/** Accepts every event, as the bridge does. */
export function acceptAll(request: ReceivedRequest): Response {
  return Response.json({ accepted: request.events.length, duplicates: 0, rejected: [] });
}

/** Starts a fake bridge on 127.0.0.1, port 0, answering with `answer`. */
export function startFakeBridge(answer: FakeAnswer = acceptAll): FakeBridge {
  const requests: ReceivedRequest[] = [];
  const accepted: Record<string, unknown>[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const raw = new Uint8Array(await req.arrayBuffer());
    const body = req.headers.get("content-encoding") === "gzip"
      ? new Uint8Array(
        await new Response(
          new Blob([raw]).stream().pipeThrough(new DecompressionStream("gzip")),
        ).arrayBuffer(),
      )
      : raw;
    const text = new TextDecoder().decode(body);
    const events = text.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line));
    const received = { headers: req.headers, events, wireBytes: raw.length };
    requests.push(received);
    const response = await answer(received, requests.length - 1);
    if (response.ok) accepted.push(...events);
    return response;
  });
  return {
    url: new URL(`http://127.0.0.1:${server.addr.port}/ingest`),
    requests,
    accepted,
    close: () => server.shutdown(),
  };
}

/** A small envelope-shaped object with a unique `event_id` and `seq`. */
export function fakeEvent(seq: number, pad = 0): Record<string, unknown> {
  return {
    event_id: `0190a000-0000-7000-8000-${String(seq).padStart(12, "0")}`,
    seq,
    msg: "x".repeat(pad),
  };
}

/** The name of a segment whose window started `minutesAgo` minutes ago. */
export function segmentAgo(minutesAgo: number): string {
  return segmentName(Date.now() - minutesAgo * 60_000);
}

/** Writes segment `name` in `logDir`'s spool with these lines (objects become JSON). */
export async function writeSegment(
  logDir: string,
  name: string,
  lines: readonly (string | Record<string, unknown>)[],
  options: { append?: boolean; newlineAtEnd?: boolean } = {},
): Promise<void> {
  await ensureDir(`${logDir}/${LAYOUT.spoolDir}`);
  const text = lines.map((line) => typeof line === "string" ? line : JSON.stringify(line))
    .join("\n") + ((options.newlineAtEnd ?? true) && lines.length > 0 ? "\n" : "");
  await Deno.writeTextFile(`${logDir}/${LAYOUT.spoolDir}/${name}`, text, {
    append: options.append ?? false,
  });
}

/** Reads a JSONL file into objects; empty when it does not exist. */
export async function readJsonl(path: string): Promise<Record<string, unknown>[]> {
  try {
    return (await Deno.readTextFile(path)).split("\n").filter(Boolean).map((l) => JSON.parse(l));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

/** A VM config for `logDir`, shipping to `endpoint` (or nowhere), from these extra settings. */
export function testConfig(
  logDir: string,
  endpoint?: URL,
  env: Record<string, string> = {},
): VmConfig {
  const all: Record<string, string> = {
    ZO_LOG_DIR: logDir,
    ZO_INGEST_KEY: "test-key",
    ZO_WORKER_ID: "worker-test",
    ZO_REDACTION_MODE: "strict",
    ...(endpoint ? { ZO_EVENT_ENDPOINT: endpoint.href } : {}),
    ...env,
  };
  return loadVmConfig((name) => all[name]);
}

/** A checkpoint without its inode, to compare with a segment and offset. */
export function position(checkpoint: Checkpoint): { segment: string; offset: number } {
  return { segment: checkpoint.segment, offset: checkpoint.offset };
}
