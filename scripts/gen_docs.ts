/**
 * Writes the artefacts generated from code: `docs/schema.json` (JSON Schema of the envelope),
 * the generated sections of `docs/schema.md` (fields, event types, hook mapping, redaction rules,
 * hashed fields, limits), of `README.md` (configuration table) and of `docs/SECURITY.md` (the
 * permission flags of every script, `permissions_doc.ts`), and the 35 entry shims
 * `hooks/<event>.ts` (`hook_shims.ts`). With `--check`, writes nothing and exits 1 when a
 * committed file differs from what the code generates.
 *
 * ```sh
 * deno run --allow-read=docs,README.md,hooks --allow-write=docs,README.md,hooks --allow-run=deno scripts/gen_docs.ts
 * deno run --allow-read=docs,README.md,hooks --allow-run=deno scripts/gen_docs.ts --check
 * ```
 *
 * Markdown goes through `deno fmt` (hence `--allow-run=deno`), so generated tables are formatted
 * exactly as `deno fmt --check` wants them.
 *
 * ```sh
 * ```
 *
 * @module
 */
import { EVENT_TYPE_DESCRIPTIONS, HASHED_FIELDS, LIMITS } from "../shared/contract.ts";
import { ENV_VARS, type EnvVar } from "../shared/config.ts";
import { VM_ENV_VARS } from "../hooks/pipeline/vm_config.ts";
import { BRIDGE_ENV_VARS } from "../bridge/config_vars.ts";
import { TOOL_ENV_VARS } from "./cli/env_vars.ts";
import { HOOK_EVENTS, type HookEventSpec, UNKNOWN_HOOK_EVENT } from "../shared/hook_events.ts";
import { HOST_NAME_RULE, RULES } from "../shared/redaction_rules.ts";
import { eventJsonSchema } from "../shared/schema.ts";
import { permissionFlagsSection } from "./permissions_doc.ts";
import { hookShims } from "./hook_shims.ts";

type JsonSchema = {
  type?: string;
  enum?: unknown[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
};

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

function typeOf(schema: JsonSchema): string {
  if (schema.enum && schema.enum.length > 6) return `one of ${schema.enum.length} values (below)`;
  if (schema.enum) return schema.enum.map((v) => `\`${v}\``).join(", ");
  if (schema.type === "array" && schema.items) return `array of ${typeOf(schema.items)}`;
  return schema.type ?? "any";
}

function constraints(schema: JsonSchema): string {
  const parts: string[] = [];
  if (schema.format) parts.push(`format ${schema.format}`);
  if (schema.minLength) parts.push(`non-empty`);
  if (schema.maxLength !== undefined) parts.push(`at most ${schema.maxLength} chars`);
  if (schema.minimum !== undefined) parts.push(`>= ${schema.minimum}`);
  if (schema.pattern && schema.pattern.length <= 40 && !schema.format) {
    parts.push(`matches \`${schema.pattern}\``);
  }
  return parts.join("; ");
}

/** The field table: every property, nested ones as `parent.child` or `parent[].child`. */
export function fieldTable(schema: JsonSchema): string {
  const rows = ["| field | type | required | constraints | meaning |", "|---|---|---|---|---|"];
  const visit = (node: JsonSchema, prefix: string) => {
    const required = new Set(node.required ?? []);
    for (const [name, child] of Object.entries(node.properties ?? {})) {
      const path = `${prefix}${name}`;
      rows.push(
        `| \`${path}\` | ${cell(typeOf(child))} | ${required.has(name) ? "yes" : "no"} | ${
          cell(constraints(child))
        } | ${cell(child.description ?? "")} |`,
      );
      if (child.properties) visit(child, `${path}.`);
      if (child.items?.properties) visit(child.items, `${path}[].`);
    }
  };
  visit(schema, "");
  return rows.join("\n");
}

function eventTypeTable(): string {
  const rows = ["| event_type | meaning |", "|---|---|"];
  for (const [type, meaning] of Object.entries(EVENT_TYPE_DESCRIPTIONS)) {
    rows.push(`| \`${type}\` | ${cell(meaning)} |`);
  }
  return rows.join("\n");
}

function hookRow(name: string, spec: HookEventSpec): string {
  const text = spec.text.length === 0
    ? "msg"
    : spec.text.includes("*")
    ? "every payload field but the common ones"
    : spec.text.map((f) => `\`${f}\``).join(", ");
  const error = spec.error
    ? `<br>error_detail: \`${spec.error.type}\` / \`${spec.error.message}\``
    : "";
  return `| ${name} | ${cell(spec.when)} | \`${spec.type}\` | \`${spec.level}\` | \`${
    cell(spec.msg)
  }\`${error} | ${text} |`;
}

function hookTable(): string {
  const rows = [
    "| hook_event_name | fires when | event_type | level | msg template | indexable_text from |",
    "|---|---|---|---|---|---|",
  ];
  for (const [name, spec] of Object.entries(HOOK_EVENTS)) rows.push(hookRow(name, spec));
  rows.push(hookRow("*(any other)*", UNKNOWN_HOOK_EVENT));
  return rows.join("\n");
}

function ruleTable(): string {
  const rows = ["| rule | mode | finds |", "|---|---|---|"];
  for (const rule of [...RULES, HOST_NAME_RULE]) {
    rows.push(`| \`${rule.id}\` | ${rule.mode ?? "standard"} | ${cell(rule.description)} |`);
  }
  return rows.join("\n");
}

function limitsTable(): string {
  return [
    "| limit | value |",
    "|---|---|",
    `| \`msg\` | ${LIMITS.msgChars} characters |`,
    `| \`indexable_text\` | ${LIMITS.indexableTextChars} characters |`,
    `| identifiers (\`session_id\`, \`run_id\`, ...) | ${LIMITS.idChars} characters |`,
    `| one serialised event | ${LIMITS.defaultMaxEventBytes} bytes by default (\`ZO_MAX_EVENT_BYTES\`, at least ${LIMITS.minMaxEventBytes}) |`,
  ].join("\n");
}

/** The variables a VM reads (hooks and relay): its own, then those shared with the bridge. */
const VM_VARIABLES: readonly EnvVar[] = [
  ...VM_ENV_VARS,
  ...ENV_VARS.filter((v) => v.usedBy.includes("hooks")),
];
/** The variables the bridge reads: its own, then those shared with the VM. */
const BRIDGE_VARIABLES: readonly EnvVar[] = [
  ...BRIDGE_ENV_VARS,
  ...ENV_VARS.filter((v) => v.usedBy.includes("bridge")),
];

/** A configuration table; "read by" names the processes that read each variable. */
function envTable(variables: readonly EnvVar[]): string {
  const rows = ["| variable | default | read by | meaning |", "|---|---|---|---|"];
  for (const v of variables) {
    rows.push(
      `| \`${v.name}\` | ${v.default ? `\`${v.default}\`` : ""} | ${v.usedBy} | ${
        cell(v.description)
      } |`,
    );
  }
  return rows.join("\n");
}

/** Replaces the body of each `<!-- generated:NAME -->` … `<!-- /generated:NAME -->` section. */
export function fillSections(text: string, sections: Record<string, string>): string {
  let out = text;
  for (const [name, body] of Object.entries(sections)) {
    const start = `<!-- generated:${name} -->`;
    const end = `<!-- /generated:${name} -->`;
    const from = out.indexOf(start);
    const to = out.indexOf(end);
    if (from < 0 || to < from) {
      throw new Error(`Cannot find the section markers ${start} … ${end}`);
    }
    out = `${out.slice(0, from + start.length)}\n${body}\n${out.slice(to)}`;
  }
  return out;
}

/** Formats markdown as `deno fmt` would, so the generated files pass `deno fmt --check`. */
async function formatMarkdown(text: string): Promise<string> {
  const child = new Deno.Command("deno", {
    args: ["fmt", "--ext=md", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { success, stdout, stderr } = await child.output();
  if (!success) throw new Error(`Cannot format markdown: ${new TextDecoder().decode(stderr)}`);
  return new TextDecoder().decode(stdout);
}

/** Every generated file with the content the code gives it now. */
export async function generate(): Promise<Map<string, string>> {
  const schema = eventJsonSchema();
  const files = new Map<string, string>();
  files.set("docs/schema.json", JSON.stringify(schema, null, 2) + "\n");
  files.set(
    "docs/schema.md",
    await formatMarkdown(fillSections(await Deno.readTextFile("docs/schema.md"), {
      fields: fieldTable(schema as JsonSchema),
      "event-types": eventTypeTable(),
      "hook-events": hookTable(),
      "redaction-rules": ruleTable(),
      "hashed-fields": HASHED_FIELDS.map((f) => `\`${f}\``).join(", "),
      limits: limitsTable(),
    })),
  );
  files.set(
    "README.md",
    await formatMarkdown(
      fillSections(await Deno.readTextFile("README.md"), {
        "configuration-vm": envTable(VM_VARIABLES),
        "configuration-bridge": envTable(BRIDGE_VARIABLES),
        "configuration-tools": envTable(TOOL_ENV_VARS),
      }),
    ),
  );
  files.set(
    "docs/SECURITY.md",
    await formatMarkdown(
      fillSections(await Deno.readTextFile("docs/SECURITY.md"), {
        "permission-flags": permissionFlagsSection(),
      }),
    ),
  );
  for (const [path, source] of hookShims()) files.set(path, source);
  return files;
}

async function main(): Promise<void> {
  const check = Deno.args.includes("--check");
  const stale: string[] = [];
  for (const [path, content] of await generate()) {
    const current = await Deno.readTextFile(path).catch(() => "");
    if (current === content) continue;
    if (check) stale.push(path);
    else await Deno.writeTextFile(path, content);
  }
  if (stale.length > 0) {
    // deno-lint-ignore no-console -- a command-line tool reports to its user
    console.error(
      `Generated files are stale: ${stale.join(", ")}. Run \`deno task schema:gen\` and commit.`,
    );
    Deno.exit(1);
  }
}

if (import.meta.main) {
  await main();
}
