/**
 * A redaction deadline really bounds the work: past it no new work starts (the clock is read
 * between strings, between rules and within a rule's matches), and what is unfinished is replaced
 * whole, never returned half-redacted. The clocks here are fake, so the bound is shown by counting
 * readings, not by timing; the last test compares two runs on the real clock, relatively.
 */
import assert from "node:assert/strict";
import { createRedactor, DEADLINE_MARKER, DEADLINE_RULE, MATCHES_PER_CHECK } from "./redact.ts";

const redactor = await createRedactor({ mode: "standard" });
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function randomOf(alphabet: string, length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
}

/** Text that costs redaction the most per byte: a match every 11 characters, each refused. */
function adversarial(bytes: number): string {
  const unit = "password=x ";
  return unit.repeat(Math.ceil(bytes / unit.length));
}

/** A clock that reads `before` until it has been read `reads` times, then `after`. */
function clockPassingAfter(reads: number): { now: () => number; readings: () => number } {
  let count = 0;
  return { now: () => ++count > reads ? 1_000 : 0, readings: () => count };
}

Deno.test("redact() without a deadline is unchanged, and finishes a payload within a deadline", () => {
  const token = "ghp_" + randomOf(ALNUM, 40);
  const value = { a: `x ${token}`, b: ["y", `password=${randomOf(ALNUM, 12)}`] };
  const plain = redactor.redact(value);
  const timed = redactor.redact(value, { deadline: 10, now: () => 0 });
  assert.deepEqual(timed, plain);
  assert.equal(plain.unfinished, undefined);
});

Deno.test("redact() past its deadline replaces every unfinished string whole and counts them", () => {
  const secrets = Array.from({ length: 40 }, () => "ghp_" + randomOf(ALNUM, 40));
  const value = { items: secrets.map((secret, i) => ({ [`k${i}`]: `run ${i}: ${secret}` })) };
  const clock = clockPassingAfter(25);
  const out = redactor.redact(value, { deadline: 500, now: clock.now });
  const text = JSON.stringify(out.value);
  for (const secret of secrets) assert.ok(!text.includes(secret), `left in: ${secret}`);
  const strings = out.value.items.map((item) => Object.values(item)[0]!);
  const finished = strings.filter((s) => s !== DEADLINE_MARKER);
  assert.ok(finished.length > 0 && finished.length < strings.length, text);
  // What was finished is fully redacted; the rest is the marker alone (keys too).
  for (const s of finished) assert.match(s, /^run \d+: \[REDACTED:github_pat\]$/);
  assert.ok(out.unfinished! >= strings.length - finished.length);
  assert.ok(out.rules.includes(DEADLINE_RULE) && out.rules.includes("github_pat"));
  // Once past, the clock is not read again: one reading per string finished or started.
  assert.ok(clock.readings() <= 26, `${clock.readings()} readings`);
});

Deno.test("redact() reads the clock within one rule's matches, so one huge string is bounded", () => {
  // 1 MB of matches: ~95,000 of them, seconds of work. The clock passes the deadline at its
  // fourth reading, which comes after at most 4 * MATCHES_PER_CHECK matches.
  const secret = "ghp_" + randomOf(ALNUM, 40);
  const text = `${secret} ${adversarial(1 << 20)}`;
  const clock = clockPassingAfter(3);
  const out = redactor.redactText(text, { deadline: 500, now: clock.now });
  assert.equal(out.value, DEADLINE_MARKER);
  assert.equal(out.unfinished, 1);
  assert.ok(clock.readings() <= 4, `${clock.readings()} readings`);
  assert.ok(MATCHES_PER_CHECK <= 1_000);
});

Deno.test("redact() of an adversarial 4 MB payload stops at its deadline", () => {
  // Relative, not absolute, timing: the bounded run over 16 parts must cost less than 4
  // unbounded runs over one part (it stops after ~50 ms; unbounded, it takes 16 times one run).
  const part = adversarial(256 << 10);
  let start = performance.now();
  const full = redactor.redactText(part);
  const unboundedMs = performance.now() - start;
  assert.equal(full.unfinished, undefined);
  const parts = Array.from({ length: 16 }, (_, i) => `${i} ${part}`);
  start = performance.now();
  const out = redactor.redact(parts, { deadline: performance.now() + 50 });
  const boundedMs = performance.now() - start;
  assert.ok(out.unfinished! >= 15, `${out.unfinished} unfinished`);
  assert.ok(out.value.every((part) => part === DEADLINE_MARKER || !part.includes("=x [")));
  assert.ok(
    boundedMs < 4 * unboundedMs,
    `bounded ${boundedMs.toFixed(0)} ms, one unbounded part ${unboundedMs.toFixed(0)} ms`,
  );
});
