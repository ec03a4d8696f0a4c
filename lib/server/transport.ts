/**
 * What carries a connection's bytes: a TCP connection (`Deno.Conn` is one as
 * it is), a TLS session on one that has a handshake to do first (a
 * `TlsStream`, see tls_stream.ts), or an adapter over a transport that is not
 * a byte stream (the web page's WebSocket, see lib/web/websocket_transport.ts).
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
  /** With TLS: completes the handshake, which comes before anything else. */
  handshake?(): Promise<unknown>;
  /** From now on several lines may go out in one message: the peer asked for it (`batch`). */
  batchLines?(): void;
}
