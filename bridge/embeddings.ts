/**
 * Embedding providers for the `embeddings` collection (vectors of `indexable_text`) and for `q=`
 * semantic search. The default is offline and deterministic, so the bridge works with no network
 * and no model download; Chroma's default model, OpenAI and Ollama are opt-in by configuration.
 *
 * @module
 */
import { ConfigError, type EnvReader, type EnvVar } from "../shared/config.ts";
import { errorMessage } from "./_util.ts";

/** Turns texts into vectors; one provider per bridge, recorded in the collection's metadata. */
export interface EmbeddingProvider {
  /** "offline", "default", "openai" or "ollama". */
  readonly name: EmbeddingProviderName;
  /** Model name, e.g. "feature-hash-v1" or "text-embedding-3-small". */
  readonly model: string;
  /** Vector length; known up front only for some models. */
  readonly dimension?: number;
  /** One vector per text, in order. */
  embed(texts: readonly string[]): Promise<number[][]>;
}

/** The selectable providers. */
export const EMBEDDING_PROVIDERS = ["offline", "default", "openai", "ollama"] as const;
/** One of {@linkcode EMBEDDING_PROVIDERS}. */
export type EmbeddingProviderName = typeof EMBEDDING_PROVIDERS[number];

/** Embedding settings, as read by {@linkcode loadEmbeddingConfig}. */
export interface EmbeddingConfig {
  provider: EmbeddingProviderName;
  /** Model; empty means the provider's default. */
  model: string;
  ollamaUrl: string;
  openaiBaseUrl: string;
  openaiApiKey: string;
}

const DEFAULT_MODELS: Record<EmbeddingProviderName, string> = {
  offline: "feature-hash-v1",
  default: "all-MiniLM-L6-v2",
  openai: "text-embedding-3-small",
  ollama: "nomic-embed-text",
};

/** The environment variables of the embedding providers; the bridge's config lists them. */
export const EMBEDDING_ENV_VARS: readonly EnvVar[] = [
  {
    name: "ZO_EMBEDDING_PROVIDER",
    default: "offline",
    usedBy: "bridge",
    description:
      "Vectors for semantic search (`q=`): `offline` (feature hashing, no network, deterministic), " +
      "`default` (Chroma's all-MiniLM-L6-v2; needs `deno add npm:@chroma-core/default-embed`), " +
      "`openai` or `ollama`. Fixed per database: changing it needs a new one.",
  },
  {
    name: "ZO_EMBEDDING_MODEL",
    default: "",
    usedBy: "bridge",
    description: "Embedding model; default per provider: " +
      Object.entries(DEFAULT_MODELS).map(([p, m]) => `\`${m}\` (${p})`).join(", ") + ".",
  },
  {
    name: "OLLAMA_URL",
    default: "http://127.0.0.1:11434",
    usedBy: "bridge",
    description: "Ollama server for `ZO_EMBEDDING_PROVIDER=ollama`.",
  },
  {
    name: "OPENAI_API_KEY",
    default: "",
    usedBy: "bridge",
    description: "API key for `ZO_EMBEDDING_PROVIDER=openai`.",
  },
  {
    name: "OPENAI_BASE_URL",
    default: "https://api.openai.com/v1",
    usedBy: "bridge",
    description: "OpenAI-compatible API base for `ZO_EMBEDDING_PROVIDER=openai`.",
  },
];

/** Reads the embedding settings; throws {@linkcode ConfigError} on a bad value. */
export function loadEmbeddingConfig(
  env: EnvReader = (name) => Deno.env.get(name),
): EmbeddingConfig {
  const provider = (env("ZO_EMBEDDING_PROVIDER") ?? "").trim().toLowerCase() || "offline";
  if (!(EMBEDDING_PROVIDERS as readonly string[]).includes(provider)) {
    throw new ConfigError(
      `Cannot use ZO_EMBEDDING_PROVIDER="${provider}": set it to one of ${
        EMBEDDING_PROVIDERS.join(", ")
      }`,
    );
  }
  const config: EmbeddingConfig = {
    provider: provider as EmbeddingProviderName,
    model: (env("ZO_EMBEDDING_MODEL") ?? "").trim(),
    ollamaUrl: (env("OLLAMA_URL") ?? "").trim() || "http://127.0.0.1:11434",
    openaiBaseUrl: (env("OPENAI_BASE_URL") ?? "").trim() || "https://api.openai.com/v1",
    openaiApiKey: (env("OPENAI_API_KEY") ?? "").trim(),
  };
  for (
    const [name, value] of [["OLLAMA_URL", config.ollamaUrl], [
      "OPENAI_BASE_URL",
      config.openaiBaseUrl,
    ]] as const
  ) {
    if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
      throw new ConfigError(`Cannot use ${name}="${value}": set an http(s) URL`);
    }
  }
  if (config.provider === "openai" && config.openaiApiKey === "") {
    throw new ConfigError(
      "Cannot use ZO_EMBEDDING_PROVIDER=openai: OPENAI_API_KEY is not set",
    );
  }
  if (config.provider === "offline" && config.model !== "" && config.model !== "feature-hash-v1") {
    throw new ConfigError(
      `Cannot use ZO_EMBEDDING_MODEL="${config.model}" with the offline provider: it has one model, feature-hash-v1`,
    );
  }
  return config;
}

/** Options of {@linkcode createEmbeddingProvider}. */
export interface ProviderOptions {
  /** The fetch the HTTP providers use; default the global one (tests pass a local server). */
  fetch?: typeof fetch;
  /** Per-request timeout of the HTTP providers; default 30 s. */
  timeoutMs?: number;
}

/** The provider the configuration selects. The "default" provider loads its package here. */
export async function createEmbeddingProvider(
  config: EmbeddingConfig,
  options: ProviderOptions = {},
): Promise<EmbeddingProvider> {
  const model = config.model || DEFAULT_MODELS[config.provider];
  switch (config.provider) {
    case "offline":
      return offlineProvider();
    case "default":
      return await chromaDefaultProvider(model);
    case "openai":
      return openaiProvider({
        ...options,
        model,
        baseUrl: config.openaiBaseUrl,
        apiKey: config.openaiApiKey,
      });
    case "ollama":
      return ollamaProvider({ ...options, model, baseUrl: config.ollamaUrl });
  }
}

/**
 * Length of the offline vectors. Texts here are short (`indexable_text` is at most 2,000
 * characters, typically tens of distinct words): with 256 buckets two given words share one with
 * probability 1/256 and signed hashing makes such clashes cancel on average rather than add up,
 * while each vector costs Chroma 1 KB and a quarter of the indexing work of a 1,024-long one.
 */
export const OFFLINE_DIMENSION = 256;

const WORD = /[\p{L}\p{N}]+/gu;

/** 32-bit FNV-1a over UTF-16 code units: fast, stable across runs and platforms. */
function fnv1a(text: string, seed = 0x811c9dc5): number {
  let hash = seed;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * The offline embedding of one text: words and word pairs (lower-cased, split on anything that
 * is not a letter or digit, so `mcp__github__create_issue` gives its parts) hashed into
 * {@linkcode OFFLINE_DIMENSION} signed buckets, weighted by 1 + ln(count), L2-normalised.
 * An empty text gives the zero vector.
 */
export function featureHashEmbedding(text: string, dimension = OFFLINE_DIMENSION): number[] {
  const counts = new Map<string, number>();
  const words = text.toLowerCase().match(WORD) ?? [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    counts.set(word, (counts.get(word) ?? 0) + 1);
    if (i > 0) {
      const pair = `${words[i - 1]} ${word}`;
      counts.set(pair, (counts.get(pair) ?? 0) + 1);
    }
  }
  const vector = new Array<number>(dimension).fill(0);
  for (const [feature, count] of counts) {
    const hash = fnv1a(feature);
    const sign = (fnv1a(feature, 0x9747b28c) & 1) === 0 ? 1 : -1;
    vector[hash % dimension]! += sign * (1 + Math.log(count));
  }
  let norm = 0;
  for (const value of vector) norm += value * value;
  if (norm === 0) return vector;
  norm = Math.sqrt(norm);
  return vector.map((value) => value / norm);
}

/** The deterministic offline provider: feature hashing, no network, no model. */
export function offlineProvider(): EmbeddingProvider {
  return {
    name: "offline",
    model: DEFAULT_MODELS.offline,
    dimension: OFFLINE_DIMENSION,
    embed: (texts) => Promise.resolve(texts.map((text) => featureHashEmbedding(text))),
  };
}

/** The package of Chroma's default model; not a project dependency, so loaded by name. */
export const DEFAULT_EMBED_PACKAGE = "@chroma-core/default-embed";

interface DefaultEmbedModule {
  DefaultEmbeddingFunction: new (args?: { modelName?: string }) => {
    generate(texts: string[]): Promise<number[][]>;
  };
}

/** Chroma's default model (all-MiniLM-L6-v2, 384 dimensions) via its optional package. */
export async function chromaDefaultProvider(
  model = DEFAULT_MODELS.default,
  importer: (specifier: string) => Promise<unknown> = (specifier) => import(specifier),
): Promise<EmbeddingProvider> {
  let loaded: DefaultEmbedModule | undefined;
  let reason = "";
  try {
    // Resolves only once the package is in deno.json: never fetched behind the user's back.
    loaded = await importer(DEFAULT_EMBED_PACKAGE) as DefaultEmbedModule;
    if (typeof loaded?.DefaultEmbeddingFunction !== "function") {
      reason = " (it has no DefaultEmbeddingFunction)";
      loaded = undefined;
    }
  } catch (error) {
    reason = ` (${errorMessage(error).split("\n")[0]})`;
  }
  if (loaded === undefined) {
    throw new ConfigError(
      `Cannot use ZO_EMBEDDING_PROVIDER=default: the package ${DEFAULT_EMBED_PACKAGE} is not ` +
        `installed; add it with \`deno add npm:${DEFAULT_EMBED_PACKAGE}\` (or choose offline, ` +
        `openai or ollama)${reason}`,
    );
  }
  const fn = new loaded.DefaultEmbeddingFunction({ modelName: model });
  return {
    name: "default",
    model,
    dimension: model === DEFAULT_MODELS.default ? 384 : undefined,
    embed: async (texts) => texts.length === 0 ? [] : await fn.generate([...texts]),
  };
}

/** An HTTP provider's failure; the store reports it as unavailable (HTTP 503). */
export class EmbeddingError extends Error {
  override name = "EmbeddingError";
}

const HTTP_BATCH = 256;

async function postJson(
  fetcher: typeof fetch,
  url: string,
  body: unknown,
  options: { headers?: Record<string, string>; timeoutMs: number; what: string },
): Promise<unknown> {
  let response: Response;
  try {
    response = await fetcher(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...options.headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (error) {
    throw new EmbeddingError(
      `Cannot get embeddings from ${options.what}: ${(error as Error).message}`,
    );
  }
  const text = await response.text();
  if (!response.ok) {
    throw new EmbeddingError(
      `Cannot get embeddings from ${options.what}: HTTP ${response.status} ${text.slice(0, 200)}`,
    );
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new EmbeddingError(`Cannot get embeddings from ${options.what}: the answer is not JSON`);
  }
}

function checkVectors(vectors: unknown, count: number, what: string): number[][] {
  if (
    !Array.isArray(vectors) || vectors.length !== count ||
    !vectors.every((v) => Array.isArray(v) && v.length > 0 && v.every(Number.isFinite))
  ) {
    throw new EmbeddingError(
      `Cannot get embeddings from ${what}: expected ${count} numeric vectors in the answer`,
    );
  }
  return vectors as number[][];
}

async function inBatches(
  texts: readonly string[],
  embedBatch: (batch: string[]) => Promise<number[][]>,
): Promise<number[][]> {
  const out: number[][] = [];
  for (let i = 0; i < texts.length; i += HTTP_BATCH) {
    out.push(...await embedBatch(texts.slice(i, i + HTTP_BATCH)));
  }
  return out;
}

/** OpenAI's (or a compatible server's) `POST <baseUrl>/embeddings`. */
export function openaiProvider(
  options: ProviderOptions & { model: string; baseUrl: string; apiKey: string },
): EmbeddingProvider {
  const fetcher = options.fetch ?? fetch;
  const url = `${options.baseUrl.replace(/\/+$/, "")}/embeddings`;
  const what = `OpenAI (${url})`;
  return {
    name: "openai",
    model: options.model,
    dimension: { "text-embedding-3-small": 1536, "text-embedding-3-large": 3072 }[options.model],
    embed: (texts) =>
      inBatches(texts, async (input) => {
        const body = await postJson(fetcher, url, { model: options.model, input }, {
          headers: { authorization: `Bearer ${options.apiKey}` },
          timeoutMs: options.timeoutMs ?? 30_000,
          what,
        }) as { data?: { index?: number; embedding?: unknown }[] };
        const data = Array.isArray(body?.data) ? [...body.data] : [];
        data.sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
        return checkVectors(data.map((d) => d.embedding), input.length, what);
      }),
  };
}

/** Ollama's `POST <baseUrl>/api/embed`. */
export function ollamaProvider(
  options: ProviderOptions & { model: string; baseUrl: string },
): EmbeddingProvider {
  const fetcher = options.fetch ?? fetch;
  const url = `${options.baseUrl.replace(/\/+$/, "")}/api/embed`;
  const what = `Ollama (${url})`;
  return {
    name: "ollama",
    model: options.model,
    embed: (texts) =>
      inBatches(texts, async (input) => {
        const body = await postJson(fetcher, url, { model: options.model, input }, {
          timeoutMs: options.timeoutMs ?? 30_000,
          what,
        }) as { embeddings?: unknown };
        return checkVectors(body?.embeddings, input.length, what);
      }),
  };
}

/** The provider's vector length: declared, or measured with one short text. */
export async function providerDimension(provider: EmbeddingProvider): Promise<number> {
  if (provider.dimension !== undefined) return provider.dimension;
  const [vector] = await provider.embed(["dimension probe"]);
  return vector!.length;
}
