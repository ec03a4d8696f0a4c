/**
 * The TCP front end of the chat core: accept connections (plain TCP, or TLS
 * with a certificate), give each a {@link Connection} whose peer's protocol
 * is told apart by what it sends first (see sniff.ts), and close them
 * cleanly on request.
 *
 * A TLS front listens with plain TCP too, and hands each connection to a
 * {@link TlsFront}, which serves TLS on the connection of a peer that speaks
 * it (node:tls, see tls_stream.ts) and turns the others away. There is no
 * other port: each peer holds one descriptor, its own connection, which the
 * server closes whenever it likes, mid-handshake too.
 * Limits count the connection and its peer's address from accept on.
 * The places for connections that have not registered yet are few and
 * shared fairly among addresses (see waiting_room.ts): whoever gives way or
 * is turned away is told why, in its protocol, where it can be.
 *
 * This is only the bridge between sockets and the {@link Hub} it is given;
 * all chat rules live in the hub, and password checks in the
 * {@link Gatekeeper}. The composition root (lib/serve/chat_server.ts) builds
 * them and this front, and wires them together.
 *
 * @module
 */

import type { Gatekeeper } from "../auth/gatekeeper.ts";
import type { Hub } from "../core/hub.ts";
import { DEFAULT_PORT, MAX_LINE_BYTES } from "../protocol/limits.ts";
import {
  DEFAULT_MAX_PER_ADDRESS,
  DEFAULT_PING_INTERVAL_MS,
  DEFAULT_QUEUE_LIMIT,
  DEFAULT_REGISTRATION_TIMEOUT_MS,
  DEFAULT_SERVE_HOST,
} from "./limits.ts";
import { errorMessage } from "../core/errors.ts";
import { plural } from "../core/plural.ts";
import { acceptLoop } from "./accept_loop.ts";
import { addressKey, formatAddress } from "./address.ts";
import {
  Connection,
  type ConnectionContext,
  type ConnectionLimits,
  type ConnectionOwner,
  type Protocol,
} from "./connection.ts";
import { sniff } from "./sniff.ts";
import { type TlsArrival, TlsFront, type TlsOwner } from "./tls_front.ts";
import type { Transport } from "./transport.ts";
import { WaitingRoom } from "./waiting_room.ts";

/** Settings of a TCP front end; every field but the core's parts has a default. */
export interface TcpFrontOptions extends Partial<ConnectionLimits> {
  /** The chat core the connections talk to. */
  hub: Hub;
  /** Checks account passwords; null (or left out) when no name needs one. */
  gatekeeper?: Gatekeeper | null;
  /** Interface to listen on. @default "0.0.0.0" (all) */
  hostname?: string;
  /** TCP port; 0 picks a free one. @default DEFAULT_PORT */
  port?: number;
  /** Receives the operator's log, one line per event. */
  log?: (line: string) => void;
  /** Most connections from one IP address; 0 for no limit. @default DEFAULT_MAX_PER_ADDRESS */
  maxPerAddress?: number;
  /** Most connections that have not registered yet. @default max(64, the hub's maxUsers) */
  maxPending?: number;
  /**
   * Serve TLS with this certificate and private key (PEM text); peers that
   * do not speak TLS are told to use it, in a line of plain text.
   */
  tls?: { cert: string; key: string };
}

/** Unregistered connections allowed at least, whatever --max-users is. */
const MIN_PENDING = 64;

/**
 * Registration time of a connection that is over its address's limit and
 * only waits to be told so. A TLS peer must finish its handshake to hear it;
 * with the whole registration time, one address could hold every pending
 * place with handshakes that never end.
 */
const REFUSAL_TIMEOUT_MS = 1_000;

/** Why a connection is turned away: for the log, and for its peer. */
interface Refusal {
  why: string;
  message: string;
}

/** The contexts of connections that start with one protocol: as they come, and to be refused. */
interface Contexts {
  normal: ConnectionContext;
  refusal: ConnectionContext;
}

/** Whether `conn` is a TCP connection of Deno's own (not another front end's transport). */
function isTcpConn(conn: Transport): conn is Deno.TcpConn {
  return "setNoDelay" in conn;
}

/** Whether the peer of an unregistered connection (or of a TLS arrival) has said nothing yet. */
function isSilent(entry: Connection | TlsArrival): boolean {
  // An arrival is not served yet: its peer has not said a word of chat.
  return entry instanceof Connection ? !entry.heard : true;
}

/** Sets what every public connection gets: no delay for small writes, TCP keepalive. */
function setOptions(conn: Deno.TcpConn): void {
  try {
    conn.setNoDelay(true);
    conn.setKeepAlive(true);
  } catch {
    // The peer may already be gone; the connection (or arrival) will notice.
  }
}

/** A listening TCP front end and its connections. */
export class TcpFront {
  /** The web page's port, once it is served: a browser on the chat port is sent there. */
  webPort: number | null = null;
  #hub: Hub;
  #listener: Deno.TcpListener;
  /** With TLS: tells TLS peers from the others. */
  #front: TlsFront | null = null;
  #connections = new Set<Connection>();
  /**
   * Connections that have not registered yet (or TLS arrivals not told
   * apart yet), sharing the places for them fairly among addresses.
   */
  #waiting = new WaitingRoom<Connection | TlsArrival>(isSilent);
  /**
   * Connections being told that there is no place for them, until they
   * stop: they do not hold a place, but are few (see #refuseNewcomer).
   */
  #refusing = new Set<Connection>();
  /**
   * TLS connections not handed to a {@link Connection} yet (being told
   * apart, or refused), each with whether it is over its address's limit.
   * They count as unregistered connections.
   */
  #unserved = new Map<TlsArrival, boolean>();
  /** Each connection's run, until it ends: shutdown waits for them. */
  #tasks = new Map<Connection, Promise<void>>();
  /**
   * Keeps the counts as connections end. A connection stops counting
   * towards the limits (pending connections, connections per address) when
   * it stops serving its peer, which may be a moment before its run ends: it
   * lingers to close cleanly (see Connection).
   */
  #owner: ConnectionOwner = {
    registered: (connection) => {
      this.#waiting.delete(connection);
    },
    stopped: (connection) => {
      this.#connections.delete(connection);
      this.#waiting.delete(connection);
      this.#refusing.delete(connection);
      this.#uncount(connection.address);
    },
    ended: (connection) => {
      this.#tasks.delete(connection);
    },
  };
  /** Takes the TLS streams of the front's arrivals; their counts pass to their connections. */
  #tlsOwner: TlsOwner = {
    secured: (stream, arrival) => {
      const over = this.#unserved.get(arrival);
      if (over === undefined || this.#stopping) {
        stream.close();
        this.#tlsOwner.ended(arrival);
        return;
      }
      this.#unserved.delete(arrival);
      const address = addressKey(arrival.remoteAddr.hostname);
      const connection = this.#start(stream, arrival.remoteAddr, this.#overLimit(over, address));
      this.#waiting.replace(arrival, connection);
    },
    ended: (arrival) => {
      // An arrival never served still holds its counts.
      if (this.#unserved.delete(arrival)) this.#uncount(addressKey(arrival.remoteAddr.hostname));
      this.#waiting.delete(arrival);
    },
  };
  #limits: ConnectionLimits;
  /**
   * What every connection shares; the refusal context has the limits of a
   * connection that is only waiting to be refused.
   */
  #contexts: Contexts;
  /** The same for connections adopted from another front end, by their first protocol. */
  #adoptedContexts = new Map<(connection: Connection) => Protocol, Contexts>();
  #log: (line: string) => void;
  #stopping = false;
  #acceptLoop: Promise<void>;
  #maxPerAddress: number;
  #perAddress = new Map<string, number>();
  #keepalive: ReturnType<typeof setInterval> | undefined;
  #maxPending: number;
  #shedding = false;

  /**
   * Listens and starts accepting connections.
   *
   * @throws {Deno.errors.AddrInUse} and other listen errors, for the caller
   * to report; with `tls`, Deno's errors about the certificate and key.
   */
  constructor(options: TcpFrontOptions) {
    this.#log = options.log ?? (() => {});
    this.#hub = options.hub;
    this.#maxPerAddress = options.maxPerAddress ?? DEFAULT_MAX_PER_ADDRESS;
    this.#maxPending = options.maxPending ?? Math.max(MIN_PENDING, this.#hub.maxUsers);
    this.#limits = {
      maxLineBytes: options.maxLineBytes ?? MAX_LINE_BYTES,
      queueLimitBytes: options.queueLimitBytes ?? DEFAULT_QUEUE_LIMIT,
      registrationTimeoutMs: options.registrationTimeoutMs ?? DEFAULT_REGISTRATION_TIMEOUT_MS,
      promptDelayMs: options.promptDelayMs ?? 150,
      drainTimeoutMs: options.drainTimeoutMs ?? 1_000,
      pingIntervalMs: options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS,
    };
    this.#contexts = this.#contextsFor(sniff, options.gatekeeper ?? null);
    const address = {
      hostname: options.hostname ?? DEFAULT_SERVE_HOST,
      port: options.port ?? DEFAULT_PORT,
      transport: "tcp" as const,
    };
    this.#listener = Deno.listen(address);
    if (options.tls) {
      try {
        this.#front = new TlsFront({
          ...options.tls,
          registrationTimeoutMs: this.#limits.registrationTimeoutMs,
          lingerMs: this.#limits.drainTimeoutMs,
          log: this.#log,
          owner: this.#tlsOwner,
        });
      } catch (error) {
        this.#listener.close();
        throw error;
      }
    }
    this.#acceptLoop = acceptLoop(this.#listener, {
      what: "accept",
      logRecovery: true,
      log: this.#log,
      stopping: () => this.#stopping,
      accepted: (conn) => this.#serve(conn),
    });
    const ping = this.#limits.pingIntervalMs;
    if (ping > 0) {
      // One sweep for all connections, instead of a timer each.
      this.#keepalive = setInterval(() => {
        const now = Date.now();
        for (const connection of this.#connections) connection.keepalive(now);
      }, Math.max(10, Math.floor(ping / 4)));
    }
  }

  /** The address actually listened on (useful with port 0). */
  get addr(): Deno.NetAddr {
    return this.#listener.addr;
  }

  /**
   * Connections currently open, registered or not: with TLS, those still
   * being told apart count too.
   */
  get connections(): number {
    return this.#connections.size + this.#unserved.size;
  }

  /**
   * Stops accepting, and closes the connections that have not registered
   * (with a goodbye, once their protocol is known). The hub says goodbye to
   * its members, whose connections then close; {@link closed} waits for all.
   */
  stop(reason: string): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#listener.close();
    // TLS connections not told apart yet are closed; the others say goodbye first.
    this.#front?.stop();
    clearInterval(this.#keepalive);
    for (const connection of this.#connections) {
      if (!connection.registered) connection.send({ type: "bye", code: "shutdown", reason });
    }
  }

  /** Resolves when, after {@link stop}, every connection has closed. */
  async closed(): Promise<void> {
    await this.#acceptLoop;
    await Promise.all(this.#tasks.values());
    // Every arrival was closed at stop: this waits for the last to finish.
    await this.#front?.close();
  }

  /**
   * Serves a connection that another front end accepted (the web page's
   * WebSocket), starting with the protocol `start` gives it, under the same
   * limits as this front's own: per address, the places for unregistered
   * connections, keepalive; it ends with them on {@link stop}.
   */
  adopt(conn: Transport & { remoteAddr: Deno.NetAddr }, start: (c: Connection) => Protocol): void {
    if (this.#stopping) {
      conn.close();
      return;
    }
    let contexts = this.#adoptedContexts.get(start);
    if (!contexts) {
      contexts = this.#contextsFor(start, this.#contexts.normal.gatekeeper);
      this.#adoptedContexts.set(start, contexts);
    }
    this.#admit(conn, contexts, false);
  }

  #contextsFor(start: (c: Connection) => Protocol, gatekeeper: Gatekeeper | null): Contexts {
    const normal: ConnectionContext = {
      hub: this.#hub,
      gatekeeper,
      limits: this.#limits,
      log: this.#log,
      owner: this.#owner,
      start,
      webPort: () => this.webPort,
    };
    const refusal = {
      ...normal,
      limits: {
        ...this.#limits,
        registrationTimeoutMs: Math.min(this.#limits.registrationTimeoutMs, REFUSAL_TIMEOUT_MS),
      },
    };
    return { normal, refusal };
  }

  #serve(conn: Deno.TcpConn): void {
    this.#admit(conn, this.#contexts, this.#front !== null);
  }

  /**
   * Admits `conn` within the limits; `tls`: the TLS front tells a TLS peer
   * from the others first (a connection of this front's own port).
   */
  #admit(
    conn: Transport & { remoteAddr: Deno.NetAddr },
    contexts: Contexts,
    tls: boolean,
  ): void {
    const address = addressKey(conn.remoteAddr.hostname);
    // Connections that have not registered yet cost memory and a descriptor
    // each and are cheap to open: their places are few, and shared fairly.
    const waiting = this.#waiting.size;
    if (waiting >= this.#maxPending) {
      if (!this.#shedding) this.#log(`shedding connections: ${waiting} have not registered yet`);
      this.#shedding = true;
      if (!this.#makeRoom(address)) {
        this.#refuseNewcomer(conn, address, contexts, tls);
        return;
      }
    } else if (this.#shedding) {
      this.#log("accepting connections again");
      this.#shedding = false;
    }
    if (isTcpConn(conn)) setOptions(conn);
    const over = this.#count(address);
    if (tls && this.#front && isTcpConn(conn)) {
      const arrival = this.#front.admit(conn, formatAddress(conn.remoteAddr));
      this.#unserved.set(arrival, over);
      this.#waiting.add(arrival, address);
    } else {
      this.#waiting.add(
        this.#start(conn, conn.remoteAddr, this.#overLimit(over, address), contexts),
        address,
      );
    }
  }

  /**
   * Makes room for a newcomer from `address` when every place is taken: the
   * oldest silent connection of the address holding the most gives way, and
   * is told why. False when `address` itself holds the most.
   */
  #makeRoom(address: string): boolean {
    const evicted = this.#waiting.evictFor(address);
    if (!evicted) return false;
    const { entry, held } = evicted;
    const why = `${
      plural(held, "connection")
    } from ${evicted.address} not registered yet, the most`;
    this.#log(`drop ${entry.peer}: making room for another address (${why})`);
    if (entry instanceof Connection) {
      entry.sendAway(
        `Closed to make room: the server has too many connections waiting to register, ` +
          `and your address holds the most (${held})`,
      );
    } else {
      // Not told apart yet, or not handshaken: nothing can be said to it.
      entry.close();
    }
    return true;
  }

  /**
   * Turns away a newcomer from `address`, which holds the most places
   * already: a plain TCP peer is told why once its protocol is known (within
   * the prompt delay, or its first line). A TLS peer would have to finish a
   * handshake to hear anything, and past as many refusals in progress as
   * there are places, more would cost what the places limit: those are
   * closed at once.
   */
  #refuseNewcomer(
    conn: Transport & { remoteAddr: Deno.NetAddr },
    address: string,
    contexts: Contexts,
    tls: boolean,
  ): void {
    if (tls || this.#stopping || this.#refusing.size >= this.#maxPending) {
      conn.close();
      return;
    }
    if (isTcpConn(conn)) setOptions(conn);
    this.#count(address);
    const held = this.#waiting.held(address);
    this.#refusing.add(this.#start(conn, conn.remoteAddr, {
      why: `no place left, and ${plural(held, "connection")} from ${address} not registered yet`,
      message: `The server has too many connections waiting to register, and your address ` +
        `holds the most (${held}); register or close some first`,
    }, contexts));
  }

  /**
   * Serves `conn` (plain TCP, or a TLS stream) from the peer at
   * `remoteAddr`, already counted; with a `refusal`, the peer is only told
   * that once its protocol is known, and the connection closed.
   */
  #start(
    conn: Transport,
    remoteAddr: Deno.NetAddr,
    refusal: Refusal | null,
    contexts: Contexts = this.#contexts,
  ): Connection {
    const connection = new Connection(
      conn,
      refusal ? contexts.refusal : contexts.normal,
      remoteAddr,
    );
    if (refusal) {
      this.#log(`refuse ${connection.peer}: ${refusal.why}`);
      connection.turnAway(refusal.message);
    }
    this.#connections.add(connection);
    // run() catches what goes wrong while serving; this is for a bug in its cleanup.
    this.#tasks.set(
      connection,
      connection.run().catch((error) =>
        this.#log(`error ${connection.peer}: ${errorMessage(error)}`)
      ),
    );
    return connection;
  }

  /** What a connection from `address` over its limit is told, or null if it is within it. */
  #overLimit(over: boolean, address: string): Refusal | null {
    if (!over) return null;
    return {
      why: `over ${this.#maxPerAddress} connections from ${address}`,
      message:
        `Too many connections from your address (at most ${this.#maxPerAddress}); close some first`,
    };
  }

  /** Counts a connection from `address`; true when that is more than it may have. */
  #count(address: string): boolean {
    const count = (this.#perAddress.get(address) ?? 0) + 1;
    this.#perAddress.set(address, count);
    return this.#maxPerAddress > 0 && count > this.#maxPerAddress;
  }

  #uncount(address: string): void {
    const left = (this.#perAddress.get(address) ?? 1) - 1;
    if (left > 0) this.#perAddress.set(address, left);
    else this.#perAddress.delete(address);
  }
}
