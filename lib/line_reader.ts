/**
 * Splits a byte stream into lines with a length cap, without ever holding
 * more than the cap of one line in memory.
 *
 * Like std's `TextLineStream`, but for untrusted peers: an over-long line is
 * reported as soon as it passes the cap and the rest of it is skipped, and a
 * line that is not valid UTF-8 is reported instead of being decoded into
 * replacement characters.
 *
 * @module
 */

import { concatBytes } from "./bytes.ts";
import { MAX_LINE_BYTES } from "./defaults.ts";

/** Something with Deno's `read` contract (a `Deno.Conn`, for one). */
export interface ByteReader {
  /** Reads into `buffer`; resolves to the count read, or null at the end. */
  read(buffer: Uint8Array): Promise<number | null>;
}

/** What the reader yields: a line (without its `\n` or `\r\n`), or a problem. */
export type LineRead =
  | { kind: "line"; text: string }
  | { kind: "too_long" }
  | { kind: "bad_encoding" };

const NEWLINE = 10;
const CARRIAGE_RETURN = 13;
const READ_SIZE = 16 * 1024;

/**
 * Yields the lines read from `source` until it ends. A final line without a
 * newline is yielded too. Read errors (a reset connection) end the iteration
 * quietly: to the caller, a vanished peer and a closed one are the same.
 */
export async function* readLines(
  source: ByteReader,
  maxBytes: number = MAX_LINE_BYTES,
): AsyncGenerator<LineRead> {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const buffer = new Uint8Array(READ_SIZE);
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let skipping = false;

  const decode = (parts: Uint8Array[], total: number): LineRead => {
    let bytes = parts.length === 1 ? parts[0] : concatBytes(parts, total);
    if (bytes.length > 0 && bytes[bytes.length - 1] === CARRIAGE_RETURN) {
      bytes = bytes.subarray(0, -1);
    }
    if (bytes.length > maxBytes) return { kind: "too_long" };
    try {
      return { kind: "line", text: decoder.decode(bytes) };
    } catch {
      return { kind: "bad_encoding" };
    }
  };

  let lost = false;
  while (true) {
    let n: number | null;
    try {
      n = await source.read(buffer);
    } catch {
      // A reset connection: what it left unfinished was never meant to be sent.
      n = null;
      lost = true;
    }
    if (n === null) break;
    let chunk = buffer.subarray(0, n);
    while (chunk.length > 0) {
      const at = chunk.indexOf(NEWLINE);
      const end = at === -1 ? chunk.length : at;
      if (!skipping) {
        // One byte of room for the \r of a \r\n, which does not count.
        if (pendingBytes + end > maxBytes + 1) {
          skipping = true;
          pending = [];
          pendingBytes = 0;
          yield { kind: "too_long" };
        } else if (at === -1) {
          // The read buffer is reused: keep a copy of a partial line.
          pending.push(chunk.slice());
          pendingBytes += chunk.length;
        } else {
          pending.push(chunk.subarray(0, at));
          const line = decode(pending, pendingBytes + at);
          pending = [];
          pendingBytes = 0;
          yield line;
        }
      }
      if (at === -1) break;
      skipping = false;
      chunk = chunk.subarray(at + 1);
    }
  }
  if (!skipping && !lost && pendingBytes > 0) yield decode(pending, pendingBytes);
}
