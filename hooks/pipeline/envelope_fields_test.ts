/**
 * No input field reaches the spool unredacted. A secret (random, per run, in one of several
 * formats) is planted in one place at a time: every string and every key of every real 2.1.328
 * payload (so data, tool input and output, cwd, transcript_path, prompts, messages...), the
 * settings and environment the context comes from (CLAUDE_PROJECT_DIR, ZO_WORKER_ID,
 * ZO_PROJECT_ID, CLAUDE_RUN_ID, the host name), own events (artifact paths and types, error
 * reports, worker spawns), garbage input and unusable settings. Each time the spooled line, the
 * bytes the relay ships, is walked string by string (keys included): the secret is in none, and
 * `redaction.rules` names the rule that took it. The relay's http endpoint and the usage
 * collector build their events with the same pipeline and `sealEvent()`, tested last.
 */
import assert from "node:assert/strict";
import { parseEvent } from "../../shared/schema.ts";
import { createRedactor } from "../../shared/redact.ts";
import { withLogDir } from "../testing/log_dir.ts";
import { sealEvent } from "./envelope.ts";
import { createHookPipeline } from "./hook_pipeline.ts";
import { loadHookConfig } from "./hook_runner.ts";
import { listSegments, segmentPath } from "./spool.ts";
import { loadVmConfig } from "./vm_config.ts";

const DIR = new URL("../../testdata/claude-code/real-2.1.328/", import.meta.url).pathname;
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

function randomOf(alphabet: string, length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
}

/** A planted secret: the text to plant, the part that must never come out, the rule that takes it. */
interface Plant {
  text: string;
  secret: string;
  rule: string;
}

const MAKERS: (() => Plant)[] = [
  () => {
    const secret = "ghp_" + randomOf(ALNUM, 40);
    return { text: secret, secret, rule: "github_pat" };
  },
  () => {
    const secret = "AKIA" + randomOf(UPPER_DIGITS, 16);
    return { text: secret, secret, rule: "aws_access_key" };
  },
  () => {
    const secret = "Zq8" + randomOf(ALNUM, 20);
    return { text: `password=${secret}`, secret, rule: "secret_assignment" };
  },
  () => {
    const secret = "Pw9" + randomOf(ALNUM, 16);
    return { text: `https://bob:${secret}@db.acme.dev/x`, secret, rule: "url_credentials" };
  },
];
let plants = 0;
/** The next planted secret, cycling through the formats. */
function plant(): Plant {
  return MAKERS[plants++ % MAKERS.length]!();
}

/** Every string of a value, keys included, with its path. */
function strings(value: unknown, path = "$", out: [string, string][] = []): [string, string][] {
  if (typeof value === "string") out.push([path, value]);
  else if (Array.isArray(value)) value.forEach((item, i) => strings(item, `${path}[${i}]`, out));
  else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      out.push([`${path}{key}`, key]);
      strings(item, `${path}.${key}`, out);
    }
  }
  return out;
}

/** Paths to every string leaf of a payload, as property-key lists. */
function leafPaths(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (typeof value === "string") return [path];
  if (Array.isArray(value)) return value.flatMap((item, i) => leafPaths(item, [...path, i]));
  if (value !== null && typeof value === "object") {
    return Object.entries(value).flatMap(([key, item]) => leafPaths(item, [...path, key]));
  }
  return [];
}

/** Paths to every object (the payload itself included), where a key can be planted. */
function objectPaths(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.flatMap((item, i) => objectPaths(item, [...path, i]));
  if (value === null || typeof value !== "object") return [];
  return [
    path,
    ...Object.entries(value).flatMap(([key, item]) => objectPaths(item, [...path, key])),
  ];
}

function at(root: unknown, path: (string | number)[]): Record<string | number, unknown> {
  let node = root as Record<string | number, unknown>;
  for (const key of path) node = node[key] as Record<string | number, unknown>;
  return node;
}

/** The spool's lines, each parsed. */
async function spooled(logDir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of await listSegments(logDir)) {
    out.push(...(await Deno.readTextFile(segmentPath(logDir, name))).split("\n").filter(Boolean));
  }
  return out;
}

/** Asserts that the last spooled line is valid and holds `p.secret` in none of its strings. */
async function assertClean(
  logDir: string,
  p: Plant,
  where: string,
  options: { ruleNamed?: boolean } = {},
): Promise<void> {
  const lines = await spooled(logDir);
  assert.ok(lines.length > 0, `${where}: nothing spooled`);
  const line = lines.at(-1)!;
  const event = JSON.parse(line);
  for (const [path, text] of strings(event)) {
    assert.ok(!text.includes(p.secret), `${where}: the secret came out in ${path}: ${text}`);
  }
  assert.ok(!line.includes(p.secret), `${where}: the secret is in the line`);
  const parsed = parseEvent(event);
  assert.ok(parsed.ok, `${where}: ${parsed.ok ? "" : parsed.error}`);
  assert.ok(
    options.ruleNamed === false || event.redaction.rules.includes(p.rule),
    `${where}: ${p.rule} not in redaction.rules ${JSON.stringify(event.redaction.rules)}`,
  );
}

function configIn(logDir: string, vars: Record<string, string> = {}) {
  return loadVmConfig((name) => ({ ZO_LOG_DIR: logDir, ZO_REDACTION_SALT: "s", ...vars })[name]);
}

const files = [...Deno.readDirSync(DIR)].map((entry) => entry.name).sort();

Deno.test("record() lets a secret planted in any string or key of a real payload out of no envelope field", async (t) => {
  assert.equal(files.length, 30);
  let runs = 0;
  for (const file of files) {
    const original = JSON.parse(await Deno.readTextFile(`${DIR}${file}`));
    await t.step(file, async () => {
      await withLogDir(async (logDir) => {
        const pipeline = await createHookPipeline(configIn(logDir), {
          host: "vm-1",
          projectDir: "/work/app",
        });
        const record = async (payload: unknown, p: Plant, where: string) => {
          const event = await pipeline.record(JSON.stringify(payload), { script: file });
          assert.ok(event, where);
          await assertClean(logDir, p, where);
          runs++;
        };
        for (const path of leafPaths(original)) {
          const payload = structuredClone(original);
          const parent = at(payload, path.slice(0, -1));
          const key = path.at(-1)!;
          const p = plant();
          // Appended, and alone: an id or an enum made of a secret must not pass either.
          parent[key] = `${parent[key]} ${p.text}`;
          await record(payload, p, `${file} ${path.join(".")} (appended)`);
          const alone = plant();
          const payload2 = structuredClone(original);
          at(payload2, path.slice(0, -1))[key] = alone.text;
          await record(payload2, alone, `${file} ${path.join(".")} (alone)`);
        }
        for (const path of objectPaths(original)) {
          const payload = structuredClone(original);
          const p = plant();
          at(payload, path)[p.text] = "x";
          await record(payload, p, `${file} key under ${path.join(".") || "$"}`);
        }
      });
    });
  }
  assert.ok(runs > 500, `only ${runs} plantings`);
});

Deno.test("record() redacts the context fields that come from settings and the environment", async (t) => {
  const payload = await Deno.readTextFile(`${DIR}PostToolUse.json`);
  const sources: [
    string,
    (p: Plant) => { vars?: Record<string, string>; projectDir?: string; host?: string },
  ][] = [
    ["CLAUDE_PROJECT_DIR", (p) => ({ projectDir: `/work/${p.text}` })],
    ["host name", (p) => ({ host: `vm-${p.text}` })],
    ["ZO_WORKER_ID", (p) => ({ vars: { ZO_WORKER_ID: p.text } })],
    ["ZO_PROJECT_ID", (p) => ({ vars: { ZO_PROJECT_ID: p.text } })],
    ["CLAUDE_RUN_ID", (p) => ({ vars: { CLAUDE_RUN_ID: p.text } })],
  ];
  for (const [name, source] of sources) {
    for (const mode of ["strict", "standard"]) {
      await t.step(`${name}, ${mode}`, async () => {
        await withLogDir(async (logDir) => {
          // The URL form holds "/" and ":", which no id may: those go to the settings error.
          const p = MAKERS[0]!();
          const given = source(p);
          const { config, error } = loadHookConfig((key) =>
            ({
              ZO_LOG_DIR: logDir,
              ZO_REDACTION_SALT: "s",
              ZO_REDACTION_MODE: mode,
              ...given.vars,
            })[key]
          );
          assert.equal(error, undefined);
          const pipeline = await createHookPipeline(config, {
            host: given.host ?? "vm-1",
            projectDir: given.projectDir ?? "/work/app",
          });
          await pipeline.record(payload, { script: "post_tool_use.ts" });
          // Strict mode shows the host as its pseudonym, made before any rule runs.
          const pseudonym = name === "host name" && mode === "strict";
          await assertClean(logDir, p, name, { ruleNamed: !pseudonym });
        });
      });
    }
  }
});

Deno.test("record() redacts every field of own events, garbage input and the settings error", async (t) => {
  await t.step("artifact: paths, type, problems and stdin fields", async () => {
    await withLogDir(async (logDir) => {
      const pipeline = await createHookPipeline(configIn(logDir), { host: "vm-1" });
      // A token format: a file name gives no context such as "password=".
      const p = MAKERS[0]!();
      const dir = await Deno.makeTempDir();
      try {
        const file = `${dir}/report-${p.secret}.txt`;
        await Deno.writeTextFile(file, "x");
        for (
          const [files, type] of [[[file], "file"], [[`${dir}/gone-${p.secret}`], "file"], [[
            file,
          ], `kind-${p.secret}`]] as const
        ) {
          await pipeline.record(JSON.stringify({ description: `made ${p.text}` }), {
            script: "artifact_produced.ts",
            kind: "artifact",
            files,
            artifactType: type,
          });
          await assertClean(logDir, p, `artifact ${files[0]} ${type}`);
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  });
  for (
    const [name, input, kind] of [
      [
        "error report, JSON",
        (p: Plant) => JSON.stringify({ message: p.text, stack_trace: p.text, error_type: "E" }),
        "error",
      ],
      ["error report, plain text", (p: Plant) => `failed: ${p.text}`, "error"],
      [
        "worker spawn",
        (p: Plant) =>
          JSON.stringify({ description: p.text, prompt: p.text, spawned_worker_id: "w" }),
        "worker_spawn",
      ],
      ["not JSON", (p: Plant) => `{"session_id": "s", "x": "${p.text}"`, undefined],
      ["not an object", (p: Plant) => JSON.stringify([p.text]), undefined],
    ] as const
  ) {
    await t.step(name, async () => {
      await withLogDir(async (logDir) => {
        const pipeline = await createHookPipeline(configIn(logDir), { host: "vm-1" });
        const p = plant();
        await pipeline.record(input(p), {
          script: "x.ts",
          event: "PostToolUse",
          ...(kind ? { kind } : {}),
        });
        await assertClean(logDir, p, name);
      });
    });
  }
  await t.step("cut input (stdin still open)", async () => {
    await withLogDir(async (logDir) => {
      const pipeline = await createHookPipeline(configIn(logDir), { host: "vm-1" });
      const p = plant();
      await pipeline.record(`{"tool_input": {"command": "${p.text}`, {
        script: "x.ts",
        incomplete: "stdin still open after 10000 ms",
      });
      await assertClean(logDir, p, "cut input");
    });
  });
  await t.step("unusable settings: the reason and the input", async () => {
    await withLogDir(async (logDir) => {
      const p = MAKERS[3]!(); // a URL with a password, as a bad endpoint
      const { config, error } = loadHookConfig((key) =>
        ({ ZO_LOG_DIR: logDir, ZO_EVENT_ENDPOINT: `ftp${p.text.slice(5)}` })[key]
      );
      assert.ok(error);
      const pipeline = await createHookPipeline(config, { host: "vm-1", configError: error });
      await pipeline.record(JSON.stringify({ session_id: "s", prompt: p.text }), {
        script: "x.ts",
      });
      await assertClean(logDir, p, "settings error");
    });
  });
});

Deno.test("sealEvent() redacts every top-level field of a draft, as the usage collector and spool reports use it", async () => {
  const redactor = await createRedactor({ mode: "strict", salt: "s" });
  const fields = [
    "session_id",
    "run_id",
    "project_id",
    "worker_id",
    "task_id",
    "agent_id",
    "parent_event_id",
    "hook_event_name",
    "tool_name",
    "tool_use_id",
    "prompt_id",
    "msg",
    "indexable_text",
  ];
  const planted: Plant[] = [];
  const draft: Record<string, unknown> = { event_type: "usage", level: "info" };
  for (const field of fields) {
    const p = plant();
    planted.push(p);
    draft[field] = p.text;
  }
  const more = Array.from({ length: 8 }, plant);
  planted.push(...more);
  draft.source = { host: more[0]!.text, cwd: more[1]!.text, project_dir: more[2]!.text };
  draft.error_detail = { type: more[3]!.text, message: more[4]!.text };
  draft.artifact_refs = [{ path: more[5]!.text, type: more[6]!.text, hash: "0".repeat(64) }];
  draft.data = { transcript: more[7]!.text };
  draft[more[7]!.text] = "unknown top-level field";
  const event = await sealEvent(draft as never, { redactor });
  for (const p of planted) {
    for (const [path, text] of strings(event)) {
      assert.ok(!text.includes(p.secret), `the secret came out in ${path}: ${text}`);
    }
  }
});
