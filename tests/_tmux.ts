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

/** Options of a new terminal: its size, folder and extra environment. */
export interface TerminalOptions {
  /** Columns. @default 100 */
  columns?: number;
  /** Rows. @default 30 */
  rows?: number;
  /** Working folder of the command. */
  cwd?: string;
  /** Environment variables set for the command. */
  env?: Record<string, string>;
}

/** `words` as one shell command line, each word single-quoted. */
export function shellLine(words: string[]): string {
  return words.map((word) => `'${word.replaceAll("'", `'\\''`)}'`).join(" ");
}

/** Starts tmux session "chat" on `socket`, running the shell command `command` in it. */
export async function startTerminal(
  socket: string,
  command: string,
  options: TerminalOptions = {},
): Promise<void> {
  const args = ["new-session", "-d", "-s", "chat"]
    .concat(["-x", String(options.columns ?? 100), "-y", String(options.rows ?? 30)])
    .concat(options.cwd ? ["-c", options.cwd] : [])
    .concat(Object.entries(options.env ?? {}).flatMap(([k, v]) => ["-e", `${k}=${v}`]));
  await tmux(socket, ...args, command);
}

/** Stops the tmux server on `socket` and removes its socket file, which tmux leaves behind. */
export async function stopTerminal(socket: string): Promise<void> {
  const path = await tmux(socket, "display", "-p", "#{socket_path}").catch(() => "");
  await tmux(socket, "kill-server").catch(() => {});
  if (path.trim()) await Deno.remove(path.trim()).catch(() => {});
}

/** Starts a terminal running `command` (see {@link startTerminal}), runs `body`, then stops it. */
export async function withTerminal(
  socket: string,
  command: string,
  options: TerminalOptions,
  body: () => Promise<void>,
): Promise<void> {
  await startTerminal(socket, command, options);
  try {
    await body();
  } finally {
    await stopTerminal(socket);
  }
}

/** Types `text` into session "chat" and presses Enter. */
export async function typeLine(socket: string, text: string): Promise<void> {
  await tmux(socket, "send-keys", "-t", "chat", "-l", text);
  await tmux(socket, "send-keys", "-t", "chat", "Enter");
}

/** The rows of `screen` that contain `text`. */
export function rowsWith(screen: string, text: string): string[] {
  return screen.split("\n").filter((row) => row.includes(text));
}

/**
 * Polls the pane of session "chat" until `pattern` shows; resolves to the
 * match (whose `input` is the whole screen). Fails after `ms`.
 */
export async function screenShows(
  socket: string,
  pattern: RegExp,
  ms: number = WAIT_MS,
): Promise<RegExpExecArray> {
  const deadline = Date.now() + ms;
  let screen = "";
  while (Date.now() < deadline) {
    screen = await tmux(socket, "capture-pane", "-p", "-t", "chat");
    const match = pattern.exec(screen);
    if (match) return match;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`screen never showed ${pattern}:\n${screen}`);
}
