/**
 * The replay's progress on stderr: a bar redrawn in place on a terminal
 * (`[#########-----------]  12,000/50,000 events  24%  4,100/s  dead 0  quarantined 0`), one
 * plain line every few seconds when stderr is a file or pipe.
 *
 * @module
 */

/** What the bar shows. */
export interface ProgressState {
  total: number;
  done: number;
  deadLettered: number;
  quarantined: number;
  elapsedMs: number;
}

const WIDTH = 24;
const number = new Intl.NumberFormat("en-US");

/** One line of progress text, without a line ending. */
export function renderProgress(state: ProgressState): string {
  const fraction = state.total > 0 ? Math.min(1, state.done / state.total) : 1;
  const filled = Math.round(fraction * WIDTH);
  const rate = state.elapsedMs > 0 ? state.done / (state.elapsedMs / 1000) : 0;
  return `[${"#".repeat(filled)}${"-".repeat(WIDTH - filled)}] ` +
    `${number.format(state.done)}/${number.format(state.total)} events  ` +
    `${Math.floor(fraction * 100)}%  ${number.format(Math.round(rate))}/s  ` +
    `dead ${number.format(state.deadLettered)}  quarantined ${number.format(state.quarantined)}`;
}

/** A progress display on a writer (default stderr). */
export interface ProgressBar {
  update(state: ProgressState): void;
  /** Draws the final state and ends the line. */
  finish(state: ProgressState): void;
}

/** Options of {@linkcode createProgressBar}. */
export interface ProgressBarOptions {
  /** Default `Deno.stderr`. */
  writer?: { writeSync(bytes: Uint8Array): number; isTerminal(): boolean };
  /** When not a terminal, at most one line per this many ms; default 2,000. */
  plainEveryMs?: number;
}

/** A bar redrawn in place on a terminal, or throttled plain lines elsewhere. */
export function createProgressBar(options: ProgressBarOptions = {}): ProgressBar {
  const writer = options.writer ?? Deno.stderr;
  const terminal = writer.isTerminal();
  const encoder = new TextEncoder();
  const every = options.plainEveryMs ?? 2_000;
  let lastAt = -Infinity;
  let lastText = "";
  const write = (text: string) => {
    lastText = text;
    const bytes = encoder.encode(text);
    let at = 0;
    while (at < bytes.length) at += writer.writeSync(bytes.subarray(at));
  };
  return {
    update(state) {
      if (terminal) {
        // Redraws at most ~10 times a second: the terminal is not the bottleneck.
        if (performance.now() - lastAt < 100) return;
        lastAt = performance.now();
        write(`\r\x1b[2K${renderProgress(state)}`);
      } else if (performance.now() - lastAt >= every) {
        lastAt = performance.now();
        write(renderProgress(state) + "\n");
      }
    },
    finish(state) {
      const line = renderProgress(state);
      if (terminal) write(`\r\x1b[2K${line}\n`);
      else if (lastText !== line + "\n") write(line + "\n");
    },
  };
}
