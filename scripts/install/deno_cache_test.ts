import assert from "node:assert/strict";
import { cachedModulePath, cacheEntryScripts, pathDenoVersion } from "./deno_cache.ts";

Deno.test("cacheEntryScripts() transpiles the entry scripts and their imports into DENO_DIR", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/lib.ts`, "export const n: number = 1;\n");
    await Deno.writeTextFile(`${dir}/main.ts`, 'import { n } from "./lib.ts";\nconsole.log(n);\n');
    await cacheEntryScripts({ denoDir: `${dir}/deno_dir`, entries: [`${dir}/main.ts`] });
    assert.equal(cachedModulePath("/d", "/x/main.ts"), "/d/gen/file/x/main.ts.js");
    await Deno.stat(cachedModulePath(`${dir}/deno_dir`, `${dir}/main.ts`));
    await Deno.stat(cachedModulePath(`${dir}/deno_dir`, `${dir}/lib.ts`));
    // What a hook could not load (a remote import, under --no-remote) fails here.
    await Deno.writeTextFile(`${dir}/remote.ts`, 'import "https://example.com/x.ts";\n');
    await assert.rejects(
      cacheEntryScripts({ denoDir: `${dir}/deno_dir`, entries: [`${dir}/remote.ts`] }),
      /Cannot cache the hooks in .*deno cache failed/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pathDenoVersion() reads the version of the deno on PATH", async () => {
  assert.equal(await pathDenoVersion(), Deno.version.deno);
});
