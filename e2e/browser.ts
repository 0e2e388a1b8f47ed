/**
 * Headless Chromium for the dashboard's browser test and benchmark: Debian's `chromium`
 * (`/usr/bin/chromium`, or `ZO_CHROMIUM`) driven by playwright-core, and the folder where
 * screenshots go (`ZO_ARTIFACTS_DIR`, default `/tmp/zo-e2e-screenshots`).
 *
 * Permissions playwright-core needs under Deno: `--allow-env` (it lists the whole environment),
 * `--allow-sys=homedir,uid`, `--allow-read` of the browser binary and `/tmp`, `--allow-write=/tmp`
 * (the browser's throwaway profile), `--allow-run` of the browser.
 *
 * @module
 */
import type { Browser } from "playwright-core";

/** The browser binary: Debian's package, unless `ZO_CHROMIUM` names another. */
export function chromiumPath(): string {
  return Deno.env.get("ZO_CHROMIUM") || "/usr/bin/chromium";
}

/** Launches headless Chromium; throws with the fix when it is not installed. */
export async function launchChromium(): Promise<Browser> {
  const path = chromiumPath();
  try {
    await Deno.stat(path);
  } catch {
    throw new Error(
      `Cannot start the browser: ${path} is missing; install it (apt-get install -y chromium) or set ZO_CHROMIUM`,
    );
  }
  // playwright-core asks is-wsl at load time, which reads /proc/sys/fs/binfmt_misc/WSLInterop:
  // Deno only allows that under --allow-all. This variable (is-wsl's own switch) skips the probe.
  Deno.env.set("__IS_WSL_TEST__", "1");
  const { chromium } = await import("playwright-core");
  return await chromium.launch({
    executablePath: path,
    headless: true,
    // Chromium's sandbox cannot run as root (CI containers); elsewhere it stays on.
    args: Deno.uid() === 0 ? ["--no-sandbox"] : [],
  });
}

/** The folder for screenshots (created), under `ZO_ARTIFACTS_DIR` or `/tmp/zo-e2e-screenshots`. */
export async function artifactsDir(name: string): Promise<string> {
  const base = Deno.env.get("ZO_ARTIFACTS_DIR") || "/tmp/zo-e2e-screenshots";
  const dir = `${base.replace(/\/+$/, "")}/${name}`;
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotCapable)) throw error;
    throw new Error(
      `Cannot write screenshots to ${dir}: the task may only write under /tmp; point ZO_ARTIFACTS_DIR there`,
    );
  }
  return dir;
}
