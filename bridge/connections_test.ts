import assert from "node:assert/strict";
import { type LimitedServer, serveWithLimits } from "./connections.ts";

const encoder = new TextEncoder();

async function withServer(
  limits: Parameters<typeof serveWithLimits>[1]["limits"],
  handler: Deno.ServeHandler<Deno.NetAddr>,
  body: (server: LimitedServer, url: string) => Promise<void>,
): Promise<void> {
  const server = await serveWithLimits(handler, { hostname: "127.0.0.1", port: 0, limits });
  try {
    await body(server, `http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown({ graceMs: 500 });
  }
}

/** GET with a fresh connection each time (no pool), as another tenant's client would. */
async function get(url: string): Promise<{ status: number; text: string }> {
  const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  try {
    const response = await fetch(url, { client });
    return { status: response.status, text: await response.text() };
  } finally {
    client.close();
  }
}

/** Resolves when the peer closes `conn` (read gives null or fails), within `rounds` reads. */
async function closedByPeer(conn: Deno.Conn): Promise<boolean> {
  const buffer = new Uint8Array(1024);
  for (let i = 0; i < 100; i++) {
    try {
      if (await conn.read(buffer) === null) return true;
    } catch {
      return true;
    }
  }
  return false;
}

const ok = () => new Response("ok");

Deno.test("serveWithLimits() passes requests and bodies through", async () => {
  await withServer(
    {},
    async (req) => new Response(`got ${(await req.text()).length}`),
    async (_, url) => {
      const client = Deno.createHttpClient({});
      for (let i = 0; i < 3; i++) {
        const response = await fetch(url, { method: "POST", body: "x".repeat(200_000), client });
        assert.equal(await response.text(), "got 200000");
      }
      client.close();
    },
  );
});

Deno.test("serveWithLimits(): idle connections beyond the cap give way; /health still answers", async () => {
  await withServer({ maxConnections: 20 }, ok, async (server, url) => {
    const idle: Deno.Conn[] = [];
    for (let i = 0; i < 60; i++) {
      idle.push(await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }));
    }
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(await get(`${url}/health`), { status: 200, text: "ok" });
    }
    assert.ok(server.connections <= 20, `${server.connections} connections open`);
    assert.ok(server.closed.evicted > 0);
    for (const conn of idle) conn.close();
  });
});

Deno.test("serveWithLimits(): a header trickled line by line is cut at the header deadline", async () => {
  await withServer({ headerTimeoutMs: 300 }, ok, async (server, url) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    await conn.write(encoder.encode("GET / HTTP/1.1\r\nhost: x\r\n"));
    let cut = false;
    // Bounded: 100 header lines 50 ms apart, far past the deadline.
    for (let i = 0; i < 100 && !cut; i++) {
      try {
        await conn.write(encoder.encode(`x-slow-${i}: y\r\n`));
      } catch {
        cut = true;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      if (server.closed.header_timeout > 0) cut = true;
      assert.equal((await get(url)).status, 200); // others are served meanwhile
    }
    assert.ok(cut, "the trickling connection was never closed");
    assert.ok(await closedByPeer(conn));
    conn.close();
  });
});

Deno.test("serveWithLimits(): an idle kept-alive connection is closed at the idle timeout", async () => {
  await withServer({ idleTimeoutMs: 300 }, ok, async (server) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    await conn.write(encoder.encode("GET / HTTP/1.1\r\nhost: x\r\n\r\n"));
    const buffer = new Uint8Array(1024);
    const n = await conn.read(buffer);
    assert.match(new TextDecoder().decode(buffer.subarray(0, n ?? 0)), /^HTTP\/1.1 200/);
    assert.ok(await closedByPeer(conn));
    assert.equal(server.closed.idle, 1);
    conn.close();
  });
});

Deno.test("serveWithLimits(): when every connection is busy, a newcomer gets 503 busy", async () => {
  const release = Promise.withResolvers<void>();
  const slow = async () => {
    await release.promise;
    return new Response("slow");
  };
  await withServer({ maxConnections: 2 }, slow, async (_, url) => {
    const clients = [Deno.createHttpClient({}), Deno.createHttpClient({})];
    const pending = clients.map((client) => fetch(url, { client }).then((r) => r.text()));
    await new Promise((resolve) => setTimeout(resolve, 200)); // both are in flight
    const refused = await get(url);
    assert.equal(refused.status, 503);
    assert.equal(JSON.parse(refused.text).reason, "busy");
    release.resolve();
    assert.deepEqual(await Promise.all(pending), ["slow", "slow"]);
    for (const client of clients) client.close();
  });
});

Deno.test("serveWithLimits(): shutdown cuts a stuck request at its grace", async () => {
  const release = Promise.withResolvers<void>();
  const server = await serveWithLimits(async () => {
    await release.promise;
    return new Response("late");
  }, { hostname: "127.0.0.1", port: 0 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  await conn.write(encoder.encode("GET / HTTP/1.1\r\nhost: x\r\n\r\n"));
  await new Promise((resolve) => setTimeout(resolve, 100));
  const stopped = server.shutdown({ graceMs: 300 });
  // The connection is cut while its handler is still stuck.
  assert.ok(await closedByPeer(conn));
  release.resolve();
  await stopped;
  await server.finished;
  conn.close();
});

Deno.test("serveWithLimits() checks its limits", async () => {
  await assert.rejects(
    serveWithLimits(ok, { hostname: "127.0.0.1", port: 0, limits: { maxConnections: 0 } }),
    RangeError,
  );
});
