/**
 * Asking for a password: hidden on a terminal, a plain line from a pipe.
 *
 * On a terminal, {@link promptSecret} switches stdin to raw mode so that
 * nothing typed is echoed, reads up to Enter, and restores the mode in
 * `finally`, whatever happens. It understands Backspace, Ctrl+U (start
 * again) and Ctrl+C or Ctrl+D on an empty line (give up), and ignores arrow
 * keys and other escape sequences. When stdin is not a terminal it returns
 * null, as std's `promptSecret` does; {@link SecretReader} then reads the
 * next line of stdin instead, so scripts can pipe passwords in:
 *
 * ```sh
 * printf 'pw\npw\n' | chat user add bob --data ./data
 * ```
 *
 * Prompts go to stderr, so stdout carries only results.
 *
 * @module
 */

/** The streams a prompt uses; Deno.stdin and Deno.stderr by default, stand-ins in tests. */
export interface SecretIO {
  /** Where keys (or piped lines) come from. */
  stdin: {
    read(buffer: Uint8Array): Promise<number | null>;
    isTerminal(): boolean;
    setRaw(mode: boolean): void;
  };
  /** Where the prompt goes. */
  stderr: { writeSync(bytes: Uint8Array): number };
}

/** The person gave up (Ctrl+C, or Ctrl+D on an empty line). */
export class PromptCancelled extends Error {
  /** Creates the error; `message` says what was being asked. */
  constructor(message = "Cancelled") {
    super(message);
    this.name = "PromptCancelled";
  }
}

/** Longest secret read, in bytes; the rest of a longer one is ignored. */
export const MAX_SECRET_BYTES = 4096;

const DEFAULT_IO: SecretIO = { stdin: Deno.stdin, stderr: Deno.stderr };

const CTRL_C = 0x03;
const CTRL_D = 0x04;
const BACKSPACE = 0x08;
const LF = 0x0a;
const CR = 0x0d;
const CTRL_U = 0x15;
const ESC = 0x1b;
const DEL = 0x7f;

/**
 * Asks for a secret on the terminal without echoing it.
 *
 * @returns the text typed before Enter, or null when stdin is not a terminal.
 * @throws {PromptCancelled} on Ctrl+C, or Ctrl+D on an empty line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { promptSecret } from "./prompt_secret.ts";
 * const keys = [new TextEncoder().encode("s3cret\x7ft\r")];
 * const modes: boolean[] = [];
 * const io = {
 *   stdin: {
 *     read: (buffer: Uint8Array) => {
 *       const next = keys.shift();
 *       if (!next) return Promise.resolve(null);
 *       buffer.set(next);
 *       return Promise.resolve(next.length);
 *     },
 *     isTerminal: () => true,
 *     setRaw: (mode: boolean) => void modes.push(mode),
 *   },
 *   stderr: { writeSync: (bytes: Uint8Array) => bytes.length },
 * };
 * assert.equal(await promptSecret("Password: ", io), "s3cret");
 * assert.deepEqual(modes, [true, false]);
 * ```
 */
export async function promptSecret(message: string, io: SecretIO = DEFAULT_IO): Promise<
  string | null
> {
  if (!io.stdin.isTerminal()) return null;
  const write = (text: string) => writeAll(io.stderr, text);
  write(message);
  io.stdin.setRaw(true);
  try {
    const typed: number[] = [];
    const buffer = new Uint8Array(256);
    let escape: "none" | "start" | "csi" = "none";
    while (true) {
      const n = await io.stdin.read(buffer);
      if (n === null) {
        // The terminal went away mid-password: what was typed was not confirmed.
        throw new PromptCancelled();
      }
      for (const byte of buffer.subarray(0, n)) {
        // Arrow keys and the like arrive as ESC [ ... final byte, or ESC O x: skip them whole.
        if (escape === "start") {
          escape = byte === 0x5b ? "csi" : byte === 0x4f ? "csi" : "none";
          continue;
        }
        if (escape === "csi") {
          if (byte >= 0x40 && byte <= 0x7e) escape = "none";
          continue;
        }
        if (byte === CR || byte === LF) return new TextDecoder().decode(new Uint8Array(typed));
        if (byte === CTRL_C || (byte === CTRL_D && typed.length === 0)) {
          throw new PromptCancelled();
        }
        if (byte === BACKSPACE || byte === DEL) {
          // Remove one whole character: its UTF-8 continuation bytes, then its first byte.
          while (typed.length > 0 && (typed[typed.length - 1] & 0xc0) === 0x80) typed.pop();
          typed.pop();
        } else if (byte === CTRL_U) {
          typed.length = 0;
        } else if (byte === ESC) {
          escape = "start";
        } else if (byte >= 0x20 && typed.length < MAX_SECRET_BYTES) {
          typed.push(byte);
        }
      }
    }
  } finally {
    try {
      io.stdin.setRaw(false);
    } catch {
      // The terminal is gone; there is no mode left to restore.
    }
    // Enter was not echoed: end the prompt's line (on Ctrl+C too, so the shell prompt starts clean).
    write("\n");
  }
}

/**
 * Asks for secrets one after another: hidden on a terminal, or the next
 * line of stdin when it is not one (no prompt is shown then).
 */
export class SecretReader {
  #io: SecretIO;
  #pending: number[] = [];
  #ended = false;

  /** A reader of `io` (stdin and stderr by default). */
  constructor(io: SecretIO = DEFAULT_IO) {
    this.#io = io;
  }

  /**
   * Asks with `message`; resolves to the secret, or null at the end of piped input.
   *
   * @throws {PromptCancelled} when the person gives up at the terminal.
   */
  async ask(message: string): Promise<string | null> {
    const typed = await promptSecret(message, this.#io);
    return typed ?? await this.#line();
  }

  /** The next line of piped stdin, without its line ending; null at the end. */
  async #line(): Promise<string | null> {
    const buffer = new Uint8Array(4096);
    let skipping = false;
    while (true) {
      const end = this.#pending.indexOf(LF);
      if (end >= 0 || (this.#ended && this.#pending.length > 0)) {
        const line = this.#pending.splice(0, end >= 0 ? end + 1 : this.#pending.length);
        if (line.at(-1) === LF) line.pop();
        if (line.at(-1) === CR) line.pop();
        return new TextDecoder().decode(new Uint8Array(line.slice(0, MAX_SECRET_BYTES)));
      }
      if (this.#ended) return null;
      // A line past the limit is kept to its first MAX_SECRET_BYTES and read
      // to its end, so memory stays bounded and the next line starts right.
      if (this.#pending.length > MAX_SECRET_BYTES) {
        this.#pending.length = MAX_SECRET_BYTES;
        skipping = true;
      }
      const n = await this.#io.stdin.read(buffer);
      if (n === null) {
        this.#ended = true;
        continue;
      }
      const chunk = buffer.subarray(0, n);
      const newline = chunk.indexOf(LF);
      if (skipping && newline < 0) continue;
      if (skipping) {
        this.#pending.push(LF, ...chunk.subarray(newline + 1));
        skipping = false;
      } else this.#pending.push(...chunk);
    }
  }
}

function writeAll(stream: SecretIO["stderr"], text: string): void {
  const bytes = new TextEncoder().encode(text);
  let done = 0;
  try {
    while (done < bytes.length) done += stream.writeSync(bytes.subarray(done));
  } catch {
    // Nobody reads stderr: the prompt is lost, the answer still counts.
  }
}
