import assert from "node:assert/strict";
import { relayUnits } from "./systemd_unit.ts";

Deno.test("relayUnits() gives a user unit and a system template running relay --service", () => {
  const [user, system] = relayUnits({ installDir: "/opt/claude-hooks", logDir: "/var/zo" });
  assert.equal(user!.name, "zo-relay.service");
  assert.equal(system!.name, "zo-relay@.service");
  for (const unit of [user!, system!]) {
    assert.match(unit.text, /^ExecStart=\/opt\/claude-hooks\/bin\/relay --service$/m);
    assert.match(unit.text, /^Restart=always$/m);
    assert.match(unit.text, /^\[Unit\]$/m);
  }
  assert.match(user!.text, /^WantedBy=default\.target$/m);
  assert.doesNotMatch(user!.text, /^User=/m);
  assert.match(system!.text, /^User=%i$/m);
  assert.match(system!.text, /^WantedBy=multi-user\.target$/m);
  assert.match(system!.text, /systemctl enable --now zo-relay@<user>\.service/);
});
