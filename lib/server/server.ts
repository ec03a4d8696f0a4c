/**
 * The TCP front end of the chat core: accept connections (plain TCP, or TLS
 * with a certificate), give each a {@link Session}, and shut everything down
 * cleanly on request.
 *
 * A TLS server listens with plain TCP too, and hands each connection to a
 * {@link TlsFront}, which relays TLS peers to an internal TLS listener and
 * turns the others away: Deno cannot drop a TLS connection whose handshake
 * never ends, but it can drop the relay in front of it (see tls_front.ts).
 * Limits count the public connection and its peer's address from accept on.
 *
 * This is only the bridge between sockets and the {@link Hub}; all chat rules
 * live in the hub, and password checks in the {@link Gatekeeper}.
 *
 * @module
 */

import { Gatekeeper, type GatekeeperOptions } from "../auth/gatekeeper.ts";
import { type AuthMode, Hub } from "../core/hub.ts";
import { type ChurnLimits, type FloodLimits } from "../core/limits.ts";
import type { ThrottleLimits } from "../auth/passwords.ts";
import type { Store } from "../store/sqlite_store.ts";
import { DEFAULT_MAX_USERS } from "../core/limits.ts";
import { DEFAULT_PORT, MAX_LINE_BYTES } from "../protocol/limits.ts";
import {
  DEFAULT_MAX_PER_ADDRESS,
  DEFAULT_PING_INTERVAL_MS,
  DEFAULT_QUEUE_LIMIT,
  DEFAULT_REGISTRATION_TIMEOUT_MS,
  DEFAULT_SERVE_HOST,
} from "./limits.ts";
import {
  describeError,
  formatAddress,
  Session,
  type SessionLimits,
  type SessionOwner,
} from "./session.ts";
import { addressKey } from "./address.ts";
import { type Relay, type RelayOwner, TlsFront } from "./tls_front.ts";

/** Settings of a chat server; every field has a default. */
export interface ServerOptions extends Partial<SessionLimits> {
  /** Interface to listen on. @default "0.0.0.0" (all) */
  hostname?: string;
  /** TCP port; 0 picks a free one. @default DEFAULT_PORT */
  port?: number;
  /** Most registered users. @default DEFAULT_MAX_USERS */
  maxUsers?: number;
  /** Message of the day. */
  motd?: string;
  /** Name and version reported to clients. */
  version?: string;
  /** Receives the operator's log, one line per event. */
  log?: (line: string) => void;
  /** Clock for the hub, in epoch milliseconds. @default Date.now */
  now?: () => number;
  /** Most connections from one IP address; 0 for no limit. @default DEFAULT_MAX_PER_ADDRESS */
  maxPerAddress?: number;
  /** Flood control per user; null turns it off. @default DEFAULT_FLOOD */
  flood?: FloodLimits | null;
  /** Join churn control per address; null turns it off. @default DEFAULT_CHURN */
  churn?: ChurnLimits | null;
  /** Earlier messages shown to each joiner; 0 keeps no history. @default 0 */
  history?: number;
  /** Most connections that have not registered yet. @default max(64, maxUsers) */
  maxPending?: number;
  /** Persistence: room history, private messages and accounts survive restarts. */
  store?: Store;
  /** Who needs a password; "names" and "required" need a store. @default "off" */
  auth?: AuthMode;
  /**
   * Serve TLS with this certificate and private key (PEM text); peers that
   * do not speak TLS are told to use it, in a line of plain text.
   */
  tls?: { cert: string; key: string };
  /** How failed logins are slowed down. @default DEFAULT_THROTTLE */
  throttle?: ThrottleLimits;
  /** Password checks at once, the queue beyond, and what tests replace. */
  logins?: Pick<
    GatekeeperOptions,
    "maxConcurrent" | "maxQueued" | "verify" | "rehashParams" | "now"
  >;
}

/** Unregistered connections allowed at least, whatever --max-users is. */
const MIN_PENDING = 64;

/** Pause after a failed accept (out of file descriptors, say) before retrying. */
const ACCEPT_RETRY_MS = 100;

/**
 * Registration time of a connection that is over its address's limit and
 * only waits to be told so. A TLS peer must finish its handshake to hear it;
 * with the whole registration time, one address could hold every pending
 * place with handshakes that never end.
 */
const REFUSAL_TIMEOUT_MS = 1_000;

/** A running chat server. */
export class ChatServer {
  /** The chat core this server is a front end for. */
  readonly hub: Hub;
  /** Checks account passwords; null when no name needs one. */
  readonly gatekeeper: Gatekeeper | null;
  #listener: Deno.TcpListener;
  /** With TLS: the relays to the internal TLS listener. */
  #front: TlsFront | null = null;
  #sessions = new Set<Session>();
  /**
   * TLS connections not handed to a session yet (being told apart, or in
   * the relay's connect), each with whether it is over its address's limit.
   * They count as unregistered connections.
   */
  #unserved = new Map<Relay, boolean>();
  /** The relay under each TLS session: finished when the session ends. */
  #relayOf = new Map<Session, Relay>();
  /** Each session's run, until it ends: shutdown waits for them. */
  #tasks = new Map<Session, Promise<void>>();
  /**
   * Keeps the counts as sessions end. A session stops counting towards the
   * limits (pending connections, connections per address) when it stops
   * serving its peer, which may be a moment before its run ends: it lingers
   * to close cleanly (see Session).
   */
  #owner: SessionOwner = {
    stopped: (session) => {
      this.#sessions.delete(session);
      this.#uncount(session.address);
    },
    ended: (session) => {
      this.#tasks.delete(session);
      const relay = this.#relayOf.get(session);
      if (relay) {
        this.#relayOf.delete(session);
        relay.finish();
      }
    },
  };
  /** Takes the TLS connections that the front relays; its counts pass to their sessions. */
  #relayOwner: RelayOwner = {
    relayed: (conn, relay) => {
      const over = this.#unserved.get(relay);
      if (over === undefined || this.#stopping) {
        conn.close();
        relay.close();
        return;
      }
      this.#unserved.delete(relay);
      this.#start(conn, relay.remoteAddr, over, relay);
    },
    ended: (relay) => {
      // A relay that never got a session still holds its counts.
      if (this.#unserved.delete(relay)) this.#uncount(addressKey(relay.remoteAddr.hostname));
    },
  };
  #limits: SessionLimits;
  /** The limits of a connection that is only waiting to be refused. */
  #refusalLimits: SessionLimits;
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
   * @throws {TypeError} for an `auth` mode other than "off" without a store.
   */
  constructor(options: ServerOptions = {}) {
    this.#log = options.log ?? (() => {});
    const auth = options.auth ?? "off";
    if (auth !== "off" && !options.store) {
      throw new TypeError(`Accounts (auth ${auth}) need a store`);
    }
    this.gatekeeper = auth !== "off" && options.store
      ? new Gatekeeper({
        ...options.logins,
        store: options.store,
        mode: auth,
        log: this.#log,
        throttle: options.throttle,
      })
      : null;
    this.hub = new Hub({
      maxUsers: options.maxUsers ?? DEFAULT_MAX_USERS,
      motd: options.motd,
      server: options.version ? `chat ${options.version}` : "chat",
      now: options.now,
      log: this.#log,
      flood: options.flood,
      churn: options.churn,
      history: options.history,
      store: options.store,
      auth,
    });
    this.#maxPerAddress = options.maxPerAddress ?? DEFAULT_MAX_PER_ADDRESS;
    this.#maxPending = options.maxPending ?? Math.max(MIN_PENDING, this.hub.maxUsers);
    this.#limits = {
      maxLineBytes: options.maxLineBytes ?? MAX_LINE_BYTES,
      queueLimitBytes: options.queueLimitBytes ?? DEFAULT_QUEUE_LIMIT,
      registrationTimeoutMs: options.registrationTimeoutMs ?? DEFAULT_REGISTRATION_TIMEOUT_MS,
      promptDelayMs: options.promptDelayMs ?? 150,
      drainTimeoutMs: options.drainTimeoutMs ?? 1_000,
      pingIntervalMs: options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS,
    };
    this.#refusalLimits = {
      ...this.#limits,
      registrationTimeoutMs: Math.min(this.#limits.registrationTimeoutMs, REFUSAL_TIMEOUT_MS),
    };
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
          deadlineMs: this.#limits.registrationTimeoutMs,
          lingerMs: this.#limits.drainTimeoutMs,
          log: this.#log,
          owner: this.#relayOwner,
        });
      } catch (error) {
        this.#listener.close();
        throw error;
      }
      this.#front.start();
    }
    this.#acceptLoop = this.#accept();
    const ping = this.#limits.pingIntervalMs;
    if (ping > 0) {
      // One sweep for all connections, instead of a timer each.
      this.#keepalive = setInterval(() => {
        const now = Date.now();
        for (const session of this.#sessions) session.keepalive(now);
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
    return this.#sessions.size + this.#unserved.size;
  }

  /** Sends an announcement from the operator to every user. */
  announce(text: string): void {
    this.hub.announce(text);
  }

  /**
   * Stops accepting, tells every user the server is shutting down, gives their
   * queues a moment to drain, and closes every connection.
   */
  async shutdown(reason = "The server is shutting down"): Promise<void> {
    if (!this.#stopping) {
      this.#stopping = true;
      this.#log("shutting down");
      this.#listener.close();
      // Connections that have no session yet are closed; the others say goodbye first.
      this.#front?.stop();
      clearInterval(this.#keepalive);
      this.hub.closeAll("shutdown", reason);
      for (const session of this.#sessions) {
        if (!session.registered) session.send({ type: "bye", code: "shutdown", reason });
      }
    }
    await this.#acceptLoop;
    await Promise.all(this.#tasks.values());
    // Every session has ended: what the relays still hold goes now.
    await this.#front?.close();
    // A rehash still running would write to a store the caller is about to close.
    await this.gatekeeper?.settled();
  }

  async #accept(): Promise<void> {
    let failures = 0;
    while (!this.#stopping) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#stopping || error instanceof Deno.errors.BadResource) return;
        // Out of file descriptors and the like: wait for connections to close.
        // Logged once per episode, not once per retry.
        if (failures++ === 0) this.#log(`accept failed: ${describeError(error)}; retrying`);
        await new Promise((resolve) => setTimeout(resolve, ACCEPT_RETRY_MS));
        continue;
      }
      if (failures > 0) {
        this.#log(`accept recovered after ${failures} failed attempts`);
        failures = 0;
      }
      this.#serve(conn);
    }
  }

  /** Connections that have not registered yet. */
  #pending(): number {
    return this.#sessions.size - this.hub.userCount + this.#unserved.size;
  }

  #serve(conn: Deno.TcpConn): void {
    // Connections that have not registered yet cost memory and a descriptor
    // each and are cheap to open: past the cap, new ones are closed at once.
    const pending = this.#pending();
    if (pending >= this.#maxPending) {
      if (!this.#shedding) this.#log(`shedding connections: ${pending} have not registered yet`);
      this.#shedding = true;
      conn.close();
      return;
    }
    if (this.#shedding) this.#log("accepting connections again");
    this.#shedding = false;
    try {
      conn.setNoDelay(true);
      conn.setKeepAlive(true);
    } catch {
      // The peer may already be gone; the session (or relay) will notice.
    }
    const over = this.#count(addressKey(conn.remoteAddr.hostname));
    if (this.#front) {
      this.#unserved.set(this.#front.admit(conn, formatAddress(conn.remoteAddr)), over);
    } else {
      this.#start(conn, conn.remoteAddr, over, null);
    }
  }

  /**
   * Serves `conn` (plain TCP, or TLS relayed from `relay`) from the peer at
   * `remoteAddr`, already counted; `over` its address's limit, it is turned
   * away once its protocol is known.
   */
  #start(conn: Deno.Conn, remoteAddr: Deno.NetAddr, over: boolean, relay: Relay | null): void {
    const session = new Session(
      conn,
      this.hub,
      over ? this.#refusalLimits : this.#limits,
      this.#log,
      this.#owner,
      this.gatekeeper,
      remoteAddr,
    );
    if (over) {
      this.#log(
        `refuse ${session.peer}: over ${this.#maxPerAddress} connections from ${session.address}`,
      );
      session.refuse(
        `Too many connections from your address (at most ${this.#maxPerAddress}); close some first`,
      );
    }
    this.#sessions.add(session);
    if (relay) this.#relayOf.set(session, relay);
    // run() catches what goes wrong while serving; this is for a bug in its cleanup.
    this.#tasks.set(
      session,
      session.run().catch((error) => this.#log(`error ${session.peer}: ${describeError(error)}`)),
    );
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
