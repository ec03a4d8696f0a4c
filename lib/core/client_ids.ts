/**
 * Client-chosen ids (`cid`) of the messages each name posted lately, so that
 * a line resent after a lost connection is posted once: the resend gets the
 * first one's `sent` instead. Per name (its key), the last CID_MEMORY cids of
 * the last CID_TTL_MS are remembered, in memory only.
 *
 * @module
 */

/** Most cids remembered per name. */
export const CID_MEMORY = 256;

/** How long a cid is remembered, in ms. */
export const CID_TTL_MS = 10 * 60_000;

/** One cid: the id of the message it posted, or null while that waits for its commit. */
export interface ClientIdEntry {
  /** The id of the message posted; null until it is sent. */
  id: number | null;
  /** When it was first seen, in ms since the epoch. */
  readonly time: number;
  /** Resends that arrived while it was waiting: told the id once it is known (null: refused). */
  readonly waiters: ((id: number | null) => void)[];
}

/** The cids of the last messages of each name. */
export class ClientIds {
  /** By name key, then by cid in the order first seen (a Map keeps insertion order). */
  #byKey = new Map<string, Map<string, ClientIdEntry>>();
  /** When each name last began one, for the sweep. */
  #latest = new Map<string, number>();
  #now: () => number;
  /** Calls since the last sweep of names whose cids all expired. */
  #sinceSweep = 0;

  /** Cids timed by `now`. */
  constructor(now: () => number) {
    this.#now = now;
  }

  /** The entry of `cid` posted by the name `key` in the last CID_TTL_MS, if any. */
  find(key: string, cid: string): ClientIdEntry | undefined {
    const entry = this.#byKey.get(key)?.get(cid);
    return entry && this.#now() - entry.time < CID_TTL_MS ? entry : undefined;
  }

  /** Remembers `cid` for `key`, its message not sent yet; forgets that name's oldest past the caps. */
  begin(key: string, cid: string): ClientIdEntry {
    const now = this.#now();
    if (++this.#sinceSweep >= 4 * CID_MEMORY) this.#sweep(now);
    let cids = this.#byKey.get(key);
    if (!cids) this.#byKey.set(key, cids = new Map());
    this.#latest.set(key, now);
    const entry: ClientIdEntry = { id: null, time: now, waiters: [] };
    cids.delete(cid);
    cids.set(cid, entry);
    for (const [old, kept] of cids) {
      if (cids.size <= CID_MEMORY && now - kept.time < CID_TTL_MS) break;
      cids.delete(old);
    }
    return entry;
  }

  /** The message of `entry` was sent with `id`: resends waiting are told. */
  sent(entry: ClientIdEntry, id: number): void {
    entry.id = id;
    for (const waiter of entry.waiters.splice(0)) waiter(id);
  }

  /** The message of `entry` was refused: its cid is forgotten (a resend may post it). */
  failed(key: string, cid: string, entry: ClientIdEntry): void {
    const cids = this.#byKey.get(key);
    if (cids?.get(cid) === entry) cids.delete(cid);
    if (cids?.size === 0) {
      this.#byKey.delete(key);
      this.#latest.delete(key);
    }
    for (const waiter of entry.waiters.splice(0)) waiter(null);
  }

  /** How many names have cids remembered. */
  get names(): number {
    return this.#byKey.size;
  }

  /** Forgets the names whose newest cid expired: who has left takes no memory for long. */
  #sweep(now: number): void {
    this.#sinceSweep = 0;
    for (const [key, latest] of this.#latest) {
      if (now - latest < CID_TTL_MS) continue;
      this.#byKey.delete(key);
      this.#latest.delete(key);
    }
  }
}
