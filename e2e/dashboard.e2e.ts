/**
 * The dashboard end to end, in a real headless Chromium against a real bridge and Chroma: the
 * Claude Code fixtures are ingested as envelopes, then the page is opened with a read key and
 * used as a person would, on a laptop and on a phone. Screenshots go to
 * `$ZO_ARTIFACTS_DIR/dashboard` (default `/tmp/zo-e2e-screenshots/dashboard`); the path is
 * printed.
 *
 * Not part of the main `deno test` run (the name does not end in `_test.ts`): it needs the
 * browser and more permissions, so it has its own task.
 *
 * ```sh
 * deno task test:e2e
 * deno test --allow-read=.,/tmp,/usr/bin/chromium --allow-write=/tmp --allow-net=127.0.0.1 --allow-run=deno,/usr/bin/chromium --allow-env --allow-sys=homedir,uid e2e/dashboard.e2e.ts
 * ```
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import type { Event } from "../shared/schema.ts";
import { makeEvent } from "../bridge/testing/fakes.ts";
import { startTestBridge, testKey } from "../bridge/testing/bridge.ts";
import { artifactsDir, launchChromium } from "./browser.ts";
import { fixtures, ingest, SESSION_A, SESSION_B, SESSION_C, SESSION_E } from "./dashboard_fleet.ts";
import { PHONE, PHONE_FIT, type PhoneFit, UNLABELLED } from "./page_checks.ts";

async function enterKey(page: Page, key: string): Promise<void> {
  await page.getByLabel("Read key", { exact: true }).fill(key);
  await page.getByRole("button", { name: "Open the dashboard" }).click();
}

async function waitReady(page: Page, view: string): Promise<void> {
  await page.waitForSelector(`#view[data-ready="${view}"]`, { timeout: 15_000 });
}

Deno.test({
  name:
    "the dashboard in headless Chromium: key, fleet, timeline, live, search, usage, phone (375x740)",
  // playwright-core keeps the browser's pipes and timers of its own until close().
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const boundKey = testKey("read-beta");
    await using bridge = await startTestBridge({ keys: `read@beta:${boundKey}` });
    const resumed = await fixtures(bridge);
    const shots = await artifactsDir("dashboard");
    // deno-lint-ignore no-console -- CI keeps this path in its log, for the screenshots
    console.log(`Screenshots: ${shots}`);
    const shot = (page: Page, name: string) =>
      page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });

    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      const pageErrors: string[] = [];
      page.on("pageerror", (error) => pageErrors.push(error.message));
      page.on("console", (message) => {
        if (message.type() === "error") pageErrors.push(message.text());
      });
      const dataCalls: string[] = [];
      page.on("request", (request) => {
        const path = new URL(request.url()).pathname;
        if (/^\/(query|live|usage)$/.test(path)) {
          dataCalls.push(`${path} ${request.headers()["authorization"] ? "with key" : "NO KEY"}`);
        }
      });

      await t.step("without a key, only the key form shows and no data is read", async () => {
        const response = await page.goto(`${bridge.url}/`);
        assert.equal(response?.status(), 200);
        assert.equal(new URL(page.url()).pathname, "/dashboard/");
        await page.getByLabel("Read key", { exact: true }).waitFor();
        assert.equal(await page.locator("#view").isHidden(), true);
        assert.equal(await page.locator("#nav").isHidden(), true);
        const text = await page.locator("body").innerText();
        assert.doesNotMatch(text, /acme|vm-1|sess-a/);
        assert.deepEqual(dataCalls, []);
        await shot(page, "01-key-form");
      });

      await t.step(
        "an unknown key and a key without read are refused, with the reason",
        async () => {
          await enterKey(page, "not-a-key-of-this-bridge-000000");
          await page.getByText(/does not know this key \(401\)/).waitFor();
          await enterKey(page, bridge.ingestKey);
          await page.getByText(/may not read events \(403\)/).waitFor();
          assert.equal(await page.locator("#view").isHidden(), true);
          assert.equal(await page.evaluate(() => sessionStorage.length), 0);
          await shot(page, "02-key-refused");
        },
      );

      await t.step(
        "with a read key, the fleet shows the fixtures' projects, VMs and sessions",
        async () => {
          await enterKey(page, bridge.readKey);
          await waitReady(page, "fleet");
          const view = page.locator("#view");
          for (const text of ["acme", "beta", "vm-1", "vm-2", "vm-3"]) {
            await view.getByText(text, { exact: true }).first().waitFor();
          }
          const sessions = await page.locator('a[href^="#/session?session_id="]').evaluateAll((
            links,
          ) => links.map((link) => link.getAttribute("href")));
          for (const id of [SESSION_A, SESSION_B, SESSION_C]) {
            assert.ok(sessions.some((href) => href?.includes(encodeURIComponent(id))), id);
          }
          const statusOf = (id: string) =>
            page.locator(`tr:has(a[href*="${encodeURIComponent(id)}"]) .status`).innerText();
          assert.equal(await statusOf(SESSION_A), "ended");
          assert.equal(await statusOf(SESSION_B), "active");
          assert.equal(await statusOf(SESSION_C), "error");
          // The key lives in this tab's storage, never in the URL.
          assert.equal(
            await page.evaluate(() => sessionStorage.getItem("zo-dashboard:key")),
            bridge.readKey,
          );
          assert.ok(!page.url().includes(bridge.readKey));
          assert.ok(dataCalls.length > 0 && dataCalls.every((call) => call.endsWith("with key")));
          await shot(page, "03-fleet");
        },
      );

      await t.step(
        "a session resumed twice and compacted once counts as one in its worker and run rows",
        async () => {
          // The Sessions column is the last of the workers' and runs' tables.
          const sessionsCell = (caption: string, id: string) =>
            page.locator(`table:has(caption:has-text("${caption}")) tr:has(th:has-text("${id}"))`)
              .locator("td").last().innerText();
          assert.equal(await sessionsCell("Workers (VMs)", "vm-4"), "1");
          assert.equal(await sessionsCell("Runs", "run-d"), "1");
        },
      );

      await t.step("an unknown route says not found, not the fleet", async () => {
        await page.goto(`${bridge.url}/dashboard/#/no-such-view`);
        await waitReady(page, "not-found");
        await page.getByRole("heading", { name: "Not found" }).waitFor();
        assert.equal(await page.locator("#view table").count(), 0);
        await shot(page, "03b-not-found");
        await page.goto(`${bridge.url}/dashboard/#/fleet`);
        await waitReady(page, "fleet");
      });

      await t.step("filters live in the URL: a shared link opens the same view", async () => {
        await page.goto(`${bridge.url}/dashboard/#/fleet?worker_id=vm-2`);
        await waitReady(page, "fleet");
        const view = page.locator("#view");
        assert.equal(await view.locator(`a[href*="${encodeURIComponent(SESSION_B)}"]`).count(), 1);
        assert.equal(await view.locator(`a[href*="${encodeURIComponent(SESSION_A)}"]`).count(), 0);
        assert.equal(await page.inputValue("#filter-fleet-worker_id"), "vm-2");
        await page.fill("#filter-fleet-worker_id", "");
        await page.selectOption("#filter-fleet-status", "error");
        await page.getByRole("button", { name: "Apply" }).click();
        await page.waitForURL(/#\/fleet\?status=error$/);
        await waitReady(page, "fleet");
        // The view was "fleet" already before Apply: wait for the filtered rows themselves.
        await view.locator(`a[href*="${encodeURIComponent(SESSION_C)}"]`).first().waitFor();
        assert.equal(await view.locator(`a[href*="${encodeURIComponent(SESSION_C)}"]`).count(), 1);
        assert.equal(await view.locator(`a[href*="${encodeURIComponent(SESSION_A)}"]`).count(), 0);
      });

      await t.step(
        "a session timeline pairs tool calls, nests the subagent, flags errors",
        async () => {
          await page.goto(`${bridge.url}/dashboard/#/fleet`);
          await waitReady(page, "fleet");
          // Keyboard: focus the session's link and press Enter.
          await page.focus(`a[href="#/session?session_id=${encodeURIComponent(SESSION_A)}"]`);
          await page.keyboard.press("Enter");
          await waitReady(page, "session");
          // The session's own agent_state record (GET /query?collection=agent_state&scope=session).
          assert.equal(await page.locator(".session-head .status").innerText(), "ended");
          const bash = page.locator('li[data-tool-use-id="toolu_01ABC123"] > .row');
          // One duration, saying which: Claude Code's duration_ms (4187 ms), not also the 1.5 s
          // between the two hooks, nor again in the message.
          assert.match(await bash.innerText(), /Bash[\s\S]*ok[\s\S]*ran 4\.19 s/);
          assert.doesNotMatch(await bash.innerText(), /1\.50 s|4187 ms/);
          assert.equal(await bash.locator(".duration").count(), 1);
          const failed = page.locator('li[data-tool-use-id="toolu_01JKL012"]');
          assert.match((await failed.getAttribute("class")) ?? "", /is-error/);
          assert.match(await failed.locator(".row").innerText(), /failed/);
          const subagent = page.locator('li[data-agent-id="agent-7f3c"]');
          assert.match(await subagent.locator("> .row").innerText(), /agent-7f3c \(Explore\)/);
          assert.equal(await subagent.locator('li[data-tool-use-id="toolu_sub_01"]').count(), 1);
          assert.ok((await page.locator("li.is-error").count()) >= 2);
          // Expand the first event's redacted payload.
          const first = page.locator("ol.timeline > li").filter({ hasText: "SessionStart" });
          const toggle = first.getByRole("button", { name: "Show payload" });
          await toggle.click();
          const pre = first.locator("pre");
          assert.match(await pre.innerText(), /"hook_event_name": "SessionStart"/);
          assert.match(await pre.innerText(), /~\/\.claude/); // the home directory is redacted
          assert.equal(
            await first.getByRole("button", { name: "Hide payload" }).getAttribute("aria-expanded"),
            "true",
          );
          await shot(page, "04-timeline");
        },
      );

      let liveEvent: Event | undefined;
      await t.step("a new event appears in the open timeline within a second", async () => {
        await page.locator("#live-status[data-state=live]").waitFor();
        liveEvent = await makeEvent({
          project_id: "acme",
          worker_id: "vm-1",
          run_id: "run-a",
          session_id: SESSION_A,
          event_type: "notification",
          hook_event_name: "Notification",
          msg: "quokka zebra needs your attention",
          indexable_text: "quokka zebra needs your attention",
        });
        const appeared = page.waitForSelector(`li[data-event-id="${liveEvent.event_id}"]`, {
          timeout: 5_000,
        });
        await ingest(bridge, [liveEvent]);
        const acknowledged = performance.now();
        await appeared;
        const ms = performance.now() - acknowledged;
        // deno-lint-ignore no-console -- the figure belongs in CI's log
        console.log(`Live: the event was on screen ${ms.toFixed(0)} ms after its acknowledgement`);
        assert.ok(ms < 1_000, `appeared ${ms.toFixed(0)} ms after the ingest was acknowledged`);
        await shot(page, "05-live-event");
      });

      await t.step(
        "tool-call counts agree between the fleet and the session, answers without a call too",
        async () => {
          // Session B ends at a PostToolUseFailure that has no PreToolUse; its Edit and MCP
          // answers and its denial have none either: five calls, one failed, in both views.
          await page.goto(`${bridge.url}/dashboard/#/fleet?project_id=acme`);
          await waitReady(page, "fleet");
          const row = page.locator(`tr:has(a[href="#/session?session_id=${SESSION_B}"])`);
          const header = await page.locator(
            'table:has(caption:has-text("Sessions")) thead th',
          ).allInnerTexts();
          const column = header.indexOf("Tool calls (failed)");
          assert.ok(column > 0, header.join(" | "));
          // The first column is the row's th; the others are its tds.
          assert.equal(await row.locator("td").nth(column - 1).innerText(), "5 (1)");
          await page.goto(`${bridge.url}/dashboard/#/session?session_id=${SESSION_B}`);
          await waitReady(page, "session");
          const fact = page.locator('.session-head dt:text-is("Tool calls") + dd');
          assert.equal(await fact.innerText(), "5 (1 failed, 0 without an answer)");
        },
      );

      await t.step(
        "a resumed session starts at its hook events; its old usage sits where it was read",
        async () => {
          const first = resumed.hooks[0]!;
          // The fleet's Started column: the first hook event, not the 13-day-old responses.
          await page.goto(`${bridge.url}/dashboard/#/fleet?project_id=beta`);
          await waitReady(page, "fleet");
          const header = await page.locator(
            'table:has(caption:has-text("Sessions")) thead th',
          ).allInnerTexts();
          const column = header.indexOf("Started");
          assert.ok(column > 0, header.join(" | "));
          const row = page.locator(`tr:has(a[href="#/session?session_id=${SESSION_E}"])`);
          const startedCell = row.locator("td").nth(column - 1).locator("time");
          assert.equal(await startedCell.getAttribute("datetime"), first.ts);
          await page.goto(`${bridge.url}/dashboard/#/session?session_id=${SESSION_E}`);
          await waitReady(page, "session");
          const firstRow = page.locator(`li[data-event-id="${first.event_id}"] .offset`);
          assert.equal(await firstRow.innerText(), "+0:00.000");
          // "Started" is the first hook event's time, as the first row's offset says it.
          const started = page.locator('.session-head dt:text-is("Started") + dd');
          assert.equal(await started.innerText(), await firstRow.getAttribute("title"));
          // Every offset is within the session's 29 s, none days long ("+319:36:26").
          for (const text of await page.locator("ol.timeline .offset").allInnerTexts()) {
            assert.match(text, /^\+0:[0-5]\d\.\d{3}$/);
          }
          // The responses, 13 days old, were read after the session's SubagentStop (12 s in):
          // they sit there, each labelled with its response's own time.
          const stop = resumed.hooks.find((e) => e.hook_event_name === "SubagentStop")!;
          const stopOffset = await page.locator(`li[data-event-id="${stop.event_id}"] .offset`)
            .innerText();
          assert.equal(stopOffset, "+0:12.000");
          assert.ok(resumed.usage.length > 0);
          for (const usage of resumed.usage) {
            const item = page.locator(`li[data-event-id="${usage.event_id}"]`);
            assert.equal(await item.locator(".offset").innerText(), stopOffset);
            const response = item.locator("time.response");
            assert.equal(await response.getAttribute("datetime"), usage.ts);
            assert.match(await response.innerText(), /^response at /);
          }
          await shot(page, "04b-resumed-session");
        },
      );

      await t.step(
        "the fleet overview shows a new session as its first event arrives",
        async () => {
          await page.goto(`${bridge.url}/dashboard/#/fleet?project_id=acme`);
          await waitReady(page, "fleet");
          await page.locator("#live-status[data-state=live]").waitFor();
          const first = await makeEvent({
            project_id: "acme",
            worker_id: "vm-2",
            run_id: "run-d",
            session_id: "sess-d-new",
            event_type: "session_start",
            hook_event_name: "SessionStart",
            msg: "Session started (startup)",
          });
          await ingest(bridge, [first]);
          const row = page.locator('tr:has(a[href="#/session?session_id=sess-d-new"])');
          await row.waitFor({ timeout: 5_000 });
          assert.equal(await row.locator(".status").innerText(), "active");
          await shot(page, "06-fleet-live");
        },
      );

      await t.step("search finds it, by full text and by meaning", async () => {
        await page.goto(`${bridge.url}/dashboard/#/events?text=quokka%20zebra`);
        await waitReady(page, "events");
        await page.locator(`tr[data-event-id="${liveEvent!.event_id}"]`).waitFor();
        assert.equal(await page.locator("table.events tbody tr").count(), 1);
        await page.goto(`${bridge.url}/dashboard/#/events?q=zebra%20attention`);
        await waitReady(page, "events");
        await page.locator(`tr[data-event-id="${liveEvent!.event_id}"]`).waitFor();
        await shot(page, "07-search");
      });

      await t.step("the events view follows new matches live", async () => {
        await page.goto(`${bridge.url}/dashboard/#/events?session_id=${SESSION_B}`);
        await waitReady(page, "events");
        await page.locator("#live-status[data-state=live]").waitFor();
        const next = await makeEvent({
          project_id: "acme",
          worker_id: "vm-2",
          run_id: "run-b",
          session_id: SESSION_B,
          msg: "later step of session b",
        });
        await ingest(bridge, [next]);
        await page.locator(`tr[data-event-id="${next.event_id}"]`).waitFor({ timeout: 5_000 });
      });

      await t.step("usage and cost per session", async () => {
        await page.goto(`${bridge.url}/dashboard/#/usage?group_by=session`);
        await waitReady(page, "usage");
        const row = page.locator(
          `table.usage tbody tr:has(a[href*="${encodeURIComponent(SESSION_A)}"])`,
        );
        const text = await row.innerText();
        // The fixture transcript's totals: 2 responses, 1,500 + 405 + 5,000 + 6,200 tokens.
        assert.match(
          text,
          /\b2\b[\s\S]*1,500[\s\S]*405[\s\S]*5,000[\s\S]*6,200[\s\S]*13,105[\s\S]*\$/,
        );
        await shot(page, "08-usage");
      });

      await t.step("a key bound to a project sees that project only", async () => {
        const other = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
        const bound = await other.newPage();
        await bound.goto(`${bridge.url}/dashboard/`);
        await enterKey(bound, boundKey);
        await waitReady(bound, "fleet");
        const text = await bound.locator("#view").innerText();
        assert.match(text, /beta/);
        assert.doesNotMatch(text, /acme|vm-1|vm-2/);
        await other.close();
      });

      await t.step(
        "at 375x740 every view fits: no sideways page scroll, every column reachable, the filters fit",
        async () => {
          const phone = await browser!.newContext({
            viewport: { width: PHONE.width, height: PHONE.height },
            deviceScaleFactor: 2,
            isMobile: true,
            hasTouch: true,
          });
          const small = await phone.newPage();
          small.on("pageerror", (error) => pageErrors.push(error.message));
          await small.goto(`${bridge.url}/dashboard/`);
          await enterKey(small, bridge.readKey);
          await waitReady(small, "fleet");
          const since = new Date(Date.now() - 86_400_000).toISOString();
          const views: [string, string, string][] = [
            ["fleet", "#/fleet", "fleet"],
            // A custom range shows the two date inputs, the widest controls there are.
            ["events", `#/events?since=${encodeURIComponent(since)}`, "events"],
            ["usage-session", "#/usage?group_by=session", "usage"],
            // Two keys per row and a totals row.
            ["usage-day-model", "#/usage?group_by=day,model", "usage"],
            ["session", `#/session?session_id=${SESSION_A}`, "session"],
            ["not-found", "#/no-such-view", "not-found"],
          ];
          let tables = 0;
          for (const [name, hash, ready] of views) {
            // A hash change re-renders later: forget the last view's readiness first.
            await small.evaluate(`document.getElementById("view").dataset.ready = ""`);
            await small.goto(`${bridge.url}/dashboard/${hash}`);
            await waitReady(small, ready);
            if (name === "events") {
              await small.locator("table.events tbody tr").first().waitFor();
              assert.equal(await small.locator("#filter-events-since").isVisible(), true);
              // An opened payload is the widest thing a row can hold.
              await small.getByRole("button", { name: "Show" }).first().click();
              await small.locator("table.events tr.detail-row pre").waitFor();
            }
            const fits = await small.evaluate<PhoneFit>(PHONE_FIT);
            assert.equal(fits.innerWidth, PHONE.width, `${name}: the page was zoomed out to fit`);
            assert.ok(
              fits.scrollWidth <= fits.innerWidth,
              `${name}: the page is ${fits.scrollWidth} px wide on a ${fits.innerWidth} px screen`,
            );
            assert.deepEqual(fits.problems, [], name);
            assert.deepEqual(await small.evaluate<string[]>(UNLABELLED), [], name);
            if (name !== "not-found" && name !== "session") {
              assert.ok(fits.cells > 0, `${name}: no table cells were checked`);
            }
            if (name !== "not-found") assert.ok(fits.filters, `${name}: no filter form`);
            tables += fits.tables;
            // The screen only: the events page is some 20,000 px tall, 15 s to capture whole.
            await small.screenshot({ path: `${shots}/09-phone-${name}.png` });
          }
          // Fleet: three per project; events; usage twice.
          assert.ok(tables >= 6, `${tables} tables checked`);
          await phone.close();
        },
      );

      await t.step("forgetting the key removes everything shown", async () => {
        await page.goto(`${bridge.url}/dashboard/#/fleet`);
        await waitReady(page, "fleet");
        await page.getByRole("button", { name: "Forget key" }).click();
        await page.getByLabel("Read key", { exact: true }).waitFor();
        assert.equal(await page.locator("#view > *").count(), 0);
        assert.doesNotMatch(await page.locator("body").innerText(), /acme|vm-1/);
        assert.equal(await page.evaluate(() => sessionStorage.length), 0);
      });

      await t.step("a key that stops working brings the key form back", async () => {
        await page.evaluate(() =>
          sessionStorage.setItem("zo-dashboard:key", "revoked-key-0000000000000")
        );
        await page.goto(`${bridge.url}/dashboard/#/fleet`);
        await page.reload();
        await page.getByText(/does not accept this key \(401\)/).waitFor();
        assert.equal(await page.locator("#view").isHidden(), true);
        await shot(page, "11-key-revoked");
      });

      assert.deepEqual(pageErrors.filter((message) => !/status of 40[13]/.test(message)), []);
      await context.close();
    } finally {
      await browser?.close();
    }
  },
});
