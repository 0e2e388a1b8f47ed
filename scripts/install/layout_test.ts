import assert from "node:assert/strict";
import { installLayout, type Manifest, readManifest, renderManifest } from "./layout.ts";

const MANIFEST: Manifest = {
  version: 1,
  denoPath: "/usr/bin/deno",
  logDir: "/var/zo",
  files: ["bin/stop", ".env", "hooks/stop.ts"],
  dirs: ["deno_dir"],
  settings: [{ path: "/home/u/.claude/settings.json", hookType: "command" }],
};

Deno.test("renderManifest() is stable and readManifest() reads it back", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const layout = installLayout(dir);
    assert.equal(layout.manifestFile, `${dir}/install.json`);
    assert.equal(await readManifest(layout), undefined);
    const text = renderManifest(MANIFEST);
    assert.equal(text, renderManifest({ ...MANIFEST, files: [...MANIFEST.files].reverse() }));
    await Deno.writeTextFile(layout.manifestFile, text);
    assert.deepEqual(await readManifest(layout), {
      ...MANIFEST,
      files: [...MANIFEST.files].sort(),
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readManifest() refuses paths that leave the install dir", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const layout = installLayout(dir);
    for (const files of [["../etc/passwd"], ["/etc/passwd"], ["bin//x"], ["a/./b"]]) {
      await Deno.writeTextFile(layout.manifestFile, JSON.stringify({ ...MANIFEST, files }));
      await assert.rejects(readManifest(layout), /Cannot read .*install\.json: not a manifest/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
