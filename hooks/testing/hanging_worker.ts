/**
 * Test support: a record worker that never finishes a record (a busy loop no timer can
 * interrupt), as a regular expression that backtracks forever would; the pool must stop it.
 *
 * @module
 */
const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<{ type: string }>) => void) | null;
};
scope.onmessage = (event) => {
  if (event.data.type !== "record") return;
  // deno-lint-ignore no-empty -- the point: a worker busy forever
  while (true) {}
};
