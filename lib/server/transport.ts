/**
 * What carries a connection's bytes: a TCP or TLS connection (`Deno.Conn`
 * is one as it is), or an adapter over a transport that is not a byte
 * stream (the web page's WebSocket, see lib/web/websocket_transport.ts).
 * The connection's life (lib/server/connection.ts) needs no more than this.
 *
 * @module
 */

import type { ByteWriter } from "../io/outbox.ts";

/** A duplex byte stream with Deno's `Conn` contract for the calls a connection makes. */
export interface Transport extends ByteWriter {
  /** The peer's address. */
  readonly remoteAddr: Deno.Addr;
  /** Reads into `buffer`; resolves to how many bytes were read, or null at the end of input. */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Says that nothing more will be written, while input may still arrive. */
  closeWrite(): Promise<void>;
  /** Closes at once; a read in progress ends. */
  close(): void;
}
