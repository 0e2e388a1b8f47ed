/**
 * The variables the tools read (the bridge's CLIs, `scripts/bootstrap_vm.sh`, the browser tests
 * and benches): the README's third configuration table is generated from this list.
 *
 * @module
 */
import type { EnvVar } from "../../shared/config.ts";

/** Every variable a tool reads, beside those of the VM and the bridge. */
export const TOOL_ENV_VARS: readonly EnvVar[] = [
  {
    name: "ZO_BRIDGE_URL",
    default: "http://127.0.0.1:8787",
    usedBy: "query, tail, usage",
    description: "The bridge's base URL (or `--url`).",
  },
  {
    name: "ZO_READ_KEY",
    default: "",
    usedBy: "query, tail, usage",
    description: "A key with the `read` scope (or `--key`, `--key-file`); never printed. " +
      "The old name `ZO_API_KEY` is still read, with a warning.",
  },
  {
    name: "DENO_VERSION",
    default: "2.9.6",
    usedBy: "bootstrap_vm.sh",
    description: "The Deno version it finds or installs.",
  },
  {
    name: "DENO_PREFIX",
    default: "$HOME/.deno",
    usedBy: "bootstrap_vm.sh",
    description: "Where it installs Deno when none of that version is found; the wrappers run " +
      "that deno by its absolute path, so pick a place the agent's user can read.",
  },
  {
    name: "ZO_CHROMIUM",
    default: "/usr/bin/chromium",
    usedBy: "tests, benches",
    description: "The Chromium binary of the browser test and `bench:dashboard`.",
  },
  {
    name: "ZO_ARTIFACTS_DIR",
    default: "/tmp/zo-e2e-screenshots",
    usedBy: "tests, benches",
    description: "Where the browser test writes its screenshots.",
  },
  {
    name: "PATH",
    default: "",
    usedBy: "tests, benches",
    description: "The real-CLI test (`deno task test:cli`) puts a `claude` first on it for " +
      "bootstrap, which runs `claude --version`.",
  },
];
