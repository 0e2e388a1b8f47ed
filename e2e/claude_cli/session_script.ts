/**
 * What the fake model answers in the real-CLI test: the main turn runs Bash, Read, Write, a Read
 * of a missing file (a failing tool call), an Agent subagent that runs its own Bash, then a final
 * answer; a `/compact` gets a summary; a prompt holding {@linkcode FAIL_PROMPT} gets a 400 (the
 * CLI's StopFailure). Each answer has its own usage numbers, so the totals say which answers the
 * telemetry counted.
 *
 * @module
 */
import {
  type Answer,
  type AnswerUsage,
  contentText,
  type MessagesRequest,
  toolResults,
} from "./fake_messages_api.ts";

/** The prompt of the main turn. */
export const MAIN_PROMPT = "zo-e2e: make out.txt, read it, write notes.md, then ask a subagent";
/** The prompt of the turn the fake fails with a 400. */
export const FAIL_PROMPT = "zo-e2e: this turn fails";
/** What the main turn asks the subagent; it is how the fake tells the subagent's requests. */
export const SUBAGENT_PROMPT = "zo-e2e subagent: run echo from-subagent";

function usage(step: number, salt: number): AnswerUsage {
  return {
    input_tokens: 1000 + 10 * salt + step,
    output_tokens: 20 + step,
    cache_creation_input_tokens: 100 * salt,
    cache_read_input_tokens: 7 * salt + step,
  };
}

function firstUserText(request: MessagesRequest): string {
  const first = request.messages.find((message) => message.role === "user");
  return first ? contentText(first.content) : "";
}

function lastUserText(request: MessagesRequest): string {
  const users = request.messages.filter((message) => message.role === "user");
  return users.length > 0 ? contentText(users.at(-1)!.content) : "";
}

/** The scripted answers, given the project directory the CLI runs in. */
export function sessionScript(
  projectDir: string,
): (request: MessagesRequest) => Answer | undefined {
  return (request) => {
    const last = lastUserText(request);
    // Claude Code asks for the compaction summary in a last user message of its own.
    if (/<summary> block/.test(last) && /Do NOT call any tools/i.test(last)) {
      return {
        label: "compact",
        usage: usage(0, 9),
        blocks: [{ type: "text", text: "<summary>Made out.txt and notes.md.</summary>" }],
      };
    }
    if (last.includes(FAIL_PROMPT)) {
      return {
        label: "fail",
        status: 400,
        errorType: "invalid_request_error",
        message: "zo-e2e: scripted failure",
      };
    }
    const step = toolResults(request);
    if (firstUserText(request).includes(SUBAGENT_PROMPT)) {
      if (step === 0) {
        return {
          label: "subagent",
          usage: usage(step, 5),
          blocks: [{
            type: "tool_use",
            name: "Bash",
            input: { command: "echo from-subagent", description: "Echo from the subagent" },
          }],
        };
      }
      return {
        label: "subagent",
        usage: usage(step, 5),
        blocks: [{ type: "text", text: "The subagent ran echo." }],
      };
    }
    if (!firstUserText(request).includes(MAIN_PROMPT)) return undefined;
    const steps: Answer[] = [
      {
        label: "main",
        usage: usage(0, 1),
        blocks: [
          { type: "text", text: "I'll create the file first." },
          {
            type: "tool_use",
            name: "Bash",
            input: { command: "echo hello > out.txt", description: "Write out.txt" },
          },
        ],
      },
      {
        label: "main",
        usage: usage(1, 1),
        blocks: [{ type: "tool_use", name: "Read", input: { file_path: `${projectDir}/out.txt` } }],
      },
      {
        label: "main",
        usage: usage(2, 1),
        blocks: [{
          type: "tool_use",
          name: "Write",
          input: { file_path: `${projectDir}/notes.md`, content: "# Notes\nout.txt says hello\n" },
        }],
      },
      {
        label: "main",
        usage: usage(3, 1),
        blocks: [{
          type: "tool_use",
          name: "Read",
          input: { file_path: `${projectDir}/missing.txt` },
        }],
      },
      {
        label: "main",
        usage: usage(4, 1),
        blocks: [{
          type: "tool_use",
          name: "Agent",
          input: {
            description: "Echo in a subagent",
            prompt: SUBAGENT_PROMPT,
            subagent_type: "general-purpose",
            run_in_background: false,
          },
        }],
      },
      {
        label: "main",
        usage: usage(5, 1),
        blocks: [{ type: "text", text: "Done: out.txt, notes.md, and the subagent ran." }],
      },
    ];
    return steps[step] ?? steps.at(-1);
  };
}
