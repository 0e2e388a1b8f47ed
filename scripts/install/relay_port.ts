/**
 * Each install's own relay port (`ZO_RELAY_PORT`), so two installs on one VM (two users, or two
 * `HOME`s or `CLAUDE_CONFIG_DIR`s of one user) never send their http hooks to each other's relay.
 * Bootstrap derives the port from the install dir (the same dir always gets the same port),
 * moves on to the next one when another program or another install's relay holds it, and writes
 * it into `<install>/.env`; doctor asks who holds it.
 *
 * Who holds a port is found by listening on it (free), then by `GET /relay`, which a relay
 * answers with its install dir (`RelayIdentity` of `hooks/pipeline/relay/http_hook_server.ts`).
 *
 * @module
 */
import {
  RELAY_IDENTITY_PATH,
  RELAY_SERVICE,
  type RelayIdentity,
} from "../../hooks/pipeline/relay/http_hook_server.ts";

/**
 * Ports bootstrap derives from: above the registered services most VMs run, and below Linux's
 * ephemeral range (32768-60999), so an outgoing connection never holds one for a while.
 */
export const RELAY_PORT_RANGE = { first: 20_000, count: 10_000 } as const;
/** How many ports after the derived one bootstrap tries before giving up. */
export const RELAY_PORT_TRIES = 32;
/** How long to wait for a program on a taken port to say who it is. */
export const IDENTITY_TIMEOUT_MS = 2_000;

/** FNV-1a (32 bits) of a string's UTF-8 bytes: stable across runs, machines and Deno versions. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** The port derived from `installDir`, in {@linkcode RELAY_PORT_RANGE}. */
export function derivedRelayPort(installDir: string): number {
  return RELAY_PORT_RANGE.first + fnv1a(installDir) % RELAY_PORT_RANGE.count;
}

/** Who holds a loopback port. */
export type PortHolder =
  | { kind: "free" }
  | { kind: "relay"; identity: RelayIdentity }
  | { kind: "other" };

function isIdentity(value: unknown): value is RelayIdentity {
  const v = value as Partial<RelayIdentity> | null;
  return typeof v === "object" && v !== null && v.service === RELAY_SERVICE &&
    typeof v.install_dir === "string" && typeof v.log_dir === "string" &&
    typeof v.pid === "number";
}

/** Who listens on `127.0.0.1:port`: nobody, a relay (and whose), or another program. */
export async function portHolder(port: number): Promise<PortHolder> {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return { kind: "free" };
  } catch (error) {
    if (!(error instanceof Deno.errors.AddrInUse)) throw error;
  }
  try {
    const response = await fetch(`http://127.0.0.1:${port}${RELAY_IDENTITY_PATH}`, {
      signal: AbortSignal.timeout(IDENTITY_TIMEOUT_MS),
    });
    const body = await response.text();
    const identity = response.ok ? JSON.parse(body) : undefined;
    return isIdentity(identity) ? { kind: "relay", identity } : { kind: "other" };
  } catch {
    // No http, no JSON, or no answer in time: not one of our relays.
    return { kind: "other" };
  }
}

/** True when `holder` leaves the port to `installDir`: free, or its own relay. */
export function portIsFor(holder: PortHolder, installDir: string): boolean {
  return holder.kind === "free" ||
    (holder.kind === "relay" && holder.identity.install_dir === installDir);
}

/** Says who holds a port, for people: `the relay of /opt/a (log dir /l, pid 7)`. */
export function describeHolder(holder: PortHolder): string {
  if (holder.kind === "free") return "nobody";
  if (holder.kind === "other") return "another program (not a zo-telemetry relay)";
  const { install_dir, log_dir, pid } = holder.identity;
  return `the relay of ${install_dir} (log dir ${log_dir}, pid ${pid})`;
}

/** The port {@linkcode chooseRelayPort} settled on, and the ones it passed over. */
export interface PortChoice {
  port: number;
  /** Ports before it that others held, with who held them. */
  skipped: { port: number; holder: PortHolder }[];
}

/**
 * This install's port: the derived one, or the first after it (wrapping within the range) that
 * is free or held by this install's own relay. Throws when {@linkcode RELAY_PORT_TRIES} are all
 * taken.
 */
export async function chooseRelayPort(
  installDir: string,
  options: { holder?: (port: number) => Promise<PortHolder> } = {},
): Promise<PortChoice> {
  const holderOf = options.holder ?? portHolder;
  const first = derivedRelayPort(installDir) - RELAY_PORT_RANGE.first;
  const skipped: PortChoice["skipped"] = [];
  for (let i = 0; i < RELAY_PORT_TRIES; i++) {
    const port = RELAY_PORT_RANGE.first + (first + i) % RELAY_PORT_RANGE.count;
    const holder = await holderOf(port);
    if (portIsFor(holder, installDir)) return { port, skipped };
    skipped.push({ port, holder });
  }
  throw new Error(
    `Cannot find a free relay port: ${RELAY_PORT_TRIES} ports from ${
      skipped[0]!.port
    } are taken; give one with --relay-port <port>`,
  );
}
