/**
 * Where the real Claude Code CLI of the tests is: `@anthropic-ai/claude-code` at the version in
 * `.ci/claude-code-version` (edit it to try a newer one), installed by
 * `.ci/install_claude_code.sh` (run by `.ci/run` and `deno task test:cli`) with
 * `npm install --prefix .cache/claude-code/<version>`. The package ships its native binary in an
 * optional dependency; its postinstall puts it in place (without it `claude` is a stub).
 *
 * @module
 */

const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

/** The pinned version, from `.ci/claude-code-version`. */
export function claudeCodeVersion(): string {
  return Deno.readTextFileSync(`${REPO}/.ci/claude-code-version`).trim();
}

/** The npm prefix the CLI of `version` is installed under. */
export function claudeCodePrefix(version: string = claudeCodeVersion()): string {
  return `${REPO}/.cache/claude-code/${version}`;
}

/** The command that installs the pinned CLI (`.ci/run` and `deno task test:cli` run it). */
export function installCommand(): string {
  return `sh ${REPO}/.ci/install_claude_code.sh`;
}

/**
 * The path of the installed `claude` binary, checked to report the pinned version. Throws an
 * error that says how to install it when it is missing or another version.
 */
export async function claudeBinary(version: string = claudeCodeVersion()): Promise<string> {
  const path = `${claudeCodePrefix(version)}/node_modules/.bin/claude`;
  let reported = "";
  try {
    // Through env, as the tests run it (the gate allows running deno, ps and env only).
    const output = await new Deno.Command("env", {
      args: ["-i", "PATH=/usr/bin:/bin", path, "--version"],
      stdout: "piped",
      stderr: "null",
    }).output();
    reported = new TextDecoder().decode(output.stdout).trim();
  } catch {
    // reported stays empty
  }
  if (!reported.startsWith(`${version} `)) {
    throw new Error(
      `Cannot run the real Claude Code CLI ${version}: ${path} ${
        reported ? `reports "${reported}"` : "is missing"
      }. Install it with: ${installCommand()} (deno task test:cli does)`,
    );
  }
  return path;
}
