import assert from "node:assert/strict";
import { ConfigError } from "../shared/config.ts";
import {
  chromaDefaultProvider,
  createEmbeddingProvider,
  EMBEDDING_ENV_VARS,
  EmbeddingError,
  featureHashEmbedding,
  loadEmbeddingConfig,
  OFFLINE_DIMENSION,
  offlineProvider,
  ollamaProvider,
  openaiProvider,
  providerDimension,
} from "./embeddings.ts";

const cosine = (a: number[], b: number[]) => a.reduce((sum, v, i) => sum + v * b[i]!, 0);
const norm = (a: number[]) => Math.sqrt(cosine(a, a));

Deno.test("featureHashEmbedding() is deterministic, normalised and word-based", () => {
  const a = featureHashEmbedding("Bash: npm test failed with 3 errors");
  assert.equal(a.length, OFFLINE_DIMENSION);
  assert.deepEqual(a, featureHashEmbedding("Bash: npm test failed with 3 errors"));
  assert.ok(Math.abs(norm(a) - 1) < 1e-9);
  assert.deepEqual(featureHashEmbedding(""), new Array(OFFLINE_DIMENSION).fill(0));
  // Case and punctuation do not matter; shared words make texts closer.
  assert.deepEqual(featureHashEmbedding("NPM test!"), featureHashEmbedding("npm, test"));
  const related = featureHashEmbedding("npm test failed");
  const unrelated = featureHashEmbedding("the user opened a pull request on github");
  assert.ok(cosine(a, related) > 0.5, `related ${cosine(a, related)}`);
  assert.ok(cosine(a, related) > cosine(a, unrelated) + 0.3);
  // Tool names split into their parts.
  const mcp = featureHashEmbedding("mcp__github__create_pull_request");
  assert.ok(cosine(mcp, featureHashEmbedding("github pull request")) > 0.4);
});

Deno.test("featureHashEmbedding() has a fixed value (stored vectors stay comparable)", () => {
  const v = featureHashEmbedding("hello world");
  const nonZero = v.map((x, i) => [i, Math.round(x * 1e4) / 1e4]).filter(([, x]) => x !== 0);
  assert.equal(nonZero.length, 3);
  assert.deepEqual(offlineProvider().dimension, 256);
  assert.equal(new Set(nonZero.map(([, x]) => Math.abs(x!))).size, 1);
});

Deno.test("loadEmbeddingConfig() reads the provider settings", async (t) => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  await t.step("defaults to offline", () => {
    const config = loadEmbeddingConfig(env({}));
    assert.equal(config.provider, "offline");
    assert.equal(config.ollamaUrl, "http://127.0.0.1:11434");
  });
  await t.step("refuses unknown providers and bad URLs", () => {
    assert.throws(
      () => loadEmbeddingConfig(env({ ZO_EMBEDDING_PROVIDER: "bert" })),
      (e) => e instanceof ConfigError && /one of offline, default, openai, ollama/.test(e.message),
    );
    assert.throws(
      () => loadEmbeddingConfig(env({ ZO_EMBEDDING_PROVIDER: "ollama", OLLAMA_URL: "ftp://x" })),
      /Cannot use OLLAMA_URL="ftp:\/\/x"/,
    );
    assert.throws(
      () => loadEmbeddingConfig(env({ ZO_EMBEDDING_PROVIDER: "openai" })),
      /OPENAI_API_KEY is not set/,
    );
    assert.throws(
      () => loadEmbeddingConfig(env({ ZO_EMBEDDING_MODEL: "bert" })),
      /offline provider: it has one model/,
    );
  });
  await t.step("every variable it reads is listed", () => {
    const names = EMBEDDING_ENV_VARS.map((v) => v.name);
    for (const name of ["ZO_EMBEDDING_PROVIDER", "ZO_EMBEDDING_MODEL", "OLLAMA_URL"]) {
      assert.ok(names.includes(name), name);
    }
    assert.ok(EMBEDDING_ENV_VARS.every((v) => v.usedBy === "bridge" && v.description.length > 10));
  });
});

Deno.test("chromaDefaultProvider() says how to add its package when it is missing", async () => {
  const tried: string[] = [];
  await assert.rejects(
    chromaDefaultProvider(undefined, (specifier) => {
      tried.push(specifier);
      return Promise.reject(new Error(`Cannot resolve ${specifier}`));
    }),
    (e) =>
      e instanceof ConfigError &&
      e.message.includes("deno add npm:@chroma-core/default-embed"),
  );
  assert.deepEqual(tried, ["@chroma-core/default-embed"]);
});

Deno.test("chromaDefaultProvider() uses the package's DefaultEmbeddingFunction", async () => {
  class DefaultEmbeddingFunction {
    constructor(readonly args: { modelName?: string }) {}
    generate(texts: string[]) {
      return Promise.resolve(texts.map((t) => [t.length, 1]));
    }
  }
  const provider = await chromaDefaultProvider(
    undefined,
    () => Promise.resolve({ DefaultEmbeddingFunction }),
  );
  assert.equal(provider.name, "default");
  assert.equal(provider.model, "all-MiniLM-L6-v2");
  assert.deepEqual(await provider.embed(["abc"]), [[3, 1]]);
});

/** A local stand-in for an embeddings API, recording what it was sent. */
function fakeServer(answer: (body: { model: string; input: string[] }) => unknown, status = 200) {
  const requests: { path: string; headers: Headers; body: { model: string; input: string[] } }[] =
    [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.json();
    requests.push({ path: new URL(req.url).pathname, headers: req.headers, body });
    return Response.json(answer(body), { status });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, requests, server };
}

Deno.test("openaiProvider() posts {model, input} with a bearer key and reads data[].embedding", async () => {
  const fake = fakeServer((body) => ({
    data: body.input.map((text, index) => ({ index, embedding: [text.length, 0.5] })).reverse(),
  }));
  try {
    const provider = openaiProvider({
      baseUrl: `${fake.url}/v1`,
      apiKey: "sk-test",
      model: "text-embedding-3-small",
    });
    assert.equal(provider.dimension, 1536);
    assert.deepEqual(await provider.embed(["a", "bcd"]), [[1, 0.5], [3, 0.5]]);
    const [request] = fake.requests;
    assert.equal(request!.path, "/v1/embeddings");
    assert.equal(request!.headers.get("authorization"), "Bearer sk-test");
    assert.deepEqual(request!.body, { model: "text-embedding-3-small", input: ["a", "bcd"] });
    // Long inputs go in batches.
    const many = Array.from({ length: 300 }, (_, i) => `t${i}`);
    assert.equal((await provider.embed(many)).length, 300);
    assert.deepEqual(fake.requests.slice(1).map((r) => r.body.input.length), [256, 44]);
  } finally {
    await fake.server.shutdown();
  }
});

Deno.test("ollamaProvider() posts to /api/embed and reads embeddings[]", async () => {
  const fake = fakeServer((body) => ({ embeddings: body.input.map(() => [0.1, 0.2, 0.3]) }));
  try {
    const config = loadEmbeddingConfig((name) =>
      ({ ZO_EMBEDDING_PROVIDER: "ollama", OLLAMA_URL: fake.url } as Record<string, string>)[name]
    );
    const provider = await createEmbeddingProvider(config);
    assert.equal(provider.name, "ollama");
    assert.equal(await providerDimension(provider), 3);
    assert.deepEqual(await provider.embed(["x"]), [[0.1, 0.2, 0.3]]);
    assert.equal(fake.requests.at(-1)!.path, "/api/embed");
    assert.deepEqual(fake.requests.at(-1)!.body, { model: "nomic-embed-text", input: ["x"] });
  } finally {
    await fake.server.shutdown();
  }
});

Deno.test("HTTP providers report failures as EmbeddingError", async (t) => {
  await t.step("an error status", async () => {
    const fake = fakeServer(() => ({ error: "model not found" }), 404);
    try {
      const provider = ollamaProvider({ baseUrl: fake.url, model: "nope" });
      await assert.rejects(
        provider.embed(["x"]),
        (e) => e instanceof EmbeddingError && /HTTP 404 .*model not found/.test(e.message),
      );
    } finally {
      await fake.server.shutdown();
    }
  });
  await t.step("the wrong number of vectors", async () => {
    const fake = fakeServer(() => ({ embeddings: [[1]] }));
    try {
      const provider = ollamaProvider({ baseUrl: fake.url, model: "m" });
      await assert.rejects(provider.embed(["x", "y"]), /expected 2 numeric vectors/);
    } finally {
      await fake.server.shutdown();
    }
  });
  await t.step("nobody listening", async () => {
    const provider = openaiProvider({ baseUrl: "http://127.0.0.1:9/v1", apiKey: "k", model: "m" });
    await assert.rejects(provider.embed(["x"]), EmbeddingError);
  });
});
