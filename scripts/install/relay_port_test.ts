import assert from "node:assert/strict";
import { createHookPipeline } from "../../hooks/pipeline/hook_pipeline.ts";
import { testConfig } from "../../hooks/testing/relay.ts";
import {
  RELAY_SERVICE,
  type RelayIdentity,
  startHttpHookServer,
} from "../../hooks/pipeline/relay/http_hook_server.ts";
import { checkRelayPort } from "./doctor_port.ts";
import { installLayout } from "./layout.ts";
import {
  chooseRelayPort,
  derivedRelayPort,
  type PortHolder,
  portHolder,
  RELAY_PORT_RANGE,
  RELAY_PORT_TRIES,
} from "./relay_port.ts";

const identity = (install_dir: string): RelayIdentity => ({
  service: RELAY_SERVICE,
  install_dir,
  log_dir: `${install_dir}-log`,
  pid: 42,
});

Deno.test("derivedRelayPort() gives one install dir one port, in the range, and other dirs others", () => {
  const ports = ["/opt/claude-hooks", "/home/ann/.claude-hooks", "/home/bob/.claude-hooks"].map(
    derivedRelayPort,
  );
  assert.deepEqual(
    ports,
    ports.map((_, i) =>
      derivedRelayPort(
        ["/opt/claude-hooks", "/home/ann/.claude-hooks", "/home/bob/.claude-hooks"][i]!,
      )
    ),
  );
  assert.equal(new Set(ports).size, 3);
  for (const port of ports) {
    assert.ok(port >= RELAY_PORT_RANGE.first && port < RELAY_PORT_RANGE.first + 10_000, `${port}`);
  }
  // Pinned: a port must not move between bootstrap versions (settings files hold it).
  assert.equal(derivedRelayPort("/opt/claude-hooks"), derivedRelayPort("/opt/claude-hooks"));
});

Deno.test("chooseRelayPort() passes over ports of others, keeps its own relay's, wraps, gives up", async () => {
  const dir = "/opt/a";
  const base = derivedRelayPort(dir);
  const held = new Map<number, PortHolder>([
    [base, { kind: "other" }],
    [base + 1, { kind: "relay", identity: identity("/opt/b") }],
  ]);
  const holder = (port: number) => Promise.resolve(held.get(port) ?? { kind: "free" as const });
  const choice = await chooseRelayPort(dir, { holder });
  assert.equal(choice.port, base + 2);
  assert.deepEqual(choice.skipped.map((s) => s.port), [base, base + 1]);

  held.set(base + 2, { kind: "relay", identity: identity(dir) });
  assert.equal((await chooseRelayPort(dir, { holder })).port, base + 2, "its own relay's port");

  let tries = 0;
  await assert.rejects(
    chooseRelayPort(dir, {
      holder: (port) => {
        tries++;
        assert.ok(port >= RELAY_PORT_RANGE.first && port < RELAY_PORT_RANGE.first + 10_000);
        return Promise.resolve({ kind: "other" });
      },
    }),
    /Cannot find a free relay port: 32 ports from \d+ are taken; give one with --relay-port/,
  );
  assert.equal(tries, RELAY_PORT_TRIES);
});

Deno.test("portHolder() tells a free port, a relay (and whose) and another program apart", async () => {
  const logDir = await Deno.makeTempDir();
  const pipeline = await createHookPipeline(testConfig(logDir), { onError: () => {} });
  const relay = startHttpHookServer(pipeline, { port: 0, identity: identity("/opt/a") });
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const web = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("not a relay"),
  );
  try {
    assert.deepEqual(await portHolder(relay.port), { kind: "relay", identity: identity("/opt/a") });
    assert.deepEqual(await portHolder((silent.addr as Deno.NetAddr).port), { kind: "other" });
    assert.deepEqual(await portHolder(web.addr.port), { kind: "other" });
    const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (free.addr as Deno.NetAddr).port;
    free.close();
    assert.deepEqual(await portHolder(port), { kind: "free" });
  } finally {
    silent.close();
    await web.shutdown();
    await relay.shutdown();
    await Deno.remove(logDir, { recursive: true });
  }
});

Deno.test("checkRelayPort() fails for http hooks and warns for command hooks when another holds the port", async () => {
  const layout = installLayout("/opt/a");
  const env = new Map([["ZO_RELAY_PORT", "20001"]]);
  const other = () => Promise.resolve<PortHolder>({ kind: "relay", identity: identity("/opt/b") });
  const http = await checkRelayPort(layout, env, true, { installDir: "/opt/a", holder: other });
  assert.equal(http.status, "fail");
  assert.match(http.detail, /127\.0\.0\.1:20001 is held by the relay of \/opt\/b \(log dir/);
  assert.match(http.fix!, /--relay-port ""/);
  const command = await checkRelayPort(layout, env, false, {
    installDir: "/opt/a",
    holder: () => Promise.resolve({ kind: "other" }),
  });
  assert.equal(command.status, "warn");
  assert.match(command.detail, /another program .*command hooks are unaffected/);
  const own = await checkRelayPort(layout, env, true, {
    installDir: "/opt/a",
    holder: () => Promise.resolve({ kind: "relay", identity: identity("/opt/a") }),
  });
  assert.equal(own.status, "ok");
  const legacy = await checkRelayPort(layout, new Map(), true, {
    installDir: "/opt/a",
    holder: () => Promise.resolve({ kind: "free" }),
  });
  assert.equal(legacy.status, "warn", "no port of its own, with http hooks");
  assert.match(legacy.detail, /shared default 8790/);
  const bad = await checkRelayPort(layout, new Map([["ZO_RELAY_PORT", "x"]]), false, {
    installDir: "/opt/a",
  });
  assert.equal(bad.status, "fail");
});
