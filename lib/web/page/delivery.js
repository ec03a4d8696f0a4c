/**
 * The page's side of end-to-end delivery (docs/PROTOCOL.md, "Delivery: ids,
 * acknowledgements, replay"), without the DOM: which ids were shown, on which
 * stream, what to acknowledge, and the lines typed whose `sent` has not come.
 *
 * - After the first `welcome`, every `hello` says `since` (the highest id
 *   shown) and `stream`, so the server replays what came meanwhile; ids are
 *   kept to show each message once, whatever way it comes again.
 * - Until the last page of that replay (the newest that fit, its last page
 *   saying what it left out), `since` and acks stay at the hello's. Rooms a
 *   restarted server forgot are joined again with that `since`, and until
 *   the server has answered those joins (the pong of a ping sent after
 *   them), `since` and acks stay there too: the newer ids of the other
 *   rooms, shown meanwhile, say nothing of these rooms' replays.
 * - A line that posts a message gets a `cid` and stays pending until its
 *   `sent` (or an `error` with that cid): after a reconnect, pending lines go
 *   again once, in order, with the same cid, and the server posts each once.
 *
 * @module
 */

/** The page acknowledges what it showed at most this often, in ms. */
export const ACK_EVERY_MS = 1_000;

/**
 * Ids kept to know a message shown before: a replay brings only ids past
 * `since`, so only history pages (at most 1000 messages) can repeat older
 * ones; the oldest known go past this many, so that a page left open for
 * weeks stays small.
 */
const KEEP_IDS = 20_000;

/** Commands that post a message (as the server's parser reads a line; see lib/core/commands.ts). */
const POSTING_COMMANDS = new Set(["me", "msg"]);

/**
 * What a typed line posts, if it posts anything: a room message (an action
 * with `/me`) or a private message (`/msg NAME TEXT`, `@NAME TEXT`); the text
 * its echo should carry, to know the echo when it comes. Other commands
 * post nothing, and get no `sent`.
 * @typedef {{ kind: "message" | "action" | "private", text: string }} Posting
 */

/**
 * @param {string} line as typed
 * @returns {Posting | undefined}
 */
export function postingOf(line) {
  const start = line.trimStart();
  if (start.startsWith("//")) return { kind: "message", text: start.slice(1).trim() };
  if (start.trimEnd() === "exit") return undefined;
  const command = /^\/(\S*)\s*(.*)$/su.exec(start);
  if (command) {
    const name = command[1].toLowerCase();
    if (!POSTING_COMMANDS.has(name)) return undefined;
    if (name === "me") return { kind: "action", text: command[2].trim() };
    const to = /^\S+\s+(.*)$/su.exec(command[2]);
    return { kind: "private", text: (to?.[1] ?? "").trim() };
  }
  const mention = /^@([^\s:,]+)[:,]?(?:\s+(.*))?$/su.exec(start);
  if (mention) return { kind: "private", text: (mention[2] ?? "").trim() };
  return { kind: "message", text: line.trim() };
}

/**
 * A line typed that posts a message, until the server says it did.
 * @template Item what shows it (a line of the page)
 * @typedef {{
 *   cid: string,
 *   frame: Record<string, unknown>,
 *   posting: Posting,
 *   room: string,
 *   item: Item,
 *   sentHere: boolean,
 *   shownAs: number | undefined,
 * }} Pending
 */

/**
 * Where the page stands in the server's stream of messages, and the lines
 * waiting for their `sent`.
 * @template Item
 */
export class Delivery {
  /** @type {string | undefined} The stream the ids belong to; unknown before the first welcome. */
  stream = undefined;
  /** The highest id shown (or the first welcome's `last`). */
  seen = 0;
  /** The last id acknowledged on this connection. */
  acked = 0;
  /** Whether the replay asked for by the last `hello` is still coming. */
  replaying = false;
  /** @type {Pending<Item>[]} Oldest first. */
  pending = [];
  /** @type {Set<number>} Ids shown, on this stream. */
  #shown = new Set();
  /** The `since` of the last `hello`. */
  #helloSince = 0;
  /**
   * @type {number | undefined} `#helloSince` while the hello's replay or the
   * answers to the rooms joined again are still to come.
   */
  #holdAt = undefined;
  /** The token of the ping sent after those joins, and how many such pings were made. */
  #rejoinToken = "";
  #rejoins = 0;
  /** What makes this page's cids its own: chosen once per page load. */
  #prefix = `w${Math.random().toString(36).slice(2, 10)}${Date.now().toString(36)}`;
  #count = 0;
  /** Whether the last `hello` asked for a replay. */
  #asked = false;
  /**
   * Whether private messages were shown at or below `acked` (kept mail in
   * `missed`, a replay's unacknowledged ones): the server counts them
   * delivered only at an ack, so one is owed even with no newer id.
   */
  #owed = false;

  /**
   * The id up to which every message of the page's rooms was shown: `seen`,
   * unless a replay is still to end (the hello's, or those of rooms joined
   * again).
   */
  get since() {
    return this.#holdAt ?? this.seen;
  }

  /** The delivery fields of a `hello`: a replay of what came after `since`, once there is a stream. */
  hello() {
    this.#asked = this.stream !== undefined;
    if (this.stream === undefined) return { acks: true };
    this.#helloSince = this.since;
    return { acks: true, since: this.#helloSince, stream: this.stream };
  }

  /**
   * Takes a `welcome`'s `stream` and `last`. Returns whether the ids shown
   * so far still mean something (the same stream); a new stream starts
   * from its `last`. A server without streams (older) keeps its ids as
   * they were.
   * @param {unknown} stream
   * @param {unknown} last
   */
  welcomed(stream, last) {
    this.acked = 0;
    this.#owed = false;
    this.#holdAt = undefined;
    this.#rejoinToken = "";
    for (const entry of this.pending) entry.sentHere = false;
    if (typeof stream !== "string") {
      this.replaying = false;
      return false;
    }
    this.replaying = this.#asked;
    if (stream === this.stream) {
      if (this.#asked) {
        // The hello's `since` said as much as an ack would; its replay comes next.
        this.acked = this.#helloSince;
        this.#holdAt = this.#helloSince;
      }
      return true;
    }
    if (this.stream !== undefined) this.#shown.clear();
    this.stream = stream;
    this.seen = typeof last === "number" && Number.isSafeInteger(last) ? last : 0;
    return false;
  }

  /**
   * Whether the message `id` is new here (it is then counted as shown), or
   * was shown already.
   * @param {number | undefined} id
   */
  firstShown(id) {
    if (id === undefined) return true;
    if (this.#shown.has(id)) return false;
    this.#shown.add(id);
    if (this.#shown.size > KEEP_IDS) {
      // A set iterates in the order ids were added: the first is the oldest known.
      for (const old of this.#shown) {
        this.#shown.delete(old);
        break;
      }
    }
    if (id > this.seen) this.seen = id;
    return true;
  }

  /**
   * Rooms a restarted server forgot are joined again: returns the `since`
   * their joins carry (the last hello's, when `since`: the stream went on)
   * and the token of the ping to send after them; `since` and acks go no
   * further until its pong.
   * @param {boolean} [since]
   */
  rejoining(since = true) {
    if (since) this.#holdAt = this.#helloSince;
    this.#rejoinToken = `rejoin-${++this.#rejoins}`;
    return { since: since ? this.#helloSince : undefined, token: this.#rejoinToken };
  }

  /**
   * Whether a pong with `token` ends the wait of `rejoining` (its joins were
   * answered); the pongs of earlier connections' rejoins end nothing.
   * @param {unknown} token
   */
  rejoined(token) {
    if (token === "" || token !== this.#rejoinToken) return false;
    this.#holdAt = undefined;
    this.#rejoinToken = "";
    return true;
  }

  /**
   * A replay's last page came: whether it ended the hello's replay (the
   * first after a welcome), which ends the wait for it.
   */
  replayEnded() {
    if (!this.replaying) return false;
    this.replaying = false;
    if (this.#rejoinToken === "") this.#holdAt = undefined;
    return true;
  }

  /**
   * Whether the message `id` was shown.
   * @param {number} id
   */
  shown(id) {
    return this.#shown.has(id);
  }

  /**
   * What to acknowledge now, if anything: `since`, once. Never an id past a
   * message not shown: the server would count private messages up to it
   * delivered, and drop what a resume needs.
   */
  toAck() {
    const id = this.since;
    if (id < this.acked || (id === this.acked && !this.#owed)) return undefined;
    this.acked = id;
    this.#owed = false;
    return id;
  }

  /**
   * A private message `id` was shown (or was already): when it is at or
   * below what was acknowledged, the server still waits for an ack of it.
   * @param {number | undefined} id
   */
  privateShown(id) {
    if (id !== undefined && id <= this.acked) this.#owed = true;
  }

  /**
   * A line typed that posts: it gets a cid, and waits.
   * @param {Record<string, unknown>} frame what to send (an `input`), cid added
   * @param {Posting} posting
   * @param {string} room where it was typed
   * @param {Item} item what shows it
   */
  add(frame, posting, room, item) {
    const cid = `${this.#prefix}-${++this.#count}`;
    /** @type {Pending<Item>} */
    const entry = {
      cid,
      frame: { ...frame, cid },
      posting,
      room,
      item,
      sentHere: false,
      shownAs: undefined,
    };
    this.pending.push(entry);
    return entry;
  }

  /**
   * The oldest pending line whose echo this is (your own message, not seen
   * before), which the echo then shows instead; undefined when none is.
   * @param {Posting["kind"]} kind
   * @param {string} text
   * @param {string} room the echo's room ("" for a private message)
   * @param {number | undefined} id
   */
  echoOf(kind, text, room, id) {
    const entry = this.pending.find((p) =>
      p.shownAs === undefined && p.posting.kind === kind && p.posting.text === text.trim() &&
      (kind === "private" || p.room === room || p.room === "")
    );
    if (entry) entry.shownAs = id ?? 0;
    return entry;
  }

  /**
   * The pending line with `cid`, taken off the list (its `sent` or its
   * refusal came).
   * @param {unknown} cid
   */
  settle(cid) {
    const index = this.pending.findIndex((p) => p.cid === cid);
    if (index < 0) return undefined;
    return this.pending.splice(index, 1)[0];
  }

  /**
   * Pending lines not sent on this connection yet, in order, that `ready`
   * lets go now; each is then counted as sent.
   * @param {(entry: Pending<Item>) => boolean} ready
   */
  toSend(ready = () => true) {
    const due = this.pending.filter((p) => !p.sentHere && ready(p));
    for (const entry of due) entry.sentHere = true;
    return due;
  }

  /** A session is over (the person left): nothing of it carries over to the next one. */
  reset() {
    this.stream = undefined;
    this.seen = 0;
    this.acked = 0;
    this.replaying = false;
    this.pending = [];
    this.#shown.clear();
    this.#asked = false;
    this.#helloSince = 0;
    this.#holdAt = undefined;
    this.#rejoinToken = "";
  }
}
