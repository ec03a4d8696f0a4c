/**
 * How tests run chat as a user would: the executable named by `CHAT_EXE` (a
 * compiled one: CI sets it after `make compile`), or else main.ts under deno
 * with what the executables get, the "chat" permission set and no prompts.
 * {@link runChat} runs it to the end, {@link spawnChat} for a test that talks
 * to it while it runs.
 *
 * @module
 */

import { resolve } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { PERMISSION_SET } from "../tools/build.ts";
import { within } from "./_helpers.ts";

/** The repository root, where chat runs. */
export const ROOT: URL = new URL("..", import.meta.url);

/** The compiled executable under test, if any, as an absolute path. */
export const CHAT_EXE: string | undefined = Deno.env.get("CHAT_EXE")
  ? resolve(Deno.env.get("CHAT_EXE")!)
  : undefined;

/** The program and arguments that run `chat <args>`. */
export function chatCommand(args: string[]): [string, ...string[]] {
  if (CHAT_EXE) return [CHAT_EXE, ...args];
  return [
    Deno.execPath(),
    "run",
    // -q: no notice that permission sets in deno.json are experimental.
    "-q",
    `--permission-set=${PERMISSION_SET}`,
    "--no-prompt",
    // Absolute, so that tests can run chat in a directory of their own.
    `--config=${fromFileUrl(new URL("deno.json", ROOT))}`,
    fromFileUrl(new URL("main.ts", ROOT)),
    ...args,
  ];
}

/** Where and how a chat process runs: its folder and extra environment. */
export interface ChatProcessOptions {
  /** Working folder. @default the repository root */
  cwd?: string | URL;
  /** Variables added to the environment (which has NO_COLOR=1 unless they say otherwise). */
  env?: Record<string, string>;
}

/** What a finished chat process did. */
export interface ChatRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Starts `chat <args>` with piped stdin, stdout and stderr. */
export function spawnChat(args: string[], options: ChatProcessOptions = {}): Deno.ChildProcess {
  const [program, ...rest] = chatCommand(args);
  return new Deno.Command(program, {
    args: rest,
    cwd: options.cwd ?? ROOT,
    env: { NO_COLOR: "1", ...options.env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/**
 * Runs `chat <args>` with `input` on stdin (then its end) and waits for it to
 * exit; fails after WAIT_MS, naming the command that hung.
 */
export async function runChat(
  args: string[],
  options: ChatProcessOptions & { input?: string } = {},
): Promise<ChatRun> {
  const child = spawnChat(args, options);
  const writer = child.stdin.getWriter();
  // A process that exits before reading its input is the test's failure to report, not this.
  await writer.write(new TextEncoder().encode(options.input ?? "")).catch(() => {});
  await writer.close().catch(() => {});
  const { code, stdout, stderr } = await within(
    child.output(),
    () => `chat ${args.join(" ")} hung`,
  );
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}
