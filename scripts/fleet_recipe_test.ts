/**
 * The fleet recipe of docs/DEPLOYMENT.md ("Over SSH"), run as written against two stand-in hosts
 * on this machine: `ssh`, `rsync` and `sudo` become shell functions that work on a directory per
 * host (its HOME), and `/opt/claude-hooks` becomes `$HOME/claude-hooks`; everything else,
 * `bootstrap_vm.sh` and bootstrap included, runs for real. Both VMs then hold the fleet's one salt
 * and key, and their hooks give this host the same pseudonym.
 *
 * Needs `--allow-run=env` (bash, tar, openssl and the wrappers run under `env`),
 * `--allow-read=.,/tmp`, `--allow-write=/tmp`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { parseEnvFile } from "./install/env_file.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const PAYLOAD = `${REPO}/testdata/claude-code/payloads/session_start.json`;
const HOSTS = ["agent@vm-1", "agent@vm-2"];

/** The recipe's `sh` block under "### Over SSH". */
export function fleetRecipe(deployment: string): string {
  const section = deployment.split(/^### /m).find((part) => part.startsWith("Over SSH\n"));
  assert.ok(section, 'docs/DEPLOYMENT.md has an "Over SSH" section');
  const block = /^```sh\n([\s\S]*?)^```$/m.exec(section)?.[1];
  assert.ok(block, "the section has a sh block");
  return block;
}

// Stand-ins: a host is the directory $FLEET_ROOT/<user@host>, which is its HOME; sudo runs the
// command as is. rsync copies with tar and honours --exclude.
const STAND_INS = String.raw`
rsync() {
  local excludes=()
  while [ $# -gt 2 ]; do
    case "$1" in --exclude) excludes+=("--exclude=$2"); shift 2 ;; *) shift ;; esac
  done
  local dest="$FLEET_ROOT/${"${2%%:*}"}/${"${2#*:}"}"
  mkdir -p "$dest" && tar -C "$1" "${"${excludes[@]}"}" -cf - . | tar -C "$dest" -xf -
}
ssh() {
  local host="$1"
  shift
  (cd "$FLEET_ROOT/$host" && HOME="$FLEET_ROOT/$host" USER="$(id -un)" \
    bash -c 'sudo() { "$@"; }; '"$*")
}
`;

async function run(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; stdin?: string } = {},
) {
  const child = new Deno.Command("env", {
    args,
    cwd: options.cwd,
    env: options.env,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const output = await child.output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

async function spooled(logDir: string): Promise<Record<string, unknown>[]> {
  const events: Record<string, unknown>[] = [];
  try {
    for await (const entry of Deno.readDir(`${logDir}/spool`)) {
      if (!entry.name.endsWith(".jsonl")) continue;
      const text = await Deno.readTextFile(`${logDir}/spool/${entry.name}`);
      for (const line of text.split("\n")) if (line.trim()) events.push(JSON.parse(line));
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return events;
}

Deno.test("docs/DEPLOYMENT.md's fleet recipe gives every VM the fleet's one salt and key", async () => {
  const root = await Deno.makeTempDir({ prefix: "zo-fleet-" });
  try {
    const recipe = fleetRecipe(await Deno.readTextFile(`${REPO}/docs/DEPLOYMENT.md`));
    for (const original of ["/path/to/this/checkout", "/opt/claude-hooks", "--salt-file"]) {
      assert.ok(recipe.includes(original), `the recipe no longer has ${original}`);
    }
    const script = STAND_INS + recipe
      .replaceAll("/path/to/this/checkout", REPO)
      .replaceAll("/opt/claude-hooks", "$HOME/claude-hooks");
    await Deno.mkdir(`${root}/admin`);
    await Deno.writeTextFile(`${root}/admin/hosts.txt`, HOSTS.join("\n") + "\n");
    const key = `ingest-${crypto.randomUUID()}`;
    await Deno.writeTextFile(`${root}/admin/ingest.key`, `${key}\n`, { mode: 0o600 });
    for (const host of HOSTS) await Deno.mkdir(`${root}/${host}`);

    const fleet = await run(["bash", "-c", script], {
      cwd: `${root}/admin`,
      env: { FLEET_ROOT: root },
    });
    assert.equal(fleet.code, 0, fleet.stderr);
    assert.doesNotMatch(fleet.stderr, /FAILED/, fleet.stderr);
    assert.ok(!fleet.stdout.includes(key) && !fleet.stderr.includes(key), "the key is never shown");
    const salt = (await Deno.readTextFile(`${root}/admin/fleet.salt`)).trim();
    assert.match(salt, /^[0-9a-f]{64}$/, "the recipe made the fleet's salt");

    const workers: unknown[] = [];
    for (const host of HOSTS) {
      const home = `${root}/${host}`;
      assert.match(fleet.stderr, new RegExp(`doctor .*--install-dir ${home}/claude-hooks`));
      const env = parseEnvFile(await Deno.readTextFile(`${home}/claude-hooks/.env`));
      assert.equal(env.get("ZO_REDACTION_SALT"), salt, host);
      assert.equal(env.get("ZO_INGEST_KEY"), key, host);
      assert.equal(env.get("ZO_PROJECT_ID"), "acme", host);
      for (const left of [".zo-ingest.key", ".zo-fleet.salt"]) {
        await assert.rejects(
          Deno.stat(`${home}/${left}`),
          Deno.errors.NotFound,
          `${host}: ${left}`,
        );
      }
      assert.ok((await Deno.stat(`${home}/.claude/settings.json`)).isFile, host);

      // One hook on each VM, as Claude Code runs it; a blank endpoint keeps the event in the spool.
      const hook = await run(
        [
          "-i",
          "PATH=/usr/bin:/bin",
          "ZO_EVENT_ENDPOINT=",
          `${home}/claude-hooks/bin/session_start`,
        ],
        { cwd: "/", stdin: await Deno.readTextFile(PAYLOAD) },
      );
      assert.equal(hook.code, 0, hook.stderr);
      const logDir = env.get("ZO_LOG_DIR")!;
      assert.ok(logDir.startsWith(home), logDir);
      let events: Record<string, unknown>[] = [];
      for (let i = 0; i < 300 && events.length === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        events = await spooled(logDir);
      }
      assert.equal(events.length, 1, `${host}: the hook spooled its event`);
      workers.push(events[0]!.worker_id);
    }
    const hostname = (await run(["hostname"])).stdout.trim();
    assert.equal(workers[0], workers[1], "one pseudonym for this host on both VMs");
    assert.equal(typeof workers[0], "string");
    assert.notEqual(workers[0], hostname, "the host name itself never leaves the VM");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
