import assert from "node:assert/strict";
import { installLayout, renderManifest } from "./layout.ts";
import { uninstall } from "./uninstall.ts";

Deno.test("uninstall() removes what the manifest lists and keeps the rest", async () => {
  const root = await Deno.makeTempDir();
  try {
    const layout = installLayout(`${root}/opt`);
    const files = ["bin/stop", "hooks/pipeline/relay/pump.ts", ".env", "install.json"];
    for (const file of ["bin/stop", "hooks/pipeline/relay/pump.ts", ".env", "mine.txt"]) {
      await Deno.mkdir(`${layout.dir}/${file}`.replace(/\/[^/]+$/, ""), { recursive: true });
      await Deno.writeTextFile(`${layout.dir}/${file}`, "x");
    }
    await Deno.mkdir(`${layout.denoDir}/gen`, { recursive: true });
    await Deno.writeTextFile(`${layout.denoDir}/gen/x.js`, "x");
    await Deno.mkdir(`${root}/log/spool`, { recursive: true });
    await Deno.writeTextFile(
      layout.manifestFile,
      renderManifest({
        version: 1,
        denoPath: "/usr/bin/deno",
        logDir: `${root}/log`,
        files,
        dirs: ["deno_dir"],
        settings: [],
      }),
    );
    const lines: string[] = [];
    const dry = await uninstall({
      installDir: layout.dir,
      dryRun: true,
      log: (l) => lines.push(l),
    });
    assert.equal(dry.removedFiles, 4);
    await Deno.stat(`${layout.dir}/bin/stop`);

    const result = await uninstall({
      installDir: layout.dir,
      dryRun: false,
      log: (l) => lines.push(l),
    });
    assert.deepEqual(result, { found: true, settings: [], removedFiles: 4, logDir: `${root}/log` });
    assert.deepEqual([...Deno.readDirSync(layout.dir)].map((e) => e.name), ["mine.txt"]);
    await Deno.stat(`${root}/log/spool`);
    assert.ok(lines.some((l) => l.includes("holds files bootstrap did not create")));
    assert.ok(lines.some((l) => l.includes(`the log dir ${root}/log stays`)));

    await Deno.remove(`${layout.dir}/mine.txt`);
    const again = await uninstall({ installDir: layout.dir, dryRun: false, log: () => {} });
    assert.equal(again.found, false);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
