import assert from "node:assert/strict";
import {
  ChromaClientError,
  ChromaConnectionError,
  ChromaRateLimitError,
  ChromaServerError,
  ChromaUnauthorizedError,
  ChromaValueError,
} from "chromadb";
import { StoreRejectedError, StoreUnavailableError } from "../store.ts";
import { createChromaCall } from "./connection.ts";

Deno.test("createChromaCall() maps a refusal of the request's content to StoreRejectedError, all else to StoreUnavailableError", async (t) => {
  const call = createChromaCall({ timeoutMs: 5_000 });
  const failing = (error: Error) => () => call("store events", () => Promise.reject(error));
  const refusals = [
    new ChromaClientError("Bad request to Chroma with status: Validation error"),
    new ChromaValueError("Expected metadata values to be strings, numbers or booleans"),
    new ChromaServerError("413: Payload Too Large"),
  ];
  for (const error of refusals) {
    await t.step(`${error.name}: ${error.message}`, async () => {
      await assert.rejects(failing(error), (e: unknown) => {
        assert.ok(e instanceof StoreRejectedError);
        assert.match(e.message, /^Cannot store events: Chroma refused them \(/);
        return true;
      });
    });
  }
  const failures = [
    new ChromaConnectionError("Failed to connect to Chroma"),
    new ChromaServerError("500: Internal Server Error"),
    new ChromaRateLimitError("Rate limit exceeded"),
    new ChromaUnauthorizedError("Unauthorized"),
  ];
  for (const error of failures) {
    await t.step(`${error.name}: ${error.message}`, async () => {
      await assert.rejects(failing(error), StoreUnavailableError);
    });
  }
});
