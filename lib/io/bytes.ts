/**
 * Byte helpers shared by the reader and the writer.
 *
 * @module
 */

/** Joins `parts` into one array of `total` bytes (their summed length). */
export function concatBytes(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Writes all of `bytes` to `conn`: a write may take only part of them. Each
 * write waits for room, so nothing queues up in memory.
 */
export async function writeAll(
  conn: { write(bytes: Uint8Array): Promise<number> },
  bytes: Uint8Array,
): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await conn.write(done === 0 ? bytes : bytes.subarray(done));
}

/** Size of each chunk of a {@link ByteArena}. */
const CHUNK_SIZE = 16 * 1024;

/** Texts that may need more than this many bytes get a buffer of their own. */
const MAX_PLACED = CHUNK_SIZE / 4;

/**
 * Encodes texts end to end into shared chunks, so that texts encoded one
 * after another are adjacent bytes of the same buffer.
 *
 * The server encodes each event once for all its recipients; laid out this
 * way, what queues up for one connection (the room's messages, in order) is
 * usually one run of bytes, written without copying it together. A chunk is
 * never written twice, so the views it hands out stay valid, and it is freed
 * when the last view into it is. Chunks are small so that a view kept for
 * long (a slow reader's queue) keeps little else alive with it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ByteArena } from "./bytes.ts";
 * const arena = new ByteArena();
 * const a = arena.encode("hello ");
 * const b = arena.encode("world\n");
 * assert.equal(b.buffer, a.buffer);
 * assert.equal(b.byteOffset, a.byteOffset + a.byteLength);
 * assert.equal(new TextDecoder().decode(a), "hello ");
 * ```
 */
export class ByteArena {
  #encoder = new TextEncoder();
  #chunk = new Uint8Array(CHUNK_SIZE);
  #used = 0;

  /** The UTF-8 bytes of `text`, placed right after the last text encoded here if it fits. */
  encode(text: string): Uint8Array {
    // UTF-8 needs at most 3 bytes per UTF-16 code unit.
    const most = text.length * 3;
    if (most > MAX_PLACED) return this.#encoder.encode(text);
    if (this.#used + most > CHUNK_SIZE) {
      this.#chunk = new Uint8Array(CHUNK_SIZE);
      this.#used = 0;
    }
    const start = this.#used;
    const { written } = this.#encoder.encodeInto(text, this.#chunk.subarray(start));
    this.#used = start + written;
    return this.#chunk.subarray(start, this.#used);
  }
}
