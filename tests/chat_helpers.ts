/**
 * Shared pieces of the end-to-end tests of `chat join`: a real server on a
 * free port, and the client run as a real process (the scripted second user
 * is _helpers.ts's JsonClient).
 *
 * @module
 */

export { startServer } from "./_helpers.ts";
import { type ChatRun, runChat, spawnChat } from "./_chat_command.ts";

/** A port nothing listens on (it was free a moment ago). */
export function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

/**
 * The environment of `chat join` in these tests: none of the CHAT_* variables
 * of whoever runs them, and NO_COLOR empty, so that a pipe shows no colour
 * because it is a pipe.
 */
const JOIN_ENV = {
  ...{ NO_COLOR: "", CHAT_HOST: "", CHAT_PORT: "", CHAT_NAME: "" },
  ...{ CHAT_PASSWORD: "", CHAT_CA: "" },
};

/** Runs `chat join ARGS` as a real process with `input` on stdin. */
export function runJoin(
  args: string[],
  input = "",
  env: Record<string, string> = {},
): Promise<ChatRun> {
  return runChat(["join", ...args], { input, env: { ...JOIN_ENV, ...env } });
}

/** Starts `chat join ARGS` with piped stdin, stdout and stderr. */
export function spawnJoin(args: string[], env: Record<string, string> = {}): Deno.ChildProcess {
  return spawnChat(["join", ...args], { env: { ...JOIN_ENV, ...env } });
}
