/**
 * The server's state on disk: accounts, room history and private messages,
 * in one SQLite database (`DIR/chat.db`, through `node:sqlite`) under the
 * directory given to `chat serve --data DIR` and `chat user --data DIR`.
 *
 * What it guarantees:
 *
 * - **Durability.** The database runs in WAL mode with `synchronous=FULL`:
 *   each append is on disk (fsync'd) before the method returns, so a message
 *   the server has acknowledged survives `kill -9`, and a power cut too.
 *   `bench/store.ts` measures 2,700 to 4,600 appends a second on the
 *   development machine (220 to 370 µs each); `NORMAL` was 7 times faster
 *   but may lose the last commits when the machine, not just the process,
 *   dies. The server's messages go through {@link Store.commitSoon}: those
 *   of one turn of the event loop share one commit (`commit_group.ts`), so a
 *   busy server pays for one fsync per turn, not per message.
 * - **Bounded.** {@link Store.startPruning} deletes what `--keep-days` and
 *   `--keep-messages` no longer keep, in small steps (`retention.ts`).
 * - **Backups while it runs.** {@link Store.backup} copies the database
 *   consistently while a server writes to it (`chat backup`). The copy,
 *   once restored, names a stream of its own: its ids go on from the
 *   backup's, not from those handed out after it.
 * - **One server per directory.** `chat serve` opens the store with
 *   `exclusive`, which takes an OS lock on `DIR/chat.lock`. The OS drops the
 *   lock when the process ends, however it ends, so there is no stale lock
 *   to clean up after a crash. `chat user` does not take it: accounts can be
 *   managed while the server runs (WAL lets one writer and many readers
 *   share the file, and the busy timeout queues a writer behind another).
 * - **Clear errors at start.** {@link Store.open} creates the directory if
 *   needed, checks the file is a chat database (application id, schema
 *   table), checks it for damage (`PRAGMA quick_check`: 0.13 s for half a
 *   million messages), and migrates the schema, raising a {@link StoreError}
 *   that says what to do otherwise; so does any later failure (a full disk),
 *   never a raw SQLite error.
 * - **A versioned schema.** {@link MIGRATIONS} are applied in order, each in
 *   its own transaction, and recorded in `schema_migrations` with the program
 *   that applied them. A database from a newer chat is refused, not damaged.
 *
 * Why synchronous calls (`DatabaseSync`) are fine in a server: every call is
 * a few indexed rows; the slowest, an append, waits for one fsync (0.2 to 0.4
 * ms here). A room at its flood limit (5 messages a second from each of 100
 * users) would spend a fifth of its time waiting, and a real class far less.
 * An asynchronous store would have to wait for the same fsync before the
 * echo anyway, and would add a worker, a queue and ordering to get right.
 *
 * Names are stored as typed and looked up by `nameKey`, as the hub compares
 * them: `BOB` finds the account `bob`. Ids of messages and private messages
 * come from one sequence that never goes back, not even after a restart or a
 * deletion, because the hub uses them as event ids (a restored backup goes
 * back, on a new stream).
 *
 * @module
 */

import { backup, DatabaseSync, type StatementSync } from "node:sqlite";
import { join } from "node:path";
import { Checkpointer, type CheckpointOptions } from "./checkpoints.ts";
import { CommitGroup } from "./commit_group.ts";
import { insertMessages, type MessageRow } from "./message_rows.ts";
import { messageFromRow, ReplayReads } from "./replay_reads.ts";
import { Pruner, type RetentionPolicy } from "./retention.ts";
import { errorMessage, lowerFirst } from "../core/errors.ts";
import { MAILBOX_LIMITS, MAX_HISTORY } from "../core/limits.ts";
import { nameKey } from "../core/names.ts";
import type {
  ChatStore,
  GroupCommit,
  NewMessage,
  NewPrivate,
  Refusal,
  StoredBan,
  StoredMessage,
  StoredPrivate,
  StoredRoom,
  StoredUser,
  Waiting,
} from "../core/store.ts";
import { VERSION } from "../version.ts";

/** The database file inside the data directory. */
export const DATABASE_FILE = "chat.db";

/** The lock file `chat serve` holds inside the data directory. */
export const LOCK_FILE = "chat.lock";

/** Most rows one history or undelivered-mail query returns, whatever was asked for. */
export const MAX_PAGE: number = MAX_HISTORY;

/** How long a write waits for another program's write to finish before giving up. */
export const BUSY_TIMEOUT_MS = 5_000;

/** `PRAGMA application_id` of chat databases: "chat" in ASCII, so `file` and tools can tell. */
export const APPLICATION_ID = 0x63686174;

/** The store cannot do what was asked; the message says why and what to do, for a person. */
export class StoreError extends Error {
  /** Creates a store error with a message for the person running chat. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StoreError";
  }
}

/** How to open a store. */
export interface OpenOptions {
  /**
   * Create the directory and the database when missing (`chat serve`,
   * `chat user add`). When false, a directory without a database is an error,
   * so that a mistyped `--data` is not taken for an empty one.
   * @default true
   */
  create?: boolean;
  /**
   * Hold the directory for this process: a second exclusive opener (another
   * `chat serve`) is refused until this one closes or dies.
   * @default false
   */
  exclusive?: boolean;
  /** What is writing, recorded with each migration applied. @default `chat VERSION` */
  program?: string;
  /**
   * Offer {@link Store.commitSoon}: the server's room and private messages of
   * one turn share a commit. Without it, every append commits on its own.
   * @default true
   */
  groupCommit?: boolean;
}

/** One schema change: SQL run in a transaction, taking the schema to the next version. */
export interface Migration {
  /** What it changes, for people reading the schema history. */
  description: string;
  /** The statements. */
  sql: string;
}

/**
 * The schema, as the changes that build it; version N is the first N applied.
 * Append new ones; never edit or reorder the ones released.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    description: "accounts, room history, private messages",
    sql: `
      CREATE TABLE users (
        key TEXT PRIMARY KEY,          -- nameKey(name): names are unique by it
        name TEXT NOT NULL,            -- as registered, shown to others
        hash TEXT NOT NULL,            -- $scrypt$... (lib/passwords.ts)
        created INTEGER NOT NULL       -- ms since the epoch
      ) WITHOUT ROWID;
      -- AUTOINCREMENT keeps the largest id ever used in sqlite_sequence, so
      -- ids never go back, even when the newest rows are deleted.
      CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time INTEGER NOT NULL,
        room TEXT NOT NULL,
        sender TEXT NOT NULL,
        text TEXT NOT NULL,
        action INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX messages_by_room ON messages (room, id);
      CREATE TABLE privates (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time INTEGER NOT NULL,
        sender TEXT NOT NULL,
        recipient TEXT NOT NULL,
        recipient_key TEXT NOT NULL,   -- nameKey(recipient)
        text TEXT NOT NULL,
        delivered INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX privates_waiting ON privates (recipient_key, id) WHERE delivered = 0;
    `,
  },
  {
    description: "mailbox shares: senders with an account, refusals counted for the recipient",
    sql: `
      -- Whether the sender's name had an account when they sent it: senders
      -- without one share half of a mailbox (MAILBOX_LIMITS).
      ALTER TABLE privates ADD COLUMN sender_account INTEGER NOT NULL DEFAULT 0;
      UPDATE privates SET sender_account = 1 WHERE sender IN (SELECT name FROM users);
      -- Private messages refused for want of room, told at the recipient's login.
      CREATE TABLE refusals (
        recipient_key TEXT NOT NULL,   -- nameKey(recipient)
        sender TEXT NOT NULL,          -- as named; '' for the senders past the first few
        count INTEGER NOT NULL,
        UNIQUE (recipient_key, sender)
      );
    `,
  },
  {
    description: "rooms (topic, operators, privacy) and bans",
    sql: `
      -- A rowid table: rooms are listed in the order they were made.
      CREATE TABLE rooms (
        key TEXT NOT NULL UNIQUE,      -- nameKey(name): rooms are unique by it
        name TEXT NOT NULL,            -- without the #
        topic TEXT NOT NULL DEFAULT '',
        ops TEXT NOT NULL DEFAULT '[]', -- JSON list of the operators' name keys
        private INTEGER NOT NULL DEFAULT 0,
        empty_since INTEGER NOT NULL   -- ms since the epoch: when its last member left
      );
      CREATE TABLE bans (
        kind TEXT NOT NULL,            -- 'name' or 'address'
        key TEXT NOT NULL,             -- nameKey(name), or the address
        value TEXT NOT NULL,           -- as the operator typed it
        until INTEGER,                 -- ms since the epoch; NULL until lifted
        reason TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (kind, key)
      ) WITHOUT ROWID;
    `,
  },
  {
    description: "whom account holders ignore",
    sql: `
      CREATE TABLE ignores (
        owner_key TEXT PRIMARY KEY,    -- nameKey(account): whose list it is
        names TEXT NOT NULL            -- JSON list of the names ignored, as typed
      ) WITHOUT ROWID;
    `,
  },
  {
    description: "the stream the message ids belong to; private messages by correspondent",
    sql: `
      CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) WITHOUT ROWID;
      -- Made once: clients name it with the last id they saw (see lib/core/delivery.ts).
      INSERT INTO meta (key, value) VALUES ('stream', lower(hex(randomblob(16))));
      -- The newest id retention deleted, of room and of private messages: a replay from
      -- before it may have a gap (lib/store/replay_reads.ts).
      INSERT INTO meta (key, value) VALUES ('pruned_messages', '0'), ('pruned_privates', '0');
      -- A replay reads the private messages to or from an account after an id.
      CREATE INDEX privates_to ON privates (recipient_key, id);
      CREATE INDEX privates_from ON privates (sender, id);
    `,
  },
];

/** The schema version this program writes and understands. */
export const SCHEMA_VERSION: number = MIGRATIONS.length;

/** A chat data directory, open. Close it with {@link Store.close}. */
export class Store implements ChatStore, Partial<GroupCommit> {
  /** The data directory. */
  readonly dir: string;
  /** The database file. */
  readonly path: string;
  /** Things found at open that the operator should hear about (names that now collide). */
  readonly warnings: string[] = [];
  #db: DatabaseSync;
  #lock: Deno.FsFile | undefined;
  #lastId: number;
  #stream = "";
  #replay = new ReplayReads((sql) => this.#statement(sql), (query) => this.#read(query));
  #pruner: Pruner | undefined;
  #checkpoints: Checkpointer | undefined;
  #statements = new Map<string, StatementSync>();
  #group = new CommitGroup((writes) => this.#write(() => this.#batched(writes)));
  /** The room messages of the group being written, inserted together at its end. */
  #batch: MessageRow[] | undefined;
  /**
   * Runs `write` (appends) with the others asked for in this turn of the
   * event loop, in one transaction at its end; `done` once that is on disk,
   * or `failed` for each write of it when it is not (see {@link CommitGroup}).
   * Absent when opened without `groupCommit`.
   */
  readonly commitSoon?: <T>(
    write: () => T,
    done: (result: T) => void,
    failed: (error: unknown) => void,
  ) => void;

  private constructor(
    dir: string,
    db: DatabaseSync,
    lock: Deno.FsFile | undefined,
    groupCommit: boolean,
  ) {
    this.dir = dir;
    this.path = join(dir, DATABASE_FILE);
    this.#db = db;
    this.#lock = lock;
    this.#lastId = 0;
    if (groupCommit) {
      this.commitSoon = (write, done, failed) => this.#group.add(write, done, failed);
    }
  }

  /**
   * Opens (and if needed creates, migrates) the store in `dir`.
   *
   * @throws {StoreError} when the directory cannot be created or written,
   * another server holds it, the file is not a chat database or is damaged,
   * or it was written by a newer chat.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Store } from "./sqlite_store.ts";
   * const dir = await Deno.makeTempDir();
   * const store = Store.open(dir);
   * const id = store.appendMessage({ time: 1, room: "lobby", from: "Ann", text: "hi" });
   * assert.deepEqual(store.recentMessages("lobby", 10).map((m) => m.id), [id]);
   * store.close();
   * await Deno.remove(dir, { recursive: true });
   * ```
   */
  static open(dir: string, options: OpenOptions = {}): Store {
    const create = options.create ?? true;
    const path = join(dir, DATABASE_FILE);
    prepareDirectory(dir, create);
    const lock = options.exclusive ? lockDirectory(dir) : undefined;
    let db: DatabaseSync | undefined;
    try {
      if (!create && !exists(path)) {
        throw new StoreError(`there is no chat data in ${dir} (no ${DATABASE_FILE}); check --data`);
      }
      try {
        // Created private before SQLite opens it: it holds password hashes and
        // private messages, and SQLite gives its -wal file the same mode.
        if (!exists(path)) Deno.writeFileSync(path, new Uint8Array(), { mode: 0o600 });
        db = new DatabaseSync(path);
      } catch (error) {
        throw explain(error, path);
      }
      const store = new Store(dir, db, lock, options.groupCommit ?? true);
      store.#setUp(options.program ?? `chat ${VERSION}`);
      return store;
    } catch (error) {
      try {
        db?.close();
      } catch { /* already closed */ }
      lock?.close();
      throw error instanceof StoreError ? error : explain(error, path);
    }
  }

  /** The schema version of the open database. */
  get schemaVersion(): number {
    return schemaVersion(this.#db);
  }

  /** The largest message or private-message id ever stored (0 for none); the hub counts on from it. */
  get lastId(): number {
    return this.#lastId;
  }

  /** Names the sequence of ids this store hands out: made once, kept across restarts. */
  get stream(): string {
    return this.#stream;
  }

  /** Commits the writes waiting for the end of the turn now, and answers their owners. */
  commitNow(): void {
    this.#group.commit();
  }

  /**
   * Closes the database (committing, durably, the writes waiting for the end
   * of the turn) and releases the directory. Safe to call twice.
   */
  close(): void {
    this.#pruner?.stop();
    if (this.#db.isOpen) {
      this.#group.commit();
      this.#checkpoints?.close();
      this.#db.close();
    }
    this.#lock?.close();
    this.#lock = undefined;
  }

  /**
   * Prunes history by `policy` from now on, in small steps on a timer (see
   * {@link Pruner}), until {@link close}; `log` hears what each pass did.
   * Returns the pruner, whose counts say how it went.
   */
  startPruning(policy: RetentionPolicy, log: (line: string) => void): Pruner {
    this.#pruner?.stop();
    this.#pruner = this.pruner(policy);
    this.#pruner.start(log, () => this.#checkpoints?.catchingUp ?? false);
    return this.#pruner;
  }

  /**
   * Moves WAL checkpoints off the event loop until {@link close}: SQLite's
   * automatic ones (in the commit that takes the WAL past 1,000 pages, tens
   * of ms) are turned off, and a worker thread checkpoints instead (see
   * {@link Checkpointer}); `log` hears, once, if it fails.
   */
  startCheckpoints(log: (line: string) => void, options?: CheckpointOptions): Checkpointer {
    this.#checkpoints?.stop();
    this.#checkpoints = new Checkpointer(this.#db, this.path, log, options);
    return this.#checkpoints;
  }

  /** A pruner of this store by `policy`, not started: its `pass()` runs step by step. */
  pruner(policy: RetentionPolicy, now: () => number = Date.now): Pruner {
    return new Pruner((sql) => this.#statement(sql), policy, (work) => {
      // Deletions need not wait for the disk: one lost in a crash is pruned again.
      this.#db.exec("PRAGMA synchronous = NORMAL");
      try {
        this.#write(work);
      } finally {
        this.#db.exec("PRAGMA synchronous = FULL");
      }
    }, now);
  }

  /**
   * Writes a consistent copy of the database to `file`, a new file private
   * to its owner, while writers go on: SQLite's online backup, in one step,
   * so the copy is the data as it was when it began (WAL lets the server
   * write meanwhile; a backup in several steps would start over at each of
   * its writes). Resolves to the copy's size in bytes.
   *
   * @throws {StoreError} when `file` exists or cannot be written; a partial
   * copy is removed.
   */
  async backup(file: string): Promise<number> {
    try {
      Deno.writeFileSync(file, new Uint8Array(), { createNew: true, mode: 0o600 });
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) {
        throw new StoreError(`${file} exists; remove it or name another file`);
      }
      throw new StoreError(`cannot write ${file} (${reason(error)})`);
    }
    try {
      // (VACUUM INTO would compact the copy, but needs ATTACH, which Deno
      // allows only to programs with every permission.)
      await backup(this.#db, file, { rate: -1 });
      markCopy(file);
      return Deno.statSync(file).size;
    } catch (error) {
      try {
        Deno.removeSync(file);
      } catch { /* what matters is why the copy failed */ }
      throw explain(error, file);
    }
  }

  // ---- accounts -----------------------------------------------------------

  /** Adds an account; false when the name (by `nameKey`) is taken. */
  addUser(name: string, hash: string, now: number): boolean {
    const key = nameKey(name);
    return this.#write(() => {
      const added = this.#run(
        "INSERT INTO users (key, name, hash, created) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        key,
        name,
        hash,
        now,
      ).changes === 1;
      // Mail left for an earlier owner of this name is not the new owner's to read.
      if (added) this.#forgetMail(key);
      return added;
    });
  }

  /** The account named `name` (compared by `nameKey`), if any. */
  getUser(name: string): StoredUser | undefined {
    const row = this.#read(() =>
      this.#statement("SELECT key, name, hash, created FROM users WHERE key = ?").get(nameKey(name))
    );
    return row ? toUser(row) : undefined;
  }

  /** Replaces the password hash of `name`'s account; false when there is none. */
  setPassword(name: string, hash: string): boolean {
    return this.#write(() =>
      this.#run("UPDATE users SET hash = ? WHERE key = ?", hash, nameKey(name)).changes === 1
    );
  }

  /**
   * Deletes `name`'s account, the private messages waiting for it and the
   * refusals counted for it; false when there is none.
   */
  deleteUser(name: string): boolean {
    const key = nameKey(name);
    return this.#write(() => {
      const deleted = this.#run("DELETE FROM users WHERE key = ?", key).changes === 1;
      if (deleted) this.#forgetMail(key);
      return deleted;
    });
  }

  /** Every account, by name. */
  listUsers(): StoredUser[] {
    const rows = this.#read(() =>
      this.#statement("SELECT key, name, hash, created FROM users ORDER BY name, key").all()
    );
    return rows.map(toUser);
  }

  // ---- room history -------------------------------------------------------

  /**
   * Stores a room message, durably, before returning its id: the id given, or
   * the next one of the sequence.
   */
  appendMessage(message: NewMessage): number {
    const id = this.#nextId(message.id);
    const row: MessageRow = [
      id,
      message.time,
      message.room,
      message.from,
      message.text,
      message.action ? 1 : 0,
    ];
    if (this.#batch) this.#batch.push(row);
    else this.#write(() => insertMessages((sql) => this.#statement(sql), [row]));
    this.#lastId = id;
    return id;
  }

  /**
   * The last `limit` messages of `room` (at most {@link MAX_PAGE}), oldest
   * first; with `before`, only those with a smaller id (the page before).
   *
   * @throws {RangeError} when `limit` or `before` is not a whole number.
   */
  recentMessages(room: string, limit: number, before?: number): StoredMessage[] {
    const count = pageSize(limit);
    if (before !== undefined && !Number.isSafeInteger(before)) {
      throw new RangeError(`Invalid 'before' id: ${before}`);
    }
    if (count === 0) return [];
    const rows = this.#read(() =>
      this.#statement(
        `SELECT id, time, room, sender, text, action FROM messages
         WHERE room = ? AND id < ? ORDER BY id DESC LIMIT ?`,
      ).all(room, before ?? Number.MAX_SAFE_INTEGER, count)
    );
    return rows.reverse().map(messageFromRow);
  }

  /** The newest `limit` messages of `room` with an id above `since` and below `before`, oldest first. */
  messagesAfter(room: string, since: number, limit: number, before?: number): StoredMessage[] {
    return this.#replay.messagesAfter(room, since, limit, before);
  }

  /** The newest `limit` private messages to or from `name` with an id in (`since`, `before`), oldest first. */
  privatesAfter(name: string, since: number, limit: number, before?: number): StoredPrivate[] {
    return this.#replay.privatesAfter(name, since, limit, before);
  }

  /** The newest `limit` private messages to `name` not yet delivered with an id below `before`, oldest first. */
  undeliveredBefore(name: string, before: number, limit: number): StoredPrivate[] {
    return this.#replay.undeliveredBefore(name, before, limit);
  }

  /** Whether retention may have deleted messages of `room` (null: private ones) after `since`. */
  prunedSince(room: string | null, since: number): boolean {
    return this.#replay.prunedSince(room, since);
  }

  // ---- rooms and bans -----------------------------------------------------

  /** Keeps (or replaces) a room under its name's key. */
  saveRoom(room: StoredRoom): void {
    this.#write(() =>
      this.#run(
        `INSERT INTO rooms (key, name, topic, ops, private, empty_since) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET name = excluded.name, topic = excluded.topic,
           ops = excluded.ops, private = excluded.private, empty_since = excluded.empty_since`,
        nameKey(room.name),
        room.name,
        room.topic,
        JSON.stringify(room.ops),
        room.private ? 1 : 0,
        room.emptySince,
      )
    );
  }

  /** Forgets the room kept under `key`. */
  forgetRoom(key: string): void {
    this.#write(() => this.#run("DELETE FROM rooms WHERE key = ?", key));
  }

  /** Every room kept, in the order they were made, each saying whether it has messages. */
  listRooms(): StoredRoom[] {
    const rows = this.#read(() =>
      this.#statement(
        `SELECT name, topic, ops, private, empty_since,
           EXISTS (SELECT 1 FROM messages WHERE messages.room = rooms.name) AS history
         FROM rooms ORDER BY rowid`,
      ).all()
    );
    return rows.map((row) => ({
      name: String(row.name),
      topic: String(row.topic),
      ops: parseKeys(String(row.ops)),
      private: row.private === 1,
      emptySince: Number(row.empty_since),
      hasHistory: row.history === 1,
    }));
  }

  /** Keeps (or replaces) a ban. */
  saveBan(ban: StoredBan): void {
    this.#write(() =>
      this.#run(
        "INSERT OR REPLACE INTO bans (kind, key, value, until, reason) VALUES (?, ?, ?, ?, ?)",
        ban.kind,
        ban.key,
        ban.value,
        ban.until ?? null,
        ban.reason,
      )
    );
  }

  /** Lifts the ban of this kind and key. */
  removeBan(kind: StoredBan["kind"], key: string): void {
    this.#write(() => this.#run("DELETE FROM bans WHERE kind = ? AND key = ?", kind, key));
  }

  /** Every ban kept, expired ones included (the hub drops those). */
  listBans(): StoredBan[] {
    const rows = this.#read(() =>
      this.#statement("SELECT kind, key, value, until, reason FROM bans").all()
    );
    return rows.map((row) => ({
      kind: row.kind === "address" ? "address" : "name",
      key: String(row.key),
      value: String(row.value),
      until: row.until === null ? null : Number(row.until),
      reason: String(row.reason),
    }));
  }

  /** The names the account `name` ignores, in the order added. */
  ignoredBy(name: string): string[] {
    const row = this.#read(() =>
      this.#statement("SELECT names FROM ignores WHERE owner_key = ?").get(nameKey(name))
    );
    return row ? parseKeys(String(row.names)) : [];
  }

  /** Replaces the names the account `name` ignores; none forgets the list. */
  setIgnored(name: string, names: string[]): void {
    const key = nameKey(name);
    this.#write(() =>
      names.length === 0 ? this.#run("DELETE FROM ignores WHERE owner_key = ?", key) : this.#run(
        "INSERT OR REPLACE INTO ignores (owner_key, names) VALUES (?, ?)",
        key,
        JSON.stringify(names),
      )
    );
  }

  // ---- private messages ---------------------------------------------------

  /**
   * Stores a private message, durably, before returning its id: the id
   * given, or the next one of the sequence.
   */
  appendPrivate(message: NewPrivate): number {
    const id = this.#nextId(message.id);
    this.#write(() =>
      this.#run(
        `INSERT INTO privates
           (id, time, sender, recipient, recipient_key, text, delivered, sender_account)
         VALUES (?, ?, ?, ?, ?, ?, ?, EXISTS (SELECT 1 FROM users WHERE key = ?))`,
        id,
        message.time,
        message.from,
        message.to,
        nameKey(message.to),
        message.text,
        message.delivered ? 1 : 0,
        nameKey(message.from),
      )
    );
    this.#lastId = id;
    return id;
  }

  /**
   * Private messages to `name` (by `nameKey`) not yet delivered, oldest
   * first, at most `limit` (and {@link MAX_PAGE}), with an id above `after`;
   * nobody else's.
   */
  undelivered(name: string, limit: number = MAX_PAGE, after = 0): StoredPrivate[] {
    const count = pageSize(limit);
    return count === 0 ? [] : this.#replay.undeliveredAfter(name, after, count);
  }

  /**
   * The private messages waiting for `name` (by `nameKey`): how many, and the
   * UTF-8 bytes of their text, in all, from `sender` (by name), and from
   * senders who had no account.
   */
  waiting(name: string, sender = ""): Waiting {
    // Mail asked for earlier in this turn counts against the limits too.
    this.#group.commit();
    const row = this.#read(() =>
      this.#statement(
        `SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS bytes,
                COALESCE(SUM(sender = ?1), 0) AS mine,
                COALESCE(SUM(CASE WHEN sender = ?1 THEN bytes END), 0) AS mine_bytes,
                COALESCE(SUM(sender_account = 0), 0) AS strangers,
                COALESCE(SUM(CASE WHEN sender_account = 0 THEN bytes END), 0) AS strangers_bytes
         FROM (SELECT sender, sender_account, LENGTH(CAST(text AS BLOB)) AS bytes
               FROM privates WHERE recipient_key = ?2 AND delivered = 0)`,
      ).get(sender, nameKey(name))
    );
    return {
      messages: Number(row?.n ?? 0),
      bytes: Number(row?.bytes ?? 0),
      fromSender: Number(row?.mine ?? 0),
      bytesFromSender: Number(row?.mine_bytes ?? 0),
      fromStrangers: Number(row?.strangers ?? 0),
      bytesFromStrangers: Number(row?.strangers_bytes ?? 0),
    };
  }

  /**
   * Counts one private message from `sender` to `name` (by `nameKey`)
   * refused for want of room: by the sender's name for the first
   * `MAILBOX_LIMITS.refusedSenders` senders, under "" for the rest, so that
   * a stranger with many names adds one row, not many.
   */
  countRefused(name: string, sender: string): void {
    const key = nameKey(name);
    this.#write(() => {
      const known = this.#statement(
        "SELECT 1 FROM refusals WHERE recipient_key = ? AND sender = ?",
      ).get(key, sender);
      const named = Number(
        this.#statement(
          "SELECT COUNT(*) AS n FROM refusals WHERE recipient_key = ? AND sender <> ''",
        ).get(key)?.n ?? 0,
      );
      this.#run(
        `INSERT INTO refusals (recipient_key, sender, count) VALUES (?, ?, 1)
         ON CONFLICT (recipient_key, sender) DO UPDATE SET count = count + 1`,
        key,
        known || named < MAILBOX_LIMITS.refusedSenders ? sender : "",
      );
    });
  }

  /**
   * The refusals counted for `name` (by `nameKey`), by sender in the order
   * they first came, the senders counted together last; forgets them.
   */
  takeRefused(name: string): Refusal[] {
    const key = nameKey(name);
    const rows = this.#read(() =>
      this.#statement(
        "SELECT sender, count FROM refusals WHERE recipient_key = ? ORDER BY sender = '', rowid",
      ).all(key)
    );
    if (rows.length === 0) return [];
    this.#write(() => this.#run("DELETE FROM refusals WHERE recipient_key = ?", key));
    return rows.map((row) => ({ from: String(row.sender), messages: Number(row.count) }));
  }

  /** Marks `name`'s private messages up to id `upTo` as delivered; returns how many. */
  markDelivered(name: string, upTo: number): number {
    return this.#write(() =>
      Number(
        this.#run(
          "UPDATE privates SET delivered = 1 WHERE recipient_key = ? AND delivered = 0 AND id <= ?",
          nameKey(name),
          upTo,
        ).changes,
      )
    );
  }

  // ---- internals ----------------------------------------------------------

  #setUp(program: string): void {
    const db = this.#db;
    // Fails with "file is not a database" on a file that is not SQLite.
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const applicationId = Number(db.prepare("PRAGMA application_id").get()?.application_id);
    const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all()
      .map((row) => String(row.name));
    const isChat = applicationId === APPLICATION_ID || tables.includes("schema_migrations");
    if (!isChat && (applicationId !== 0 || tables.length > 0)) {
      throw new StoreError(
        `${this.path} is a database of another program, not chat's; move it away or use another --data`,
      );
    }
    // Space freed by pruning can be given back (PRAGMA incremental_vacuum),
    // which needs the setting before the first table. An older database
    // cannot be converted here: that takes a VACUUM, which Deno refuses to
    // programs without every permission; its freed space is reused, not returned.
    if (tables.length === 0) db.exec("PRAGMA auto_vacuum = INCREMENTAL");
    const damage = db.prepare("PRAGMA quick_check").all().map((row) => String(row.quick_check));
    if (damage.join() !== "ok") {
      throw new StoreError(damaged(this.path, damage[0]));
    }
    // WAL: readers do not block the writer (chat user while chat serve runs),
    // and a crash leaves committed transactions in the log, replayed on open.
    const mode = db.prepare("PRAGMA journal_mode = WAL").get()?.journal_mode;
    if (mode !== "wal") {
      throw new StoreError(`cannot use ${this.path} in WAL mode (it is in ${mode} mode)`);
    }
    db.exec("PRAGMA synchronous = FULL");
    this.#migrate(program);
    this.#lastId = Number(
      db.prepare(
        "SELECT max(seq) AS seq FROM sqlite_sequence WHERE name IN ('messages', 'privates')",
      ).get()?.seq ?? 0,
    );
    this.#renewCopiedStream();
    this.#stream = String(
      db.prepare("SELECT value FROM meta WHERE key = 'stream'").get()?.value ?? "",
    );
    this.#rekey();
  }

  /**
   * Gives a backup's copy, at its first open as a data directory, a stream
   * of its own (see {@link markCopy}): its ids go on from the backup's last,
   * and so name other messages than the ids the server it was copied from
   * handed out after the backup. A client that saw those must not be
   * replayed from them (lib/core/delivery.ts).
   */
  #renewCopiedStream(): void {
    const copied = this.#db.prepare("SELECT 1 AS found FROM meta WHERE key = ?").get(COPY_MARK);
    if (copied === undefined) return;
    this.#write(() => {
      // Once, should two programs open the copy at the same time.
      if (this.#run("DELETE FROM meta WHERE key = ?", COPY_MARK).changes === 0) return;
      this.#run("UPDATE meta SET value = lower(hex(randomblob(16))) WHERE key = 'stream'");
    });
  }

  #migrate(program: string): void {
    const db = this.#db;
    db.exec(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version INTEGER PRIMARY KEY,
         applied INTEGER NOT NULL,      -- ms since the epoch
         program TEXT NOT NULL,         -- "chat 0.2.0"
         description TEXT NOT NULL
       )`,
    );
    const current = schemaVersion(db);
    if (current > SCHEMA_VERSION) {
      const by = db.prepare("SELECT program FROM schema_migrations WHERE version = ?")
        .get(current)?.program;
      throw new StoreError(
        `${this.path} was written by a newer chat (schema ${current}${by ? `, by ${by}` : ""}); ` +
          `this is chat ${VERSION}, which knows schema ${SCHEMA_VERSION} and older: upgrade chat`,
      );
    }
    for (let version = current + 1; version <= SCHEMA_VERSION; version++) {
      const migration = MIGRATIONS[version - 1];
      db.exec("BEGIN IMMEDIATE");
      try {
        db.exec(migration.sql);
        db.prepare(
          "INSERT INTO schema_migrations (version, applied, program, description) VALUES (?, ?, ?, ?)",
        ).run(version, Date.now(), program, migration.description);
        db.exec(`PRAGMA application_id = ${APPLICATION_ID}`);
        db.exec("COMMIT");
      } catch (error) {
        db.exec("ROLLBACK");
        throw error;
      }
    }
  }

  /**
   * Brings stored name keys up to date when the rules of `nameKey` changed
   * since they were written (a new look-alike, say), so that lookups keep
   * finding them. Two accounts whose names now share a key cannot both be
   * found; the later one keeps its old key and a warning says so.
   */
  #rekey(): void {
    const users = this.listUsers();
    const stale = users.filter((user) => nameKey(user.name) !== user.key);
    if (stale.length === 0) return;
    const taken = new Set(users.map((user) => user.key));
    this.#write(() => {
      for (const user of stale) {
        const key = nameKey(user.name);
        if (taken.has(key)) {
          const other = users.find((u) => u.key === key)?.name ?? key;
          this.warnings.push(
            `the accounts ${other} and ${user.name} now count as the same name; ` +
              `${user.name} cannot log in until one is deleted (chat user del)`,
          );
          continue;
        }
        this.#run("UPDATE users SET key = ? WHERE key = ?", key, user.key);
        for (const table of ["privates", "refusals"]) {
          this.#run(
            `UPDATE ${table} SET recipient_key = ? WHERE recipient_key = ?`,
            key,
            user.key,
          );
        }
        this.#run("UPDATE ignores SET owner_key = ? WHERE owner_key = ?", key, user.key);
        taken.delete(user.key);
        taken.add(key);
      }
    });
  }

  /** Forgets what was kept for the account key `key`: its mail, refusals and ignore list. */
  #forgetMail(key: string): void {
    this.#run("DELETE FROM privates WHERE recipient_key = ?", key);
    this.#run("DELETE FROM refusals WHERE recipient_key = ?", key);
    this.#run("DELETE FROM ignores WHERE owner_key = ?", key);
  }

  #nextId(given: number | undefined): number {
    if (given === undefined) return this.#lastId + 1;
    if (!Number.isSafeInteger(given) || given <= this.#lastId) {
      throw new RangeError(
        `Message id ${given} is not above the last one stored (${this.#lastId})`,
      );
    }
    return given;
  }

  /** Runs a group's `writes`, its room messages inserted together at the end (`message_rows.ts`). */
  #batched(writes: () => void): void {
    this.#batch = [];
    try {
      writes();
      insertMessages((sql) => this.#statement(sql), this.#batch);
    } finally {
      this.#batch = undefined;
    }
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #run(sql: string, ...values: (string | number | null)[]) {
    return this.#statement(sql).run(...values);
  }

  #read<T>(query: () => T): T {
    try {
      return query();
    } catch (error) {
      throw explain(error, this.path);
    }
  }

  /**
   * Runs `change` in one transaction, so that it is all on disk or none of it
   * is; inside a group's transaction, as part of it.
   */
  #write<T>(change: () => T): T {
    if (this.#db.isTransaction) return change();

    try {
      this.#db.exec("BEGIN IMMEDIATE");
    } catch (error) {
      throw explain(error, this.path);
    }
    try {
      const result = change();
      this.#db.exec("COMMIT");
      this.#checkpoints?.committed();
      return result;
    } catch (error) {
      try {
        if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      } catch { /* the transaction is gone with the failure */ }
      throw explain(error, this.path);
    }
  }
}

/** The `meta` key that marks a backup's copy, until it is first opened as a data directory. */
const COPY_MARK = "copy";

/**
 * Marks the backup at `file` as a copy, whose stream is renewed when it is
 * first opened (a restore): the same copy restored twice counts ids on two
 * streams, as it should.
 */
function markCopy(file: string): void {
  const copy = new DatabaseSync(file);
  try {
    copy.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    copy.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?, '1')").run(COPY_MARK);
  } finally {
    copy.close();
  }
}

function schemaVersion(db: DatabaseSync): number {
  return Number(
    db.prepare("SELECT coalesce(max(version), 0) AS version FROM schema_migrations").get()
      ?.version ?? 0,
  );
}

function toUser(row: Record<string, unknown>): StoredUser {
  return {
    key: String(row.key),
    name: String(row.name),
    hash: String(row.hash),
    created: Number(row.created),
  };
}

/** Keys or names as kept: a JSON list of strings (anything else reads as none). */
function parseKeys(text: string): string[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((key) => typeof key === "string") : [];
  } catch {
    return [];
  }
}

function pageSize(limit: number): number {
  if (!Number.isSafeInteger(limit)) throw new RangeError(`Invalid limit: ${limit}`);
  return Math.max(0, Math.min(MAX_PAGE, limit));
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Makes sure `dir` is a directory (creating it when `create`). */
function prepareDirectory(dir: string, create: boolean): void {
  let info: Deno.FileInfo | undefined;
  try {
    info = Deno.statSync(dir);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      throw new StoreError(`cannot use the data directory ${dir} (${reason(error)})`);
    }
  }
  if (info && !info.isDirectory) {
    throw new StoreError(`${dir} is a file, not a directory; --data needs a directory`);
  }
  if (info) return;
  if (!create) throw new StoreError(`the data directory ${dir} does not exist; check --data`);
  try {
    // Private: the directory holds password hashes and private messages.
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new StoreError(`cannot create the data directory ${dir} (${reason(error)})`);
  }
}

/** Takes the server lock of `dir`, or says who holds it. */
function lockDirectory(dir: string): Deno.FsFile {
  const path = join(dir, LOCK_FILE);
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true, write: true, create: true, mode: 0o600 });
  } catch (error) {
    throw new StoreError(`cannot write to the data directory ${dir} (${reason(error)})`);
  }
  let locked: boolean;
  try {
    locked = file.tryLockSync(true);
  } catch (error) {
    file.close();
    throw new StoreError(`cannot lock ${path} (${reason(error)})`);
  }
  if (!locked) {
    file.close();
    let holder = "";
    try {
      const pid = Deno.readTextFileSync(path).trim();
      if (/^\d+$/.test(pid)) holder = ` (process ${pid})`;
    } catch { /* who it is only helps; that it is held is the news */ }
    throw new StoreError(
      `${dir} is in use by another chat server${holder}; ` +
        `stop that one first, or give each server its own --data`,
    );
  }
  try {
    // Who holds it, for the next one's error message.
    file.truncateSync(0);
    file.writeSync(new TextEncoder().encode(`${Deno.pid}\n`));
  } catch { /* the lock is what matters */ }
  return file;
}

/** A {@link StoreError} for what SQLite (or the file system) said about `path`. */
function explain(error: unknown, path: string): StoreError {
  if (error instanceof StoreError) return error;
  const message = reason(error);
  const options = { cause: error };
  if (/file is not a database/i.test(message)) {
    return new StoreError(
      `${path} is not a chat database (file is not a database); ` +
        `move it away or use another --data`,
      options,
    );
  }
  if (/malformed|corrupt/i.test(message)) return new StoreError(damaged(path, message), options);
  if (/database is locked|database table is locked|busy/i.test(message)) {
    return new StoreError(
      `${path} is locked by another program (${message}); try again when it is done`,
      options,
    );
  }
  if (/readonly|read-only|unable to open|permission denied|access denied/i.test(message)) {
    return new StoreError(
      `cannot write to ${path} (${message.replace(/: \/.*$/, "")}); ` +
        `check that the directory and file are yours and writable`,
      options,
    );
  }
  if (/disk is full|disk i\/o error|no space/i.test(message)) {
    return new StoreError(`cannot save to ${path} (${message}); free some disk space`, options);
  }
  return new StoreError(`${path}: ${message}`, options);
}

function damaged(path: string, detail: string | undefined): string {
  return `${path} is damaged (${detail ?? "failed its integrity check"}); ` +
    `restore it from a backup, or move it away to start afresh`;
}

function reason(error: unknown): string {
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.NotFound) return "not found";
  if (error instanceof Deno.errors.AlreadyExists) return "something is in the way";
  // Deno adds the call and path to OS errors: "Permission denied (os error 13): mkdir '/x'".
  return lowerFirst(
    errorMessage(error).replace(/ \(os error \d+\)/, "").replace(/:\s*\w+ '.*'$/, ""),
  );
}
