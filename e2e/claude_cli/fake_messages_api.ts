/**
 * A scripted fake of the Anthropic Messages API (`POST /v1/messages`) on a loopback port, for
 * driving the real Claude Code CLI offline (`ANTHROPIC_BASE_URL=<url>`). A script function looks
 * at each request and says what the model "answers": text and tool calls, streamed as the real
 * API streams them (`message_start`, `content_block_start/delta/stop`, `message_delta` with
 * usage, `message_stop`), or an HTTP error. Every answer's usage is kept, so a test can hold
 * what the telemetry counted against what the fake billed.
 *
 * @module
 */

/** One content block of an answer. */
export type AnswerBlock =
  | { type: "text"; text: string }
  | { type: "tool_use"; name: string; input: Record<string, unknown> };

/** Token counts of one answer, as the API reports them. */
export interface AnswerUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

/** What the script answers to one request. */
export type Answer =
  | { blocks: AnswerBlock[]; usage: AnswerUsage; label: string }
  | { status: number; errorType: string; message: string; label: string };

/** The parts of a Messages request a script looks at. */
export interface MessagesRequest {
  model: string;
  stream: boolean;
  messages: { role: string; content: unknown }[];
  system?: unknown;
}

/** One answer the fake gave, with the request's model. */
export interface Served {
  label: string;
  model: string;
  messageId?: string;
  usage?: AnswerUsage;
  status: number;
}

/** A running fake. */
export interface FakeMessagesApi {
  /** `http://127.0.0.1:<port>`, for `ANTHROPIC_BASE_URL`. */
  readonly url: string;
  /** Every answer given, in order. */
  readonly served: readonly Served[];
  /** Requests the script did not expect (answered 500), as one line each. */
  readonly surprises: readonly string[];
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const encoder = new TextEncoder();

function sse(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

/** The SSE body of an answer, split into the events the real API sends. */
function streamBody(answer: Extract<Answer, { blocks: unknown }>, id: string, model: string) {
  const { usage } = answer;
  const parts = [
    sse("message_start", {
      message: {
        id,
        type: "message",
        role: "assistant",
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...usage, output_tokens: 1 },
      },
    }),
  ];
  let toolUses = 0;
  answer.blocks.forEach((block, index) => {
    if (block.type === "text") {
      parts.push(
        sse("content_block_start", { index, content_block: { type: "text", text: "" } }),
        sse("content_block_delta", { index, delta: { type: "text_delta", text: block.text } }),
      );
    } else {
      toolUses++;
      const toolId = `toolu_01FAKE${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;
      parts.push(
        sse("content_block_start", {
          index,
          content_block: { type: "tool_use", id: toolId, name: block.name, input: {} },
        }),
        sse("content_block_delta", {
          index,
          delta: { type: "input_json_delta", partial_json: JSON.stringify(block.input) },
        }),
      );
    }
    parts.push(sse("content_block_stop", { index }));
  });
  parts.push(
    sse("message_delta", {
      delta: { stop_reason: toolUses > 0 ? "tool_use" : "end_turn", stop_sequence: null },
      usage: { output_tokens: usage.output_tokens },
    }),
    sse("message_stop", {}),
  );
  return parts.join("");
}

/** Starts the fake on `127.0.0.1:0`; `script` answers each `POST /v1/messages`. */
export async function startFakeMessagesApi(
  script: (request: MessagesRequest) => Answer | undefined,
): Promise<FakeMessagesApi> {
  const served: Served[] = [];
  const surprises: string[] = [];
  let count = 0;
  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    if (req.method !== "POST" || !url.pathname.startsWith("/v1/messages")) {
      return Response.json({ type: "error", error: { type: "not_found_error" } }, { status: 404 });
    }
    const request = await req.json() as MessagesRequest;
    if (url.pathname.endsWith("/count_tokens")) return Response.json({ input_tokens: 10 });
    const answer = script(request);
    if (answer === undefined) {
      surprises.push(JSON.stringify(request.messages).slice(-300));
      return Response.json({ type: "error", error: { type: "api_error", message: "unscripted" } }, {
        status: 500,
      });
    }
    if ("status" in answer) {
      served.push({ label: answer.label, model: request.model, status: answer.status });
      return Response.json({
        type: "error",
        error: { type: answer.errorType, message: answer.message },
      }, { status: answer.status });
    }
    const id = `msg_01FAKE${String(++count).padStart(6, "0")}`;
    served.push({
      label: answer.label,
      model: request.model,
      messageId: id,
      usage: answer.usage,
      status: 200,
    });
    if (!request.stream) {
      return Response.json({
        id,
        type: "message",
        role: "assistant",
        model: request.model,
        content: answer.blocks.map((block) =>
          block.type === "text" ? block : { ...block, id: `toolu_01FAKE${count}` }
        ),
        stop_reason: "end_turn",
        stop_sequence: null,
        usage: answer.usage,
      });
    }
    return new Response(encoder.encode(streamBody(answer, id, request.model)), {
      headers: { "content-type": "text/event-stream", "request-id": `req_${id}` },
    });
  };
  const { promise: listening, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: resolve }, handler);
  const { port } = await listening;
  const close = () => server.shutdown();
  return {
    url: `http://127.0.0.1:${port}`,
    served,
    surprises,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** The text of every block of a message's content (a string, or blocks with `text`). */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((block) => {
    if (typeof block?.text === "string") return block.text;
    if (block?.type === "tool_result") return contentText(block.content);
    return "";
  }).join("\n");
}

/** How many `tool_result` blocks the request's messages hold. */
export function toolResults(request: MessagesRequest): number {
  let n = 0;
  for (const message of request.messages) {
    if (!Array.isArray(message.content)) continue;
    for (const block of message.content) if (block?.type === "tool_result") n++;
  }
  return n;
}
