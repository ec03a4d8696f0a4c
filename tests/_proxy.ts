/**
 * A TCP proxy on loopback for fault tests: it sits between clients and a
 * server and can, per connection, stop forwarding while keeping both sockets
 * open (what either side sees of a laptop that slept, a pulled cable or a
 * frozen server), forward what it held back later, or close both sides at
 * once. Nothing here sleeps: waits are on events, each with a deadline.
 *
 * ```ts ignore
 * const proxy = FaultProxy.start(serverPort);
 * // chat join 127.0.0.1:${proxy.port} ...
 * const link = await proxy.connection(0);
 * link.freeze(); // silence both ways
 * link.cut("client"); // the client notices; the server does not
 * ```
 *
 * @module
 */

import { WAIT_MS } from "./_helpers.ts";

/** Which side of a proxied connection: the one that connected to the proxy, or the server's. */
export type Side = "client" | "server";

// Bytes held back in one direction while frozen before the proxy stops reading that
// side (its sender then blocks, as on a real stalled link).
const HOLD_LIMIT = 1 << 20;

/** Something to wait on that a later event resolves; `when` re-checks on each change. */
class Changes {
  #waiters = new Set<() => void>();

  /** Wakes everyone waiting, who then check their condition again. */
  notify(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  /** Resolves once `condition` holds, re-checked after each notify; rejects after `ms`. */
  when(condition: () => boolean, what: () => string, ms = WAIT_MS): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const wake = () => {
        if (!condition()) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${ms} ms waiting for ${what()}`));
      }, ms);
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
      };
      this.#waiters.add(wake);
    });
  }

  /** Resolves at the next notify (no deadline: for the proxy's own loops, ended by close). */
  next(): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.#waiters.delete(wake);
        resolve();
      };
      this.#waiters.add(wake);
    });
  }
}

/** One client's connection through the proxy, with its two sockets. */
export class ProxiedConnection {
  /** Its place in the order the proxy accepted connections, from 0. */
  readonly index: number;
  #sockets: Record<Side, Deno.Conn>;
  #closed: Record<Side, boolean> = { client: false, server: false };
  #frozen = false;
  // Bytes read but not yet written, per direction (named by the side they go to).
  #held: Record<Side, Uint8Array[]> = { client: [], server: [] };
  #heldBytes: Record<Side, number> = { client: 0, server: 0 };
  #forwarded: Record<Side, number> = { client: 0, server: 0 };
  // Whether the peer on that side closed its connection (no more to read).
  #ended: Record<Side, boolean> = { client: false, server: false };
  #changes = new Changes();
  // Text whose arrival on its way to a side freezes the connection (see `freezeWhen`).
  #trigger: { to: Side; text: string; tail: string } | null = null;
  #pumps: Promise<void>[];
  #onChange: () => void;

  /** Starts forwarding between `client` and `server`; `onChange` hears of each closing and freeze. */
  constructor(index: number, client: Deno.Conn, server: Deno.Conn, onChange: () => void) {
    this.index = index;
    this.#sockets = { client, server };
    this.#onChange = onChange;
    this.#pumps = [
      this.#read("client"),
      this.#read("server"),
      this.#write("server"),
      this.#write("client"),
    ];
  }

  /** Whether `side` is closed (by a cut, or after its peer closed). */
  isClosed(side: Side): boolean {
    return this.#closed[side];
  }

  /** Whether both sides are closed. */
  get closed(): boolean {
    return this.#closed.client && this.#closed.server;
  }

  /** Whether it forwards nothing for now. */
  get frozen(): boolean {
    return this.#frozen;
  }

  /** Its state in a few words, for a failure's message. */
  describe(): string {
    const side = (s: Side) =>
      `${s} ${this.#closed[s] ? "closed" : this.#ended[s] ? "ended" : "open"}, ` +
      `${this.#forwarded[s]} B forwarded, ${this.#heldBytes[s]} B held`;
    return `connection ${this.index}${this.#frozen ? " (frozen)" : ""}: ` +
      `${side("client")}; ${side("server")}`;
  }

  /** Bytes held back on their way to `side`. */
  held(side: Side): number {
    return this.#heldBytes[side];
  }

  /** Bytes written to `side` so far. */
  forwarded(side: Side): number {
    return this.#forwarded[side];
  }

  /** Resolves once `bytes` or more in all have been written to `side`. */
  passed(side: Side, bytes: number): Promise<void> {
    return this.#changes.when(
      () => this.#forwarded[side] >= bytes,
      () => `${bytes} bytes forwarded to the ${side} of connection ${this.index}`,
    );
  }

  /** Stops forwarding both ways; both sockets stay open, and what arrives is held. */
  freeze(): void {
    this.#frozen = true;
    this.#changes.notify();
  }

  /**
   * Freezes the connection the moment bytes on their way to `to` contain
   * `text` (once): those bytes, and all after them, are held. For a fault
   * at an exact point of a conversation, such as between two answers of the
   * server, with no race against the forwarding.
   */
  freezeWhen(to: Side, text: string): void {
    this.#trigger = { to, text, tail: "" };
  }

  /** Forwards what was held, and everything after it. */
  thaw(): void {
    this.#frozen = false;
    this.#changes.notify();
  }

  /**
   * Closes both sides at once (or only `side`, leaving the other as it is,
   * held bytes included), as a crash or a reset would.
   */
  cut(side?: Side): void {
    for (const s of side ? [side] : (["client", "server"] as const)) this.#close(s);
  }

  /** Resolves once `bytes` or more wait to go to `side` (held while frozen). */
  holding(side: Side, bytes = 1): Promise<void> {
    return this.#changes.when(
      () => this.#heldBytes[side] >= bytes,
      () => `${bytes} bytes held for the ${side} of connection ${this.index}`,
    );
  }

  /** Resolves once both sides are closed (by a cut, or by the peers). */
  ended(ms = WAIT_MS): Promise<void> {
    return this.#changes.when(() => this.closed, () => `connection ${this.index} to close`, ms);
  }

  /** Resolves when the forwarding loops have stopped (after both sides closed). */
  async stopped(): Promise<void> {
    await Promise.all(this.#pumps);
  }

  #close(side: Side): void {
    if (this.#closed[side]) return;
    this.#closed[side] = true;
    try {
      this.#sockets[side].close();
    } catch {
      // Closed already.
    }
    this.#changes.notify();
    this.#onChange();
  }

  // Reads from `from` into the hold of the other side, while that side can take it.
  async #read(from: Side): Promise<void> {
    const to: Side = from === "client" ? "server" : "client";
    const buffer = new Uint8Array(64 * 1024);
    while (!this.#closed[from]) {
      if (this.#heldBytes[to] >= HOLD_LIMIT) {
        await this.#changes.next();
        continue;
      }
      let n: number | null;
      try {
        n = await this.#sockets[from].read(buffer);
      } catch {
        n = null;
      }
      if (n === null) break;
      this.#held[to].push(buffer.slice(0, n));
      this.#heldBytes[to] += n;
      this.#pull(to, buffer.subarray(0, n));
      this.#changes.notify();
    }
    // A side we closed ourselves has not ended: its peer must not hear of it.
    if (this.#closed[from]) return;
    this.#ended[from] = true;
    // Nobody is left to tell: the other side was cut before.
    if (this.#closed[to]) this.#close(from);
    this.#changes.notify();
  }

  // Freezes when the trigger's text has arrived for `to` (it may straddle two reads).
  #pull(to: Side, bytes: Uint8Array): void {
    const trigger = this.#trigger;
    if (trigger?.to !== to) return;
    const seen = trigger.tail + new TextDecoder().decode(bytes);
    if (seen.includes(trigger.text)) {
      this.#trigger = null;
      this.#frozen = true;
      this.#onChange();
      return;
    }
    trigger.tail = seen.slice(-trigger.text.length);
  }

  // Writes what is held for `to` whenever not frozen; closes `to` once its source has
  // ended and all is written (unless the source was cut on purpose, which `to` must not see).
  async #write(to: Side): Promise<void> {
    const from: Side = to === "client" ? "server" : "client";
    while (!this.#closed[to]) {
      const chunk = this.#frozen ? undefined : this.#held[to][0];
      if (chunk) {
        try {
          let offset = 0;
          while (offset < chunk.length) {
            offset += await this.#sockets[to].write(chunk.subarray(offset));
          }
        } catch {
          this.#close(to);
          break;
        }
        this.#held[to].shift();
        this.#heldBytes[to] -= chunk.length;
        this.#forwarded[to] += chunk.length;
        this.#changes.notify();
        continue;
      }
      if (this.#ended[from] && !this.#frozen) {
        // The peer closed its side: pass the end on, once all it sent is written.
        this.#close(to);
        this.#close(from);
        break;
      }
      // After our own cut of the other side, this side stays open and silent until cut too.
      await this.#changes.next();
    }
  }
}

/** A loopback TCP proxy to one server port, whose connections a test can freeze and cut. */
export class FaultProxy {
  /** The port clients connect to. */
  readonly port: number;
  readonly #target: number;
  readonly #listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>;
  readonly #connections: ProxiedConnection[] = [];
  readonly #changes = new Changes();
  readonly #accepting: Promise<void>;
  // What freezes the connections accepted while it is set (see `freezeWhen`).
  #trigger: { to: Side; text: string } | null = null;
  /**
   * While true, a new connection is closed as soon as it is accepted: a
   * server that cannot be reached, for a client that keeps trying.
   */
  refusing = false;

  private constructor(target: number) {
    this.#target = target;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = this.#listener.addr.port;
    this.#accepting = this.#accept();
  }

  /** Listens on a free loopback port and forwards each connection to `targetPort`. */
  static start(targetPort: number): FaultProxy {
    return new FaultProxy(targetPort);
  }

  /** Connections accepted so far, in order. */
  get connections(): readonly ProxiedConnection[] {
    return this.#connections;
  }

  /** How many connections were accepted in all. */
  get accepted(): number {
    return this.#connections.length;
  }

  /** How many connections have a side still open. */
  get open(): number {
    return this.#connections.filter((c) => !c.closed).length;
  }

  /** The `index`th connection accepted (from 0), once it is. */
  async connection(index: number, ms = WAIT_MS): Promise<ProxiedConnection> {
    await this.#changes.when(
      () => this.#connections.length > index,
      () => `connection ${index + 1} through the proxy (${this.#connections.length} so far)`,
      ms,
    );
    return this.#connections[index];
  }

  /**
   * Freezes the connections accepted from now on the moment bytes on their
   * way to `to` contain `text` (see {@link ProxiedConnection.freezeWhen});
   * resolves to the first that froze so. For a fault at an exact point of a
   * conversation on a connection not made yet, such as a client's next one.
   */
  async freezeWhen(to: Side, text: string, ms = WAIT_MS): Promise<ProxiedConnection> {
    const from = this.#connections.length;
    this.#trigger = { to, text };
    const frozen = () => this.#connections.slice(from).find((c) => c.frozen);
    try {
      await this.#changes.when(
        () => frozen() !== undefined,
        () => `a connection to freeze at ${JSON.stringify(text)} on its way to the ${to}`,
        ms,
      );
    } finally {
      this.#trigger = null;
    }
    return frozen()!;
  }

  /** Stops every connection forwarding. */
  freezeAll(): void {
    for (const c of this.#connections) c.freeze();
  }

  /** Forwards again on every connection. */
  thawAll(): void {
    for (const c of this.#connections) c.thaw();
  }

  /** Stops listening, cuts every connection and waits for the forwarding to stop. */
  async close(): Promise<void> {
    try {
      this.#listener.close();
    } catch {
      // Closed already.
    }
    await this.#accepting;
    for (const c of this.#connections) c.cut();
    await Promise.all(this.#connections.map((c) => c.stopped()));
  }

  async #accept(): Promise<void> {
    while (true) {
      let client: Deno.TcpConn;
      try {
        client = await this.#listener.accept();
      } catch {
        return; // Closed.
      }
      if (this.refusing) {
        client.close();
        continue;
      }
      let server: Deno.TcpConn;
      try {
        server = await Deno.connect({ hostname: "127.0.0.1", port: this.#target });
      } catch {
        client.close(); // The server is gone: its clients see a refusal as a close.
        continue;
      }
      const index = this.#connections.length;
      const connection = new ProxiedConnection(index, client, server, () => this.#changes.notify());
      if (this.#trigger) connection.freezeWhen(this.#trigger.to, this.#trigger.text);
      this.#connections.push(connection);
      this.#changes.notify();
    }
  }
}
