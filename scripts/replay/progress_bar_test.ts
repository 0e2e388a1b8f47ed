import assert from "node:assert/strict";
import { createProgressBar, renderProgress } from "./progress_bar.ts";

Deno.test("renderProgress() shows the bar, counts, percent and rate", () => {
  assert.equal(
    renderProgress({
      total: 50_000,
      done: 12_500,
      deadLettered: 3,
      quarantined: 1,
      elapsedMs: 2_500,
    }),
    "[######------------------] 12,500/50,000 events  25%  5,000/s  dead 3  quarantined 1",
  );
  assert.match(
    renderProgress({ total: 0, done: 0, deadLettered: 0, quarantined: 0, elapsedMs: 0 }),
    /^\[#{24}\] 0\/0 events {2}100% {2}0\/s/,
  );
});

Deno.test("createProgressBar() redraws in place on a terminal and throttles plain lines", () => {
  const sink = (terminal: boolean) => {
    const chunks: string[] = [];
    return {
      chunks,
      writer: {
        isTerminal: () => terminal,
        writeSync: (bytes: Uint8Array) => {
          chunks.push(new TextDecoder().decode(bytes));
          return bytes.length;
        },
      },
    };
  };
  const state = { total: 10, done: 5, deadLettered: 0, quarantined: 0, elapsedMs: 1000 };
  const tty = sink(true);
  const bar = createProgressBar({ writer: tty.writer });
  bar.update(state);
  bar.finish({ ...state, done: 10 });
  assert.ok(tty.chunks[0]!.startsWith("\r\x1b[2K["));
  assert.ok(tty.chunks.at(-1)!.endsWith("10/10 events  100%  10/s  dead 0  quarantined 0\n"));

  const pipe = sink(false);
  const plain = createProgressBar({ writer: pipe.writer, plainEveryMs: 60_000 });
  for (let i = 0; i < 100; i++) plain.update({ ...state, done: i % 10 });
  plain.finish(state);
  assert.equal(pipe.chunks.length, 2, "one line at the start, one at the end");
  assert.ok(pipe.chunks.every((c) => !c.includes("\r") && c.endsWith("\n")));
});
