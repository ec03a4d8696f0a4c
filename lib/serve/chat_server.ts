/**
 * The composition root: the one place that builds a chat server's parts
 * (the hub, the gatekeeper, the front ends) and wires them together. Front
 * ends are given the core; none of them builds it.
 *
 * `chat serve` runs one (lib/serve/serve.ts), and so do the tests: what they
 * start is what an operator starts.
 *
 * @module
 */

import { Gatekeeper, type GatekeeperOptions } from "../auth/gatekeeper.ts";
import type { ThrottleLimits } from "../auth/passwords.ts";
import { LocalBus } from "../core/bus.ts";
import { type AuthMode, Hub } from "../core/hub.ts";
import { type ChurnLimits, DEFAULT_MAX_USERS, type FloodLimits } from "../core/limits.ts";
import type { ChatStore } from "../core/store.ts";
import type { ConnectionLimits } from "../server/connection.ts";
import { TcpFront } from "../server/tcp_front.ts";
import { WebFront } from "../web/web_front.ts";
import { certificateNames } from "./cert_names.ts";
import { MAX_LINE_BYTES } from "../protocol/limits.ts";
import { DEFAULT_QUEUE_LIMIT } from "../server/limits.ts";
import { errorMessage } from "../core/errors.ts";

/** How often empty rooms are looked for, to forget those empty for a day. */
const ROOM_SWEEP_MS = 60 * 60 * 1000;

/** Settings of a chat server; every field has a default. */
export interface ServerOptions extends Partial<ConnectionLimits> {
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
  /** Most rooms on the server. @default DEFAULT_MAX_ROOMS */
  maxRooms?: number;
  /** Most rooms one user may be in. @default DEFAULT_MAX_ROOMS_PER_USER */
  maxRoomsPerUser?: number;
  /** Most connections that have not registered yet. @default max(64, maxUsers) */
  maxPending?: number;
  /** Persistence: room history, private messages and accounts survive restarts. */
  store?: ChatStore;
  /** Who needs a password; "names" and "required" need a store. @default "off" */
  auth?: AuthMode;
  /**
   * Serve TLS with this certificate and private key (PEM text); peers that
   * do not speak TLS are told to use it, in a line of plain text.
   */
  tls?: { cert: string; key: string };
  /** Serve the web page on this port (0 picks a free one), on the same interface. @default none */
  webPort?: number;
  /** When `webPort` is taken, serve the page on a free port instead of failing. @default false */
  webPortFallback?: boolean;
  /**
   * Host names the web page answers to besides addresses, localhost, this
   * machine's name and the certificate's names (--web-name). @default none
   */
  webNames?: string[];
  /** How failed logins are slowed down. @default DEFAULT_THROTTLE */
  throttle?: ThrottleLimits;
  /** Password checks at once, the queue beyond, and what tests replace. */
  logins?: Pick<
    GatekeeperOptions,
    "maxConcurrent" | "maxQueued" | "verify" | "rehashParams" | "now"
  >;
}

/** The web page could not be served (its port is taken, say); `cause` says why. */
export class WebListenError extends Error {
  /** Wraps the error of listening on the web page's port. */
  constructor(cause: unknown) {
    super(`cannot serve the web page (${errorMessage(cause)})`, { cause });
    this.name = "WebListenError";
  }
}

/** A running chat server: the core and its front ends. */
export class ChatServer {
  /** The chat core. */
  readonly hub: Hub;
  /** Checks account passwords; null when no name needs one. */
  readonly gatekeeper: Gatekeeper | null;
  #tcp: TcpFront;
  #web: WebFront | null = null;
  #log: (line: string) => void;
  #stopping = false;
  /** Forgets, now and then, the rooms empty for a day (see RoomRegistry.sweep). */
  #sweeper: ReturnType<typeof setInterval>;

  /**
   * Builds the core and listens.
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
      // Turning flood control off (--flood-rate 0) turns off the pace of new rooms too.
      roomPace: options.flood !== null,
      churn: options.churn,
      history: options.history,
      maxRooms: options.maxRooms,
      maxRoomsPerUser: options.maxRoomsPerUser,
      // A client that reads slowly may have all of a replay queued: half the queue, the rest
      // left for what comes meanwhile.
      replayBytes: Math.floor((options.queueLimitBytes ?? DEFAULT_QUEUE_LIMIT) / 2),
      // The other connections are served between a long replay's turns: a timer lets the
      // sockets' I/O in first, where Deno runs a chain of setImmediate without any. A turn takes
      // as many of its steps as fit in a few ms, timed by the clock.
      nextTurn: (step) => setTimeout(step, 0),
      turnClock: () => performance.now(),
      store: options.store,
      auth,
      bus: new LocalBus(),
    });
    this.#tcp = new TcpFront({
      ...options,
      hub: this.hub,
      gatekeeper: this.gatekeeper,
      log: this.#log,
    });
    if (options.webPort !== undefined) {
      const web = (port: number) =>
        new WebFront({
          hostname: options.hostname ?? this.#tcp.addr.hostname,
          port,
          tls: options.tls,
          maxLineBytes: options.maxLineBytes ?? MAX_LINE_BYTES,
          pool: this.#tcp,
          log: this.#log,
          names: [
            ...(options.webNames ?? []),
            ...(options.tls ? certificateNames(options.tls.cert)?.dns ?? [] : []),
          ],
        });
      try {
        try {
          this.#web = web(options.webPort);
        } catch (error) {
          if (!options.webPortFallback || !(error instanceof Deno.errors.AddrInUse)) throw error;
          this.#web = web(0);
          this.#log(`web page: port ${options.webPort} is in use; serving it on a free port`);
        }
      } catch (error) {
        this.#tcp.stop("");
        throw new WebListenError(error);
      }
      this.#tcp.webPort = this.#web.addr.port;
    }
    // Started once listening: a constructor that throws leaves no timer behind.
    this.#sweeper = setInterval(() => this.hub.sweepRooms(), ROOM_SWEEP_MS);
  }

  /** The address the web page is served on, or null without one. */
  get webAddr(): Deno.NetAddr | null {
    return this.#web?.addr ?? null;
  }

  /** The address the TCP front listens on (useful with port 0). */
  get addr(): Deno.NetAddr {
    return this.#tcp.addr;
  }

  /**
   * Connections currently open, registered or not: with TLS, those still
   * being told apart count too.
   */
  get connections(): number {
    return this.#tcp.connections;
  }

  /** Sends an announcement from the operator to every user. */
  announce(text: string): void {
    this.hub.announce(text);
  }

  /**
   * Stops accepting, tells every user the server is shutting down, gives their
   * queues a moment to drain, and closes every connection. `cause` (a signal's
   * name) is logged with it.
   */
  async shutdown(reason = "The server is shutting down", cause?: string): Promise<void> {
    if (!this.#stopping) {
      this.#stopping = true;
      clearInterval(this.#sweeper);
      this.#log(cause === undefined ? "shutting down" : `shutting down (${cause})`);
      this.#tcp.stop(reason);
      this.#web?.stop();
      this.hub.closeAll("shutdown", reason);
    }
    await this.#tcp.closed();
    await this.#web?.closed();
    // A rehash still running would write to a store the caller is about to close.
    await this.gatekeeper?.settled();
  }
}
