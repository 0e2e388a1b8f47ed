import assert from "node:assert/strict";
import { hooksBlock } from "./hooks_block.ts";
import {
  applySettingsFile,
  BACKUP_SUFFIX,
  mergeHooks,
  parseSettings,
  removeFromSettingsFile,
  removeHooks,
  renderSettings,
} from "./settings_merge.ts";

const DIR = "/opt/claude-hooks";
const BLOCK = hooksBlock({ installDir: DIR, hookType: "command", relayPort: 8790 });
const USER_HOOK = { type: "command", command: "/usr/local/bin/my-lint" };
const ORIGINAL = JSON.stringify(
  {
    model: "sonnet",
    hooks: {
      PostToolUse: [{ matcher: "Bash", hooks: [USER_HOOK] }],
      MyFutureEvent: [{ hooks: [USER_HOOK] }],
    },
    permissions: { allow: ["Bash(ls)"] },
  },
  null,
  4,
) + "\n";

Deno.test("mergeHooks() adds ours and keeps the user's hooks and settings", () => {
  const { settings } = mergeHooks(parseSettings(ORIGINAL, "s"), BLOCK, DIR);
  assert.equal(settings.model, "sonnet");
  assert.deepEqual(settings.permissions, { allow: ["Bash(ls)"] });
  const hooks = settings.hooks as Record<string, { matcher?: string; hooks: unknown[] }[]>;
  assert.deepEqual(hooks.PostToolUse![0], { matcher: "Bash", hooks: [USER_HOOK] });
  assert.deepEqual(hooks.PostToolUse![1], BLOCK.PostToolUse![0]);
  assert.deepEqual(hooks.MyFutureEvent, [{ hooks: [USER_HOOK] }]);
  assert.deepEqual(Object.keys(hooks).slice(0, 2), ["PostToolUse", "MyFutureEvent"]);
  for (const event of Object.keys(BLOCK)) assert.ok(hooks[event], event);
});

Deno.test("mergeHooks() twice gives the same text; ours are replaced where they stand", () => {
  const once = renderSettings(mergeHooks(parseSettings(ORIGINAL, "s"), BLOCK, DIR).settings);
  assert.equal(renderSettings(mergeHooks(parseSettings(once, "s"), BLOCK, DIR).settings), once);
  // The user adds a hook after ours, and one inside our matcher group.
  const edited = parseSettings(once, "s");
  const hooks = edited.hooks as Record<string, { hooks: unknown[] }[]>;
  hooks.PostToolUse!.push({ matcher: "Edit", hooks: [USER_HOOK] } as never);
  hooks.Notification![0]!.hooks.unshift(USER_HOOK);
  const merged = mergeHooks(edited, BLOCK, DIR).settings;
  const after = merged.hooks as Record<string, { matcher?: string; hooks: unknown[] }[]>;
  assert.deepEqual(after.PostToolUse!.map((g) => g.matcher), ["Bash", "*", "Edit"]);
  // Their hook keeps its group; ours comes right after it, in a group of its own.
  assert.deepEqual(after.Notification, [{ hooks: [USER_HOOK] }, BLOCK.Notification![0]]);
  const text = renderSettings(merged);
  assert.equal(renderSettings(mergeHooks(parseSettings(text, "s"), BLOCK, DIR).settings), text);
});

Deno.test("removeHooks() takes out exactly ours, and what only ours filled", () => {
  const merged = mergeHooks(parseSettings(ORIGINAL, "s"), BLOCK, DIR).settings;
  const { settings, removed } = removeHooks(merged, DIR);
  assert.equal(removed, Object.keys(BLOCK).length);
  assert.deepEqual(settings, JSON.parse(ORIGINAL));
  const empty = mergeHooks({}, BLOCK, DIR).settings;
  assert.deepEqual(removeHooks(empty, DIR).settings, {});
  assert.deepEqual(removeHooks({ hooks: {} }, DIR), { settings: { hooks: {} }, removed: 0 });
  // Another install's hooks are not ours.
  const other = hooksBlock({ installDir: "/srv/other", hookType: "command", relayPort: 8790 });
  assert.equal(removeHooks(mergeHooks({}, other, "/srv/other").settings, DIR).removed, 0);
});

Deno.test("parseSettings() refuses what it cannot merge into", () => {
  assert.throws(
    () => parseSettings("{", "/h/s.json"),
    /Cannot merge hooks into \/h\/s\.json: it is not JSON/,
  );
  assert.throws(() => parseSettings("[]", "s"), /holds no JSON object/);
  assert.throws(() => parseSettings('{"hooks": []}', "s"), /"hooks" is not an object/);
  assert.deepEqual(parseSettings("", "s"), {});
});

Deno.test("applySettingsFile() backs up once, is idempotent, and removal restores the bytes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/.claude/settings.json`;
    await Deno.mkdir(`${dir}/.claude`);
    await Deno.writeTextFile(path, ORIGINAL, { mode: 0o640 });
    await Deno.chmod(path, 0o640);
    const first = await applySettingsFile(path, BLOCK, { installDir: DIR });
    assert.deepEqual(first, { path, changed: true, backupWritten: `${path}${BACKUP_SUFFIX}` });
    assert.equal(await Deno.readTextFile(`${path}${BACKUP_SUFFIX}`), ORIGINAL);
    assert.equal((await Deno.stat(`${path}${BACKUP_SUFFIX}`)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o640);
    const merged = await Deno.readTextFile(path);
    const mtime = (await Deno.stat(path)).mtime;
    assert.deepEqual(await applySettingsFile(path, BLOCK, { installDir: DIR }), {
      path,
      changed: false,
    });
    assert.equal(await Deno.readTextFile(path), merged);
    assert.deepEqual((await Deno.stat(path)).mtime, mtime);

    const dry = await removeFromSettingsFile(path, { installDir: DIR, dryRun: true });
    assert.equal(dry.restored, true);
    assert.equal(await Deno.readTextFile(path), merged);
    assert.deepEqual(await removeFromSettingsFile(path, { installDir: DIR }), {
      path,
      changed: true,
      restored: true,
    });
    assert.equal(await Deno.readTextFile(path), ORIGINAL);
    await assert.rejects(Deno.stat(`${path}${BACKUP_SUFFIX}`), Deno.errors.NotFound);
    assert.deepEqual(await removeFromSettingsFile(path, { installDir: DIR }), {
      path,
      changed: false,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("removeFromSettingsFile() keeps later edits and the backup; deletes a file it created", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/settings.json`;
    await Deno.writeTextFile(path, ORIGINAL);
    await applySettingsFile(path, BLOCK, { installDir: DIR });
    const edited = JSON.parse(await Deno.readTextFile(path));
    edited.model = "opus";
    await Deno.writeTextFile(path, JSON.stringify(edited));
    const change = await removeFromSettingsFile(path, { installDir: DIR });
    assert.equal(change.backupKept, `${path}${BACKUP_SUFFIX}`);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(path)), {
      ...JSON.parse(ORIGINAL),
      model: "opus",
    });

    const created = `${dir}/new/settings.json`;
    const made = await applySettingsFile(created, BLOCK, { installDir: DIR });
    assert.deepEqual(made, { path: created, changed: true });
    assert.equal((await Deno.stat(created)).mode! & 0o777, 0o644);
    assert.deepEqual(await removeFromSettingsFile(created, { installDir: DIR }), {
      path: created,
      changed: true,
      deleted: true,
    });
    await assert.rejects(Deno.stat(created), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
