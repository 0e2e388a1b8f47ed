import assert from "node:assert/strict";
import { artifactRefs, WHOLE_READ_BYTES } from "./artifacts.ts";

Deno.test("artifactRefs() hashes and sizes files, and lists what it cannot read", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/a.txt`, "hello\n");
    await Deno.writeFile(`${dir}/empty`, new Uint8Array(0));
    const big = new Uint8Array(WHOLE_READ_BYTES + 1234).fill(7);
    await Deno.writeFile(`${dir}/big.bin`, big);
    const { refs, problems } = await artifactRefs(
      [`${dir}/a.txt`, `${dir}/empty`, `${dir}/big.bin`, `${dir}/missing`, dir],
      { type: "log" },
    );
    const bigHash = Array.from(
      new Uint8Array(await crypto.subtle.digest("SHA-256", big)),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    assert.deepEqual(refs, [
      {
        path: `${dir}/a.txt`,
        type: "log",
        hash: "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03",
        size_bytes: 6,
      },
      {
        path: `${dir}/empty`,
        type: "log",
        hash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        size_bytes: 0,
      },
      { path: `${dir}/big.bin`, type: "log", hash: bigHash, size_bytes: big.length },
    ]);
    assert.deepEqual(problems.map((p) => p.path), [`${dir}/missing`, dir]);
    assert.ok(problems.every((p) => p.error.startsWith("Cannot hash artifact: ")));
    assert.equal((await artifactRefs([`${dir}/a.txt`])).refs[0]?.type, "file");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
