/**
 * Driving a real terminal in tests: tmux on a private socket, with a wait
 * that polls the screen instead of sleeping a fixed time.
 *
 * @module
 */

import { WAIT_MS } from "./_helpers.ts";

/** Runs a tmux command on the private server `socket`; resolves to its output. */
export async function tmux(socket: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("tmux", { args: ["-L", socket, ...args] }).output();
  if (!out.success) {
    throw new Error(`tmux ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/**
 * Polls the pane of session "chat" until `pattern` shows; resolves to the
 * match (whose `input` is the whole screen). Fails after WAIT_MS.
 */
export async function screenShows(socket: string, pattern: RegExp): Promise<RegExpExecArray> {
  const deadline = Date.now() + WAIT_MS;
  let screen = "";
  while (Date.now() < deadline) {
    screen = await tmux(socket, "capture-pane", "-p", "-t", "chat");
    const match = pattern.exec(screen);
    if (match) return match;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`screen never showed ${pattern}:\n${screen}`);
}
