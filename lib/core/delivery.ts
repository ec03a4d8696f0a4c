/**
 * End-to-end delivery: the server's half (docs/PROTOCOL.md, "Delivery").
 *
 * Ids name messages on a `stream` (kept in the store, or random per process
 * without one). A client that says in `hello` which id it has been shown up
 * to (`since`) is sent what came after in `replay` pages: from the delivery
 * window of the connection it resumes when that reaches back far enough
 * (`delivery_window.ts`), else as far as the history goes, the rest said to
 * be a gap. A client that acknowledges (`acks`) trims its window with `ack`.
 * A frame's client-chosen id (`cid`) makes a resent line post once
 * (`client_ids.ts`), and its sender hears `sent` with the message's id.
 *
 * @module
 */

import { ClientIds } from "./client_ids.ts";
import { type Delivered, DeliveryWindow, WindowedSink } from "./delivery_window.ts";
import { errorMessage } from "./errors.ts";
import { type ChatEvent, ErrorCode, type Sink } from "./events.ts";
import { ignores } from "./ignoring.ts";
import { NOT_SAVED, type Receipt } from "./posting.ts";
import { toPrivateEvent } from "./offline_mail.ts";
import { heldSource, MAX_REPLAY, replay, type ReplayGaps, type ReplaySource } from "./replay.ts";
import { ReplayGate } from "./replay_gate.ts";
import { MAX_REPLAY_BYTES } from "./limits.ts";
import { nameKey } from "./names.ts";
import { toMessageEvent } from "./room_history.ts";
import type { Member, Room } from "./room.ts";
import type { Mailbox, ReplayLog } from "./store.ts";
import { TokenBucket } from "./token_bucket.ts";
import { inTurns, type Pace } from "./turns.ts";

/** The "id" a command's cid is remembered with: no message has it, so no `sent` is told. */
const RAN = 0;

/** What a `hello` asks of delivery; every field is optional. */
export interface DeliveryRequest {
  /** The client has been shown everything up to this id on `stream`. */
  since?: number;
  /** The sequence `since` counts in. */
  stream?: string;
  /** The client acknowledges what it is shown (`ack`): the server keeps a window for it. */
  acks?: boolean;
}

/** Acks a client may send in a burst, and per second after: a client acks about once a second. */
const ACK_BURST = 20;
const ACK_RATE = 5;

/**
 * How long, and for how many names, the server remembers that someone left
 * with private messages they were never shown: a later login under the name
 * is told some may be missing (and only then).
 */
const UNSHOWN_TTL_MS = 60 * 60_000;
const UNSHOWN_NAMES = 10_000;

/** What delivery needs of the store: messages after an id, mail not yet delivered, marking it so. */
export type DeliveryStore = ReplayLog & Pick<Mailbox, "undelivered" | "markDelivered">;

/** Settings of {@link Delivery}. */
export interface DeliveryOptions {
  /** The stream the ids belong to. */
  stream: string;
  /** The history to replay from when a window does not reach; none: the rooms' memory. */
  store: DeliveryStore | null;
  /** The clock, in ms since the epoch. */
  now: () => number;
  /** Receives a line when the store cannot be read or written, for the operator. */
  log: (line: string) => void;
  /** The newest id handed out: a `since` above it is from another history (a restored backup). */
  newest: () => number;
  /** Most bytes of JSON a replay queues (see `replay.ts`). @default MAX_REPLAY_BYTES */
  replayBytes?: number;
  /**
   * Runs a step of a long replay in a later turn of the event loop, so that
   * other connections are served between its pages. @default at once
   */
  nextTurn?: (step: () => void) => void;
  /**
   * A monotonic clock in ms that times those steps: a turn takes several
   * while they fit in a few ms (see `turns.ts`). @default none: a step a turn
   */
  turnClock?: () => number;
  /** Whether `member` is still registered: a replay to one that left stops. @default always */
  present?: (member: Member) => boolean;
  /**
   * The member with `sink` had more held behind its replay than the limit
   * (`replayBytes`): its connection is dropped (`Sink.drop`) right after.
   */
  overflowed?: (sink: Sink) => void;
}

/**
 * The private messages up to a replay's `since` that wait for an ack: where
 * the replay reads them (null: none), and whether all could be read.
 */
interface Held {
  source: ReplaySource | null;
  whole: boolean;
}

/** What a replay notes of the private messages to its member that wait to count as delivered. */
interface Waiting {
  /** Notes a private message read (`delivered`: it counts as delivered already). */
  note: (message: Delivered, delivered?: boolean) => void;
  /** Whether `message` waits: it is never cut from the replay. */
  kept: (message: Delivered) => boolean;
}

/** How a login's kept mail goes out in `missed` pages (see {@link Delivery.missed}). */
export interface MissedTurn {
  /** Sends a page, ahead of what waits behind them. */
  send: (event: ChatEvent) => void;
  /** Whether each page is marked delivered once sent (a client that does not acknowledge). */
  mark: boolean;
  /** A page up to the id `newest` was sent. */
  sent: (newest: number) => void;
  /** Some could not be read: the acks of this connection mark none. */
  failed: () => void;
}

/** Windows, replays, acknowledgements and client ids. */
export class Delivery {
  /** The sequence the ids belong to: said in `welcome`, named by `hello`'s `since`. */
  readonly stream: string;
  #now: () => number;
  #log: (line: string) => void;
  #store: DeliveryStore | null;
  #cids: ClientIds;
  #ackBuckets = new WeakMap<Member, TokenBucket>();
  #newest: () => number;
  #replayBytes: number;
  #nextTurn: (step: () => void) => void;
  #turnClock: (() => number) | undefined;
  #present: (member: Member) => boolean;
  #overflowed: (sink: Sink) => void;
  /** The gate of each sink handed out, by that sink. */
  #gates = new WeakMap<Sink, ReplayGate>();
  /**
   * While the private messages waiting for a member go in pages: the id up
   * to which an ack may mark them delivered (those of the `missed` pages
   * sent; none during a replay): an ack of the `welcome`'s `last`, or of
   * `since`, would cover the pages not sent yet.
   */
  #markable = new WeakMap<Member, number>();
  /** While a member's kept mail goes in `missed` pages: the newest id of those sent so far. */
  #missing = new WeakMap<Member, number>();
  /** By name key: the newest private message a connection left without acknowledging, and when. */
  #unshown = new Map<string, { id: number; time: number }>();

  /** Delivery on `options.stream`. */
  constructor(options: DeliveryOptions) {
    this.stream = options.stream;
    this.#now = options.now;
    this.#log = options.log;
    this.#store = options.store;
    this.#cids = new ClientIds(options.now);
    this.#newest = options.newest;
    this.#replayBytes = options.replayBytes ?? MAX_REPLAY_BYTES;
    this.#nextTurn = options.nextTurn ?? ((step) => step());
    this.#turnClock = options.turnClock;
    this.#present = options.present ?? (() => true);
    this.#overflowed = options.overflowed ?? (() => {});
  }

  /**
   * The sink a member registering with `request` is given: `sink` behind a
   * gate that holds what comes while a replay pages, and for a client that
   * acknowledges, one that keeps a window of what it is handed after `last`
   * (the newest id so far). For an account holder's (`owner`: the name's
   * key), it notes the private messages to them that wait for an ack to
   * count as delivered.
   */
  sinkFor(sink: Sink, request: DeliveryRequest, last: number, owner: string | null): Sink {
    // What waits behind a replay has the queue limit's other half, as the replay has one.
    const gate = new ReplayGate(sink, this.#replayBytes, () => {
      this.#overflowed(outer);
      sink.drop?.();
    });
    const outer: Sink = request.acks !== true
      ? gate
      : new WindowedSink(gate, new DeliveryWindow(last), this.#store ? owner : null);
    this.#gates.set(outer, gate);
    return outer;
  }

  /**
   * Whether a private message to `member` is stored waiting, and counted
   * delivered only when their client acknowledges it: an account holder who
   * acknowledges, on a server that keeps mail.
   */
  awaitsAck(member: Member): boolean {
    return this.#store !== null && member.account && this.windowOf(member) !== null;
  }

  /** The delivery window of `member`, when it acknowledges. */
  windowOf(member: Member): DeliveryWindow | null {
    return member.sink instanceof WindowedSink ? member.sink.window : null;
  }

  /**
   * `member` has just taken over from `holder` (a resume) and been welcomed:
   * it gets `holder`'s window, and with `since`, the replay of what came after.
   */
  resumed(holder: Member, member: Member, request: DeliveryRequest): void {
    const old = this.windowOf(holder);
    if (old && member.sink instanceof WindowedSink) member.sink.window = old;
    const since = this.#since(member, request);
    if (since === undefined) {
      // Kept mail the old connection was still being sent: acks mark no more of it than it got.
      const markable = this.#markable.get(holder);
      if (markable !== undefined) this.#markable.set(member, markable);
      return;
    }
    const waiting = this.#waiting(member);
    const held = this.#held(member, since, waiting);
    const handed = this.#handedTo(member, held);
    // A replay the old connection had under way (a `join` with `since`) is not all in its window.
    if (old?.covers(since) && this.#gates.get(holder.sink)?.cutShort !== true) {
      const after = old.after(since);
      // Those the window holds were never acknowledged: with a store, they wait to count.
      if (this.awaitsAck(member)) { for (const message of after) waiting.note(message); }
      const sources = [heldSource(after)];
      if (held.source) sources.unshift(held.source);
      this.#replay(member, sources, { rooms: [], privates: !held.whole }, {
        done: handed,
        kept: waiting.kept,
      });
    } else {
      // This replay is not recorded: a resume from below its end must read the history again.
      this.windowOf(member)?.raiseFloor(this.#newest());
      // Private messages the lost connection was handed past its window are not in any history.
      this.#fromHistory(member, since, true, held, waiting, handed);
    }
    // What the client says it was shown needs no acknowledging again; the held mail does (and
    // mail not read is not counted delivered on its word).
    if (held.whole && held.source === null) this.#acked(member, since);
    else this.windowOf(member)?.ack(since);
  }

  /**
   * A newcomer (not a resume) has been welcomed: with `since`, sends the
   * replay and returns true (instead of the joiner's history and `missed`).
   */
  joined(member: Member, request: DeliveryRequest): boolean {
    const since = this.#since(member, request);
    if (since === undefined) return false;
    const waiting = this.#waiting(member);
    const held = this.#held(member, since, waiting);
    // The client acknowledges from `since` on, which may be below the window's start.
    this.windowOf(member)?.allowFrom(since);
    const lost = this.#leftUnshown(member, since);
    this.#fromHistory(member, since, lost, held, waiting, this.#handedTo(member, held));
    return true;
  }

  /**
   * Private messages to `member` (an account) that were handed to a
   * connection that acknowledges but never acknowledged, with an id up to
   * `since`: a `since` does not cover them. A client's `since` starts at the
   * `last` of its first `welcome`, above the mail that login was handed in
   * `missed`: that says nothing of whether the mail was shown. The replay
   * reads them a batch at a time, newest first as any source, each noted
   * `waiting`, at most MAX_REPLAY. Not `whole` when they could not all be
   * read (a read failed, or there are more): a gap.
   */
  #held(member: Member, since: number, waiting: Waiting): Held {
    const store = this.#store;
    if (!store || !member.account) return { source: null, whole: true };
    try {
      const oldest = store.undelivered(member.name, 1);
      if (oldest.length === 0 || oldest[0].id > since) return { source: null, whole: true };
    } catch (error) {
      this.#log(`cannot read the private messages of ${member.name}: ${errorMessage(error)}`);
      return { source: null, whole: false };
    }
    const held: Held = { source: null, whole: true };
    let count = 0;
    held.source = {
      room: null,
      read: (before, limit) => {
        if (!held.whole) return [];
        let found;
        try {
          // One more than fits: whether there are more than a replay carries.
          const most = Math.min(limit, MAX_REPLAY + 1 - count);
          found = store.undeliveredBefore(member.name, Math.min(before, since + 1), most);
        } catch (error) {
          // The replay names the gap and logs it; none of them counts delivered on this connection.
          held.whole = false;
          throw error;
        }
        count += found.length;
        if (count > MAX_REPLAY) {
          held.whole = false;
          found.shift();
        }
        return found.map((stored) => {
          const message = toPrivateEvent(stored);
          waiting.note(message);
          return message;
        });
      },
      complete: () => held.whole,
    };
    return held;
  }

  /**
   * What a replay's end does with the private messages to `member` it sent
   * (see `#handed`). Not when kept mail was left out (not `held` whole, or
   * cut from the replay): marking up to an id would mark it unshown; nor
   * does this connection's ack mark any (it is shown again, rather than lost).
   */
  #handedTo(member: Member, held: Held): (sent: Delivered[], keptCut: boolean) => void {
    return (sent, keptCut) => {
      if (held.whole && !keptCut) return this.#handed(member, sent);
      const window = this.windowOf(member);
      if (window) window.marks = false;
    };
  }

  /**
   * The private messages to `member` that wait to count as delivered, in a
   * replay: those `note` is told of as they are read. They are never cut from it
   * (see `ReplayRun.kept`): marking mail up to the newest one shown would
   * mark them unshown.
   */
  #waiting(member: Member): Waiting {
    const ids = new Set<number>();
    return {
      note: (message, delivered = false) => {
        if (!delivered && message.type === "private" && nameKey(message.to) === member.key) {
          ids.add(message.id);
        }
      },
      kept: (message) => ids.has(message.id),
    };
  }

  /**
   * The private messages to `member` in `replayed` count as delivered: now,
   * or for a client that acknowledges, once acknowledged.
   */
  #handed(member: Member, replayed: Delivered[]): void {
    if (!member.account) return;
    let newest = 0;
    for (const message of replayed) {
      if (message.type === "private" && nameKey(message.to) === member.key) newest = message.id;
    }
    if (newest === 0) return;
    if (this.awaitsAck(member)) this.awaitAck(member, newest);
    else this.#markDelivered(member, newest);
  }

  /**
   * `member`'s connection, which acknowledges, was handed private messages
   * to it up to `id`: they count as delivered once an `ack` covers them.
   */
  awaitAck(member: Member, id: number): void {
    const window = this.windowOf(member);
    if (window && id > window.unmarked) window.unmarked = id;
  }

  /**
   * `join` with `since` (`room` is new to the member): the room's messages
   * after it, as `replay` pages, instead of its last ones as `history`.
   */
  replayRoom(member: Member, room: Room, since: number): void {
    // Said after the window began, and not in it: a resume before the ack needs them.
    const gaps = { rooms: [], privates: false };
    this.#replay(member, [this.#roomSource(room, since)], gaps, { record: true });
  }

  /**
   * An `ack` of everything up to `id`; false when the member sends them so
   * fast that they are a flooder.
   */
  ack(member: Member, id: number): boolean {
    const now = this.#now();
    let bucket = this.#ackBuckets.get(member);
    if (!bucket) this.#ackBuckets.set(member, bucket = new TokenBucket(ACK_BURST, ACK_RATE, now));
    if (!bucket.take(now)) return false;
    this.#acked(member, id);
    return true;
  }

  /**
   * Trims the member's window up to `id`, and counts the private messages to
   * them up to it delivered, when some wait (no store write otherwise); while
   * those waiting go in pages, no further than the pages sent.
   */
  #acked(member: Member, id: number): void {
    const window = this.windowOf(member);
    if (!window?.ack(id) || window.unmarked === 0 || !window.marks || !member.account) return;
    const upTo = Math.min(id, this.#markable.get(member) ?? Infinity);
    if (upTo <= 0) return;
    this.#markDelivered(member, upTo);
    if (upTo >= window.unmarked) window.unmarked = 0;
  }

  /** Counts the private messages to `member` up to `id` delivered; a failure is logged. */
  #markDelivered(member: Member, id: number): void {
    try {
      this.#store?.markDelivered(member.name, id);
    } catch (error) {
      this.#log(
        `cannot mark the private messages to ${member.name} delivered: ${errorMessage(error)}`,
      );
    }
  }

  /**
   * `member` leaves: when its window holds private messages to it that it
   * never acknowledged, a later login under its name with an earlier `since`
   * is told private messages may be missing. Without a window (a client that
   * does not acknowledge), what was written counts as shown.
   */
  left(member: Member): void {
    const newest = this.windowOf(member)?.newestPrivateTo(member.key) ?? 0;
    if (newest === 0) return;
    this.#unshown.delete(member.key);
    this.#unshown.set(member.key, { id: newest, time: this.#now() });
    for (const [key] of this.#unshown) {
      if (this.#unshown.size <= UNSHOWN_NAMES) break;
      this.#unshown.delete(key);
    }
  }

  /** Whether a connection under `member`'s name left private messages after `since` unshown. */
  #leftUnshown(member: Member, since: number): boolean {
    const left = this.#unshown.get(member.key);
    if (!left || this.#now() - left.time >= UNSHOWN_TTL_MS) return false;
    return left.id > since;
  }

  /**
   * For a command (not a message) with `cid`: true when `member`'s name ran
   * it already (see {@link ran}); it is not run again.
   */
  ranBefore(member: Member, cid: string): boolean {
    return this.#cids.find(member.key, cid) !== undefined;
  }

  /** `member` ran a command with `cid`: a resend of it is not run again. */
  ran(member: Member, cid: string): void {
    this.#cids.sent(this.#cids.begin(member.key, cid), RAN);
  }

  /**
   * For a frame with `cid`: true when `member`'s name posted it already;
   * they are told `sent` with its id (once known: it may wait for its
   * commit), and nothing is posted again.
   */
  resent(member: Member, cid: string): boolean {
    const entry = this.#cids.find(member.key, cid);
    if (!entry) return false;
    const tell = (id: number | null) => {
      member.sink.send(
        id !== null ? { type: "sent", cid, id } : {
          type: "error",
          code: ErrorCode.NotSaved,
          message: NOT_SAVED,
          cid,
        },
      );
    };
    if (entry.id === RAN) return true;
    if (entry.id !== null) tell(entry.id);
    else entry.waiters.push(tell);
    return true;
  }

  /** The receipt of a message `member` posts with `cid`: `sent` after the echo, remembered. */
  receipt(member: Member, cid: string): Receipt {
    const key = member.key;
    const entry = this.#cids.begin(key, cid);
    return {
      cid,
      sent: (id) => {
        this.#cids.sent(entry, id);
        member.sink.send({ type: "sent", cid, id });
      },
      failed: () => this.#cids.failed(key, cid, entry),
    };
  }

  /**
   * The `since` of a request on this stream; on another stream (a server
   * that restarted without a store), none, and the client is told that
   * everything may be a gap.
   */
  #since(member: Member, request: DeliveryRequest): number | undefined {
    if (request.since === undefined) return undefined;
    // Above the newest id, it counts in another history, as a `chat.db` restored from a backup is.
    if (request.stream === this.stream && request.since <= this.#newest()) return request.since;
    this.#replay(member, [], { rooms: roomNames(member), privates: true });
    return undefined;
  }

  /**
   * Replays what the history holds after `since`: each of the member's rooms'
   * messages (the store's, or the rooms' memory), and with a store, an
   * account holder's private messages (after `since`, and those `held`
   * before it, each noted `waiting`; not whole: a gap). What it cannot reach is
   * a gap; `privatesLost` says whether, without a store to read them from,
   * private messages may be missing.
   * `done` gets the messages sent, after the last page.
   */
  #fromHistory(
    member: Member,
    since: number,
    privatesLost: boolean,
    held: Held,
    waiting: Waiting,
    done: (sent: Delivered[], keptCut: boolean) => void,
  ): void {
    const sources: ReplaySource[] = [];
    for (const name of roomNames(member)) {
      const room = [...member.rooms].find((r) => r.name === name);
      if (room) sources.push(this.#roomSource(room, since));
    }
    const store = this.#store;
    const account = store !== null && member.account;
    if (account) {
      if (held.source) sources.push(held.source);
      sources.push({
        room: null,
        read: (before, limit) =>
          store.privatesAfter(member.name, since, limit, before).map((stored) => {
            const message = toPrivateEvent(stored);
            waiting.note(message, stored.delivered);
            return message;
          }),
        complete: () => !this.#pruned(store, null, since),
      });
    }
    const gaps = { rooms: [], privates: (!account && privatesLost) || !held.whole };
    this.#replay(member, sources, gaps, { done, kept: account ? waiting.kept : undefined });
  }

  /** Where a replay reads the messages of `room` after `since`: the store, or the room's memory. */
  #roomSource(room: Room, since: number): ReplaySource {
    const store = this.#store;
    if (!store) {
      const found = room.rememberedAfter(since);
      return heldSource(found.messages, room.name, found.complete);
    }
    return {
      room: room.name,
      read: (before, limit) =>
        store.messagesAfter(room.name, since, limit, before).map(toMessageEvent),
      complete: () => !this.#pruned(store, room.name, since),
    };
  }

  /** Whether retention may have deleted messages of `room` (null: private ones) after `since`. */
  #pruned(store: DeliveryStore, room: string | null, since: number): boolean {
    try {
      return store.prunedSince(room, since);
    } catch (error) {
      this.#log(`cannot read what retention deleted: ${errorMessage(error)}`);
      return true;
    }
  }

  /**
   * Sends `member` a replay of `sources` after the replays it is shown
   * already, in steps (see `replay.ts`); what comes for the member
   * meanwhile waits in its gate. `done` gets the messages sent; those
   * `kept` are never cut; with `record`, the pages are recorded in the
   * member's window (a resume's or a login's are in it already, or below it).
   */
  #replay(
    member: Member,
    sources: ReplaySource[],
    gaps: ReplayGaps,
    { done = () => {}, kept, record = false }: {
      done?: (sent: Delivered[], keptCut: boolean) => void;
      kept?: (message: Delivered) => boolean;
      record?: boolean;
    } = {},
  ): void {
    // What comes after this goes live: it is held meanwhile, behind this replay.
    const upTo = this.#newest();
    // An ack marks none of the mail waiting for one until the last page: the replay may have cut
    // some, or failed to read it, below mail it sent (its end then stops the marking altogether).
    if (kept) this.#markable.set(member, 0);
    this.#paced(member, "replay", (pace, end) =>
      replay({
        sources,
        upTo,
        gaps,
        maxBytes: this.#replayBytes,
        shown: member.ignoring === null ? undefined : (m) => !ignores(member, m.from),
        kept,
        send: (page) => {
          if (record && member.sink instanceof WindowedSink) {
            member.sink.recordReplay(page);
            // What it could not reach is in no window either: a resume asks the history then.
            if (page.gaps?.length || page.privateGap) member.sink.window.raiseFloor(upTo);
          }
          pace.send(page);
        },
        next: pace.next,
        clock: pace.clock,
        going: pace.going,
        done: (sent, keptCut) => {
          if (kept) this.#markable.delete(member);
          done(sent, keptCut);
          end();
        },
        failed: (source, error) => {
          const what = source.room === null
            ? `the private messages of ${member.name}`
            : `the history of #${source.room}`;
          this.#log(`cannot read ${what}: ${errorMessage(error)}`);
        },
      }));
  }

  /**
   * Sends `member` (an account holder just welcomed, without a replay) the
   * private messages kept for it in `missed` pages: `pages` makes, from how
   * they go (a {@link MissedTurn}), the step that sends the next (true once
   * over; see `OfflineMail.missed`), run as a replay is, what comes
   * meanwhile held behind it. For a client that acknowledges, they count as delivered once
   * an ack covers them (`sent` hears the newest id of each page), and an
   * ack marks none of those not sent yet (nor any, once some could not be
   * read: `failed`); else `mark` has each page marked as it goes.
   */
  missed(member: Member, pages: (turn: MissedTurn) => () => boolean, after = 0): void {
    const acks = this.awaitsAck(member);
    if (acks) this.#markable.set(member, after);
    this.#missing.set(member, after);
    this.#paced(member, "kept mail", (pace, end) => {
      const step = pages({
        send: pace.send,
        mark: !acks,
        sent: (newest) => {
          this.#missing.set(member, newest);
          if (!acks) return;
          this.awaitAck(member, newest);
          this.#markable.set(member, newest);
        },
        failed: () => {
          const window = this.windowOf(member);
          if (window) window.marks = false;
        },
      });
      inTurns(() => {
        if (!step()) return false;
        this.#markable.delete(member);
        this.#missing.delete(member);
        end();
        return true;
      }, pace);
    });
  }

  /**
   * Where `member`'s kept mail had gone, when its `missed` pages were still
   * going (the newest id sent; 0 for none): a connection resuming from it
   * without `since` is sent the rest from there.
   */
  missedUpTo(member: Member): number | undefined {
    return this.#missing.get(member);
  }

  /**
   * Runs `work` for `member` after the replays it is shown already, in steps
   * behind its gate (see `turns.ts`): `pace` has work send its pages ahead
   * of what the gate holds, and go on in later turns, what is handed to the
   * member meanwhile held; `end` lets what waits go, once the work is over.
   */
  #paced(
    member: Member,
    what: string,
    work: (pace: Pace & { send: (event: ChatEvent) => void }, end: () => void) => void,
  ): void {
    const gate = this.#gates.get(member.sink);
    const pace = {
      send: (event: ChatEvent) => gate ? gate.page(event) : member.sink.send(event),
      next: (turn: () => void) => {
        gate?.hold();
        this.#nextTurn(() => {
          try {
            turn();
          } catch (error) {
            // A bug: what waits goes on without the rest of it (no last page, so a client keeps
            // its `since`), rather than the member getting nothing ever more.
            this.#log(`${what} to ${member.name} failed: ${errorMessage(error)}`);
            gate?.release();
          }
        });
      },
      clock: this.#turnClock,
      going: () => this.#present(member) && !gate?.ended,
    };
    const start = () => work(pace, () => gate?.release());
    if (gate) gate.run(start);
    else start();
  }
}

/** The rooms `member` is in, current first. */
function roomNames(member: Member): string[] {
  const current = member.room ? [member.room.name] : [];
  return [...current, ...[...member.rooms].filter((r) => r !== member.room).map((r) => r.name)];
}
