// @ts-check
/**
 * A server-sent events parser for streams read with `fetch` (EventSource cannot send an
 * Authorization header, and the key must never travel in a URL). Used by the dashboard in the
 * browser and by `deno task tail`. Pure: feed it text as it arrives, in chunks of any size.
 *
 * @module
 */

/**
 * One dispatched message.
 * @typedef {{ event: string, data: string, id?: string }} SseMessage
 */

/**
 * A parser that calls `onMessage` for every complete message. Comments (heartbeats) are
 * skipped; `retry` is ignored (reconnecting is the reader's business).
 *
 * @param {(message: SseMessage) => void} onMessage
 * @returns {{ push(text: string): void }}
 */
export function createSseParser(onMessage) {
  let buffer = "";
  /** @type {string[]} */
  let data = [];
  let event = "";
  /** @type {string | undefined} */
  let id;

  /** @param {string} line */
  function takeLine(line) {
    if (line === "") {
      if (data.length > 0) {
        /** @type {SseMessage} */
        const message = { event: event || "message", data: data.join("\n") };
        if (id !== undefined) message.id = id;
        onMessage(message);
      }
      data = [];
      event = "";
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "event") event = value;
    else if (field === "id" && !value.includes("\0")) id = value;
  }

  return {
    push(text) {
      buffer += text;
      while (true) {
        const match = /\r\n|\r|\n/.exec(buffer);
        if (match === null) return;
        // A lone \r at the very end may be the first half of \r\n: wait for the next chunk.
        if (match[0] === "\r" && match.index === buffer.length - 1) return;
        takeLine(buffer.slice(0, match.index));
        buffer = buffer.slice(match.index + match[0].length);
      }
    },
  };
}
