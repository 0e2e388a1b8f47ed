/**
 * systemd units that keep the relay running as a service (`bin/relay --service`), which the http
 * hooks need (Claude Code cannot start a relay for them) and which spares command hooks the relay
 * start-up on the first event after an idle spell. Two forms, both written to
 * `<install>/systemd/`:
 *
 * - `zo-relay.service`, a user unit: `systemctl --user enable --now zo-relay` (add
 *   `loginctl enable-linger <user>` to keep it running with no session open);
 * - `zo-relay@.service`, a system unit template whose instance is the user that runs Claude
 *   Code: `sudo systemctl enable --now zo-relay@alice`.
 *
 * The wrapper loads `<install>/.env` itself, so the unit sets no environment; it must run as the
 * user who owns the `.env` and the log dir.
 *
 * @module
 */

/** A unit's file name and text. */
export interface UnitFile {
  name: string;
  text: string;
}

/** Options of {@linkcode relayUnits}. */
export interface UnitOptions {
  installDir: string;
  logDir: string;
}

function unit(options: UnitOptions, scope: "user" | "system"): string {
  const install = scope === "user"
    ? [
      "# A user unit. Install and start it as the user that runs Claude Code:",
      "#   mkdir -p ~/.config/systemd/user",
      `#   cp ${options.installDir}/systemd/zo-relay.service ~/.config/systemd/user/`,
      "#   systemctl --user daemon-reload && systemctl --user enable --now zo-relay.service",
      "# and, to keep it running while that user is logged out: loginctl enable-linger <user>",
    ]
    : [
      "# A system unit template; its instance name is the user that runs Claude Code:",
      `#   sudo cp ${options.installDir}/systemd/zo-relay@.service /etc/systemd/system/`,
      "#   sudo systemctl daemon-reload && sudo systemctl enable --now zo-relay@<user>.service",
    ];
  return [
    "# Claude Code telemetry relay: ships the spool to the bridge and takes http hooks on",
    "# 127.0.0.1 (hooks/relay.ts --service). Written by scripts/bootstrap.ts for",
    `# ${options.installDir}; its settings are in the .env there.`,
    ...install,
    "[Unit]",
    `Description=Claude Code telemetry relay (${options.logDir})`,
    "Wants=network-online.target",
    "After=network-online.target",
    "",
    "[Service]",
    "Type=simple",
    ...(scope === "system" ? ["User=%i"] : []),
    `ExecStart=${options.installDir}/bin/relay --service`,
    // The wrapper exits 0 when deno is gone: restart whatever the status.
    "Restart=always",
    "RestartSec=5",
    "",
    "[Install]",
    `WantedBy=${scope === "user" ? "default.target" : "multi-user.target"}`,
    "",
  ].join("\n");
}

/** Both units: the user unit and the system unit template. */
export function relayUnits(options: UnitOptions): UnitFile[] {
  return [
    { name: "zo-relay.service", text: unit(options, "user") },
    { name: "zo-relay@.service", text: unit(options, "system") },
  ];
}
