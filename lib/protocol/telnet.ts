/**
 * Just enough of the telnet protocol (RFC 854) for a person on `telnet` to
 * chat: negotiation bytes are removed from what they type, option requests
 * are politely refused, Ctrl+C (sent as "interrupt process") leaves, and the
 * server can offer to echo (RFC 857), which is how a telnet server stops the
 * client from showing a password as it is typed.
 *
 * Without this, telnet's control bytes (0xFF and after) would make the line
 * invalid UTF-8, and telnet would wait forever for the answer to the
 * "timing mark" it sends after Ctrl+C, discarding everything we print.
 *
 * @module
 */

const IAC = 255;
const DONT = 254;
const DO = 253;
const WONT = 252;
const WILL = 251;
const SB = 250;
const SE = 240;
const ECHO = 1;
const TIMING_MARK = 6;
// Commands that mean "stop": interrupt process, break, abort, suspend, end of file.
const STOP = new Set([244, 243, 238, 237, 236]);

type State = "data" | "command" | "option" | "subnegotiation" | "subnegotiation-command";

/** What filtering one chunk found besides the data. */
export interface TelnetResult {
  /** How many bytes of data remain, at the start of the buffer. */
  length: number;
  /** Bytes to send back (answers to negotiation), if any. */
  reply: Uint8Array | null;
  /** The peer asked to interrupt (Ctrl+C) or end the session. */
  stop: boolean;
}

/** A telnet command filter; keeps its state between chunks. */
export class TelnetFilter {
  #state: State = "data";
  #verb = 0;
  #seen = false;
  #echoing = false;

  /** Whether the peer has sent a telnet command: it is a telnet client. */
  get seen(): boolean {
    return this.#seen;
  }

  /** Whether we offer to echo, and the client has not refused: it is not showing what is typed. */
  get echoing(): boolean {
    return this.#echoing;
  }

  /**
   * The bytes that offer to echo (IAC WILL ECHO): a telnet client then stops
   * showing what is typed, since the server says it will (and, for a
   * password, does not).
   */
  willEcho(): Uint8Array {
    this.#echoing = true;
    return new Uint8Array([IAC, WILL, ECHO]);
  }

  /** The bytes that withdraw {@link willEcho} (IAC WONT ECHO): the client echoes again. */
  wontEcho(): Uint8Array {
    this.#echoing = false;
    return new Uint8Array([IAC, WONT, ECHO]);
  }

  /**
   * Removes telnet commands from `bytes` in place.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { TelnetFilter } from "./telnet.ts";
   * const bytes = new Uint8Array([104, 255, 253, 6, 105, 10]); // "h", DO TIMING-MARK, "i\n"
   * const result = new TelnetFilter().filter(bytes);
   * assert.deepEqual([...bytes.subarray(0, result.length)], [104, 105, 10]);
   * assert.deepEqual([...result.reply!], [255, 251, 6]); // WILL TIMING-MARK
   * ```
   */
  filter(bytes: Uint8Array): TelnetResult {
    let out = 0;
    let reply: number[] | null = null;
    let stop = false;
    for (const byte of bytes) {
      switch (this.#state) {
        case "data":
          if (byte === IAC) {
            this.#state = "command";
            this.#seen = true;
          } else {
            bytes[out++] = byte;
          }
          break;
        case "command":
          this.#state = "data";
          if (byte >= WILL && byte <= DONT) {
            this.#verb = byte;
            this.#state = "option";
          } else if (byte === SB) {
            this.#state = "subnegotiation";
          } else if (STOP.has(byte)) {
            stop = true;
          }
          // IAC IAC is a literal 0xFF, which is never valid UTF-8: dropped too.
          break;
        case "option": {
          this.#state = "data";
          const answer = this.#answer(this.#verb, byte);
          if (answer) (reply ??= []).push(IAC, answer, byte);
          break;
        }
        case "subnegotiation":
          if (byte === IAC) this.#state = "subnegotiation-command";
          break;
        case "subnegotiation-command":
          this.#state = byte === SE ? "data" : "subnegotiation";
          break;
      }
    }
    return { length: out, reply: reply && new Uint8Array(reply), stop };
  }

  /**
   * We offer nothing and accept nothing, except to confirm a timing mark. A
   * DO ECHO while we offer to echo agrees with us: answering it again would
   * loop (RFC 854's rule: do not acknowledge a mode already in force).
   */
  #answer(verb: number, option: number): number | null {
    if (verb === DO && option === ECHO && this.#echoing) return null;
    if (verb === DONT && option === ECHO && this.#echoing) {
      // Refused: the client keeps echoing, and we confirm that we will not.
      this.#echoing = false;
      return WONT;
    }
    if (verb === DO) return option === TIMING_MARK ? WILL : WONT;
    if (verb === WILL) return DONT;
    return null;
  }
}
