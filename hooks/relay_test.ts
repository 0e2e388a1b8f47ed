import assert from "node:assert/strict";
import { parseRelayFlags } from "./relay.ts";

Deno.test("parseRelayFlags() reads the relay's flags", () => {
  assert.deepEqual(parseRelayFlags([]), { mode: "on-demand", help: false });
  assert.deepEqual(parseRelayFlags(["--service", "--port=0"]), {
    mode: "service",
    port: 0,
    help: false,
  });
  assert.deepEqual(parseRelayFlags(["--on-demand", "--port", "8791"]).port, 8791);
  assert.equal(parseRelayFlags(["--no-http"]).port, null);
  assert.equal(parseRelayFlags(["-h"]).help, true);
  assert.throws(() => parseRelayFlags(["--port=70000"]), /^TypeError: Cannot use --port "70000"/);
  assert.throws(() => parseRelayFlags(["--daemon"]), /^TypeError: Cannot use flag "--daemon"/);
});

Deno.test("hooks/relay.ts exits 2 with a clear line on a bad flag or setting", async () => {
  const run = (args: string[], env: Record<string, string>) =>
    new Deno.Command("deno", {
      args: [
        "run",
        "--no-config",
        "--no-npm", // as the relay runs on a VM (its protobuf decoder is then not loadable)
        "--allow-env",
        new URL("./relay.ts", import.meta.url).pathname,
        ...args,
      ],
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
  const badFlag = await run(["--daemon"], { ZO_LOG_DIR: "/nonexistent" });
  assert.equal(badFlag.code, 2);
  assert.match(
    new TextDecoder().decode(badFlag.stderr),
    /^Cannot start the relay: Cannot use flag "--daemon"/,
  );
  const badSetting = await run([], { ZO_LOG_DIR: "/x", ZO_EVENT_ENDPOINT: "ftp://nope" });
  assert.equal(badSetting.code, 2);
  assert.match(
    new TextDecoder().decode(badSetting.stderr),
    /ZO_EVENT_ENDPOINT="ftp:\/\/nope": use http/,
  );
  assert.equal(new TextDecoder().decode(badSetting.stdout), "");
});
