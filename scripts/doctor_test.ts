import assert from "node:assert/strict";
import { doctor, formatReport } from "./doctor.ts";

Deno.test("formatReport() prints one line per check and a fix under each failure", () => {
  const text = formatReport([
    { name: "deno", status: "ok", detail: "deno 2.9.6 at /usr/bin/deno" },
    { name: "env", status: "fail", detail: "mode 0644", fix: "chmod 600 /opt/claude-hooks/.env" },
    { name: "endpoint", status: "skip", detail: "no endpoint" },
  ]);
  assert.equal(
    text,
    [
      "ok    deno      deno 2.9.6 at /usr/bin/deno",
      "FAIL  env       mode 0644",
      "                fix: chmod 600 /opt/claude-hooks/.env",
      "skip  endpoint  no endpoint",
      "1 check(s) failed.",
      "",
    ].join("\n"),
  );
  assert.match(formatReport([{ name: "x", status: "ok", detail: "" }]), /All checks passed\.\n$/);
});

Deno.test("doctor() exits 2 on bad flags and 1 when there is no install", async () => {
  let out = "";
  const context = { cwd: "/tmp", home: "/tmp", out: (text: string) => out += text };
  assert.equal(await doctor(["--frobnicate"], context), 2);
  assert.match(out, /Cannot use --frobnicate: unknown flag/);
  out = "";
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await doctor([`--install-dir=${dir}`, "--settings=none"], context), 1);
    assert.match(out, /^FAIL +install +no .*install\.json/m);
    assert.match(out, /^FAIL +env +no .*\.env/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
