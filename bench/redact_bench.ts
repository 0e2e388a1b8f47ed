/**
 * Redaction speed on 100 KB hook payloads, against the 5 ms budget of issue #2 and against a
 * floor: a JSON round trip of the same payload (the least work that touches every string).
 * Runs both interleaved, in one process, and prints medians and ratios (this machine is noisy).
 *
 * ```sh
 * deno task bench:redact   # deno run bench/redact_bench.ts (no permissions needed)
 * ```
 *
 * @module
 */
import { eventFromHookPayload } from "../hooks/pipeline/envelope.ts";
import { createRedactor } from "../shared/redact.ts";

const TARGET_BYTES = 100 * 1024;
const ROUNDS = 300;
const BUDGET_MS = 5;

/** A deterministic pseudo-random generator, so every run measures the same payloads. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const next = random(42);
const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
const hex = (n: number) => Array.from({ length: n }, () => pick([..."0123456789abcdef"])).join("");
const alnum = (n: number) =>
  Array.from(
    { length: n },
    () => pick([..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"]),
  )
    .join("");

/** Lines an agent really sees: code, logs, paths, ids, digests, and now and then a secret. */
const LINE_MAKERS: (() => string)[] = [
  () =>
    `  const result = await client.${pick(["get", "put", "list"])}(${
      pick(["id", "key", "path"])
    });`,
  () =>
    `import { ${pick(["withRetry", "getToken", "parse"])} } from "./${
      pick(["util", "auth", "io"])
    }.ts";`,
  () => `commit ${hex(40)} (HEAD -> main, origin/main)`,
  () =>
    `2026-11-24T10:${
      Math.floor(next() * 60)
    }:00.123Z INFO request ${crypto.randomUUID()} took 12ms`,
  () => `/home/dev/app/node_modules/.deno/zod@4.6.7/node_modules/zod/v4/core/${alnum(8)}.js`,
  () => `    "integrity": "sha512-${alnum(86)}==",`,
  () => `<div class="btn btn-primary text-sm md:flex px-${Math.floor(next() * 9)}">Save</div>`,
  () => `  if (!process.env.API_KEY) throw new Error("set API_KEY; see docs/setup.md#token");`,
  () =>
    `ok ${Math.floor(next() * 900)} - uploader retries ${Math.floor(next() * 5)} times (${
      Math.floor(next() * 90)
    }ms)`,
  () =>
    `    at Object.<anonymous> (/home/dev/app/src/${alnum(6)}.ts:${Math.floor(next() * 300)}:17)`,
  () => `GITHUB_TOKEN=ghp_${alnum(36)}`,
  () => `DATABASE_URL=postgres://app:${alnum(16)}@db.internal:5432/app`,
  () => `curl -H "Authorization: Bearer ${alnum(40)}" https://api.example.com/v1/items`,
];

function textOfSize(bytes: number): string {
  const lines: string[] = [];
  let size = 0;
  while (size < bytes) {
    const line = pick(LINE_MAKERS)();
    lines.push(line);
    size += line.length + 1;
  }
  return lines.join("\n");
}

/** Three shapes of 100 KB payload: one big file read, a command's output, many small fields. */
function payloads(): Record<string, Record<string, unknown>> {
  const common = {
    session_id: "00893aaf-19fa-41d2-8238-13269b9b3ca0",
    transcript_path: "/home/dev/.claude/projects/-home-dev-app/00893aaf.jsonl",
    cwd: "/home/dev/app",
    hook_event_name: "PostToolUse",
    tool_use_id: "toolu_01ABC123",
  };
  const manyFields: Record<string, string> = {};
  let size = 0;
  for (let i = 0; size < TARGET_BYTES; i++) {
    const line = pick(LINE_MAKERS)();
    manyFields[`field_${i}`] = line;
    size += line.length + 12;
  }
  return {
    "Read of a 100 KB file": {
      ...common,
      tool_name: "Read",
      tool_input: { file_path: "/home/dev/app/src/upload.ts" },
      tool_response: { type: "text", file: { content: textOfSize(TARGET_BYTES) } },
    },
    "Bash with 100 KB of output": {
      ...common,
      tool_name: "Bash",
      tool_input: { command: "npm test 2>&1", description: "Run test suite" },
      tool_response: { stdout: textOfSize(TARGET_BYTES), stderr: "", interrupted: false },
    },
    "MCP result of ~2,000 small fields": {
      ...common,
      tool_name: "mcp__db__query",
      tool_input: { query: "select * from settings" },
      tool_response: manyFields,
    },
  };
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

async function main(): Promise<void> {
  const redactor = await createRedactor({ mode: "strict", hostNames: ["dev-vm-7"], salt: "bench" });
  const context = { run_id: "run-1", source: { host: "dev-vm-7", cwd: "/home/dev/app" } };
  const rows: string[][] = [[
    "payload",
    "KB",
    "JSON copy",
    "redact()",
    "ratio",
    "p95",
    "whole envelope",
    `redact() <= ${BUDGET_MS} ms`,
  ]];
  let allWithin = true;

  for (const [name, payload] of Object.entries(payloads())) {
    const kb = new TextEncoder().encode(JSON.stringify(payload)).length / 1024;
    const copy: number[] = [];
    const redact: number[] = [];
    const envelope: number[] = [];
    for (let i = 0; i < 30; i++) redactor.redact(payload); // warm up the JIT
    for (let i = 0; i < ROUNDS; i++) {
      let start = performance.now();
      JSON.parse(JSON.stringify(payload));
      copy.push(performance.now() - start);
      start = performance.now();
      redactor.redact(payload);
      redact.push(performance.now() - start);
      if (i % 10 === 0) {
        start = performance.now();
        await eventFromHookPayload(payload, context, { redactor });
        envelope.push(performance.now() - start);
      }
    }
    const within = median(redact) <= BUDGET_MS;
    allWithin &&= within;
    rows.push([
      name,
      kb.toFixed(0),
      `${median(copy).toFixed(2)} ms`,
      `${median(redact).toFixed(2)} ms`,
      `${(median(redact) / median(copy)).toFixed(1)}x`,
      `${percentile(redact, 0.95).toFixed(2)} ms`,
      `${median(envelope).toFixed(2)} ms`,
      within ? "yes" : "NO",
    ]);
  }

  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)));
  const lines = rows.map((row) => row.map((cell, col) => cell.padEnd(widths[col]!)).join("  "));
  const out = [
    `Redaction, strict mode, medians of ${ROUNDS} interleaved rounds (Deno ${Deno.version.deno}):`,
    ...lines,
    "",
    "ratio = redact() / JSON copy of the same payload; whole envelope = redact, describe, cap, hash.",
    allWithin
      ? `Every payload is redacted within ${BUDGET_MS} ms.`
      : `Over the ${BUDGET_MS} ms budget.`,
  ];
  await Deno.stdout.write(new TextEncoder().encode(out.join("\n") + "\n"));
}

if (import.meta.main) {
  await main();
}
