/**
 * The client's only contact with the process's standard streams: whether
 * they are terminals, raw mode, writing, the window size and its changes,
 * and the signals that mean "leave now".
 *
 * {@link Terminal.start} puts the terminal in raw mode (every key reaches us,
 * nothing is echoed), turns on bracketed paste and saves the window title;
 * {@link Terminal.stop} undoes all of it and is safe to call twice, so the
 * caller can call it from `finally` and from a signal handler alike.
 *
 * @module
 */

import { readLines } from "../io/line_reader.ts";

/** A terminal's size in character cells. */
export interface TerminalSize {
  /** Width. */
  columns: number;
  /** Height. */
  rows: number;
}

const encoder = new TextEncoder();
const BRACKETED_PASTE_ON = "\x1b[?2004h";
const BRACKETED_PASTE_OFF = "\x1b[?2004l";
// xterm's title stack: save the title before changing it, restore it on leaving.
const SAVE_TITLE = "\x1b[22;0t";
const RESTORE_TITLE = "\x1b[23;0t";
// Windows has no SIGWINCH: the size is polled instead.
const RESIZE_POLL_MS = 250;

/** Whether both stdin and stdout are terminals, which is when the client is interactive. */
export function isInteractive(): boolean {
  return Deno.stdin.isTerminal() && Deno.stdout.isTerminal();
}

/** Whether colours are unwanted: NO_COLOR set to anything but "" (see no-color.org). */
export function noColor(): boolean {
  try {
    return Boolean(Deno.env.get("NO_COLOR"));
  } catch {
    return false;
  }
}

/** What TERM and COLORTERM say about the terminal's colours; nothing when they may not be read. */
export function terminalEnv(): { TERM?: string; COLORTERM?: string } {
  try {
    return { TERM: Deno.env.get("TERM"), COLORTERM: Deno.env.get("COLORTERM") };
  } catch {
    return {};
  }
}

/** Writes all of `text` to stdout; a reader that went away is not an error. */
export function writeOut(text: string): void {
  writeAll(Deno.stdout, text);
}

/** Writes all of `text` to stderr. */
export function writeErr(text: string): void {
  writeAll(Deno.stderr, text);
}

function writeAll(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  let done = 0;
  try {
    while (done < bytes.length) done += stream.writeSync(bytes.subarray(done));
  } catch {
    // A closed pipe (`chat join | head`) or a hung-up terminal: nobody to tell.
  }
}

/** The lines of stdin, for the non-interactive client; lines that cannot be sent are skipped. */
export async function* stdinLines(maxBytes: number): AsyncGenerator<string> {
  for await (const read of readLines(Deno.stdin, maxBytes)) {
    if (read.kind === "line") yield read.text;
    else if (read.kind === "too_long") {
      writeErr(`chat: a line over ${maxBytes} bytes was skipped\n`);
    } else writeErr("chat: a line that is not UTF-8 was skipped\n");
  }
}

/** The interactive terminal: raw input, output, size, resize and stop signals. */
export class Terminal {
  #started = false;
  #cleanups: (() => void)[] = [];

  /** Enters raw mode with bracketed paste; the window title is saved. */
  start(): void {
    if (this.#started) return;
    Deno.stdin.setRaw(true);
    this.#started = true;
    this.write(BRACKETED_PASTE_ON + SAVE_TITLE);
  }

  /** Leaves raw mode and restores the title; removes every listener. Idempotent. */
  stop(): void {
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
    if (!this.#started) return;
    this.#started = false;
    this.write(BRACKETED_PASTE_OFF + RESTORE_TITLE);
    try {
      Deno.stdin.setRaw(false);
    } catch {
      // The terminal is gone (hang-up); there is no mode left to restore.
    }
  }

  /** Writes to the screen at once (synchronously, so frames never interleave). */
  write(text: string): void {
    writeOut(text);
  }

  /** The window size; 80x24 when it cannot be read. */
  size(): TerminalSize {
    try {
      const { columns, rows } = Deno.consoleSize();
      if (columns > 0 && rows > 0) return { columns, rows };
    } catch {
      // Not a console after all.
    }
    return { columns: 80, rows: 24 };
  }

  /** Calls `listener` with the new size whenever the window is resized. */
  onResize(listener: (size: TerminalSize) => void): void {
    let last = this.size();
    const check = () => {
      const size = this.size();
      if (size.columns === last.columns && size.rows === last.rows) return;
      last = size;
      listener(size);
    };
    if (Deno.build.os === "windows") {
      const timer = setInterval(check, RESIZE_POLL_MS);
      this.#cleanups.push(() => clearInterval(timer));
    } else {
      Deno.addSignalListener("SIGWINCH", check);
      this.#cleanups.push(() => Deno.removeSignalListener("SIGWINCH", check));
    }
  }

  /** Calls `listener` when the process is asked to end (SIGTERM, SIGHUP, SIGINT). */
  onStopSignal(listener: () => void): void {
    const signals: Deno.Signal[] = Deno.build.os === "windows"
      ? ["SIGINT", "SIGBREAK"]
      : ["SIGINT", "SIGTERM", "SIGHUP"];
    for (const signal of signals) {
      Deno.addSignalListener(signal, listener);
      this.#cleanups.push(() => Deno.removeSignalListener(signal, listener));
    }
  }

  /** Raw input, read by read, until stdin ends. */
  async *input(): AsyncGenerator<Uint8Array> {
    const buffer = new Uint8Array(4096);
    while (true) {
      let n: number | null;
      try {
        n = await Deno.stdin.read(buffer);
      } catch {
        n = null;
      }
      if (n === null) return;
      yield buffer.slice(0, n);
    }
  }
}
