import assert from "node:assert/strict";
import { DASHBOARD_FILES } from "./assets.ts";

/** What the browser may get: the files of `static/` (tests and server code live outside it). */
const SERVED = /\.(html|css|js|svg)$/;

Deno.test("assets.ts embeds every file of the dashboard, as it is on disk", async () => {
  const dir = new URL("./static/", import.meta.url);
  const onDisk = [...Deno.readDirSync(dir)]
    .filter((entry) => entry.isFile && SERVED.test(entry.name))
    .map((entry) => entry.name)
    .sort();
  assert.deepEqual(Object.keys(DASHBOARD_FILES).sort(), onDisk);
  for (const name of onDisk) {
    assert.equal(DASHBOARD_FILES[name], await Deno.readTextFile(new URL(name, dir)), name);
  }
});

Deno.test("the modules of the first render are preloaded; every import is embedded", () => {
  const html = DASHBOARD_FILES["index.html"]!;
  const imports = (name: string, pattern: RegExp) =>
    [...DASHBOARD_FILES[name]!.matchAll(pattern)].map((match) => match[1]!);
  const staticImport = /^import .* from "\.\/([a-z_]+\.js)";$/gm;
  const dynamicImport = /await import\("\.\/([a-z_]+\.js)"\)/g;
  // main.js, what it imports, and the fleet view (the default) with its imports.
  const firstRender = new Set<string>();
  const visit = (name: string) => {
    if (firstRender.has(name)) return;
    firstRender.add(name);
    imports(name, staticImport).forEach(visit);
  };
  visit("main.js");
  visit("fleet.js");
  for (const name of firstRender) {
    assert.ok(html.includes(`<link rel="modulepreload" href="${name}">`), `${name} not preloaded`);
  }
  for (const [name] of Object.entries(DASHBOARD_FILES).filter(([n]) => n.endsWith(".js"))) {
    for (const target of [...imports(name, staticImport), ...imports(name, dynamicImport)]) {
      assert.ok(target in DASHBOARD_FILES, `${name} imports ${target}, which is not embedded`);
    }
  }
  for (const match of html.matchAll(/href="([a-z_]+\.[a-z]+)"/g)) {
    assert.ok(match[1]! in DASHBOARD_FILES, `index.html links ${match[1]}, which is not embedded`);
  }
  assert.deepEqual(imports("main.js", dynamicImport).sort(), [
    "events.js",
    "fleet.js",
    "session.js",
    "usage.js",
  ]);
  // No inline script or style: the Content-Security-Policy forbids them.
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/);
  assert.doesNotMatch(html, /\sstyle=|<style/);
});
