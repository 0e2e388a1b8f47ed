/**
 * Doctor's `relay port` check: who holds this install's `ZO_RELAY_PORT` on 127.0.0.1 (a listen,
 * then `GET /relay`; `relay_port.ts`): nobody, this install's relay, another install's relay, or
 * another program.
 *
 * @module
 */
import { DEFAULT_RELAY_PORT } from "../../hooks/pipeline/vm_config.ts";
import type { InstallLayout } from "./layout.ts";
import { type CheckResult, type DoctorOptions, messageOf, rerun } from "./doctor_result.ts";
import { describeHolder, type PortHolder, portHolder } from "./relay_port.ts";

/** Options of {@linkcode checkRelayPort}: doctor's, and who holds a port (tests fake it). */
export interface RelayPortOptions extends DoctorOptions {
  holder?: (port: number) => Promise<PortHolder>;
}

/**
 * Relay port: `ZO_RELAY_PORT` is free or held by this install's relay. Held by another install's
 * relay or another program, it fails with http hooks (their events would go there, or nowhere)
 * and warns with command hooks (only this install's http endpoint is lost).
 */
export async function checkRelayPort(
  layout: InstallLayout,
  env: Map<string, string>,
  http: boolean,
  options: RelayPortOptions,
): Promise<CheckResult> {
  const name = "relay port";
  const text = env.get("ZO_RELAY_PORT");
  const port = text ? Number(text) : DEFAULT_RELAY_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    return {
      name,
      status: "fail",
      detail: `ZO_RELAY_PORT "${text}" in ${layout.envFile} is no port`,
      fix: `${rerun(options)} with --relay-port ""`,
    };
  }
  const own = text ? "" : ` (no ZO_RELAY_PORT: the shared default ${DEFAULT_RELAY_PORT})`;
  const fix = `give this install a port of its own: ${rerun(options)} with --relay-port "" ` +
    "(it picks a free one and rewrites the settings block; re-merge it with --settings)";
  let holder: PortHolder;
  try {
    holder = await (options.holder ?? portHolder)(port);
  } catch (error) {
    return { name, status: "warn", detail: `cannot probe 127.0.0.1:${port}: ${messageOf(error)}` };
  }
  if (holder.kind === "relay" && holder.identity.install_dir === layout.dir) {
    return {
      name,
      status: "ok",
      detail:
        `127.0.0.1:${port} is held by this install's relay (pid ${holder.identity.pid})${own}`,
    };
  }
  if (holder.kind === "free") {
    return {
      name,
      status: own && http ? "warn" : "ok",
      detail: `127.0.0.1:${port} is free: this install's relay serves http hooks there when it ` +
        `runs${own}`,
      ...(own && http ? { fix } : {}),
    };
  }
  return {
    name,
    status: http ? "fail" : "warn",
    detail: `127.0.0.1:${port}${own} is held by ${describeHolder(holder)}` +
      (http
        ? ": this install's http hooks go there"
        : ": this install's relay cannot serve http hooks (command hooks are unaffected)"),
    fix,
  };
}
