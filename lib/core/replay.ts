/**
 * Replay pages: what a client missed, as `replay` frames. Oldest first, in
 * pages of at most MAX_HISTORY messages and MAX_FRAME_MESSAGE_BYTES of JSON,
 * `more` on all but the last; at most MAX_REPLAY in all, and a byte budget
 * (the newest, the rooms cut short counted as gaps). The last page is always
 * sent, empty or not, and says what the replay could not reach.
 *
 * A long replay is read and sent in steps (`turns.ts`): at most a page read
 * and a page sent each, as many to a turn of the event loop as fit in a few
 * milliseconds (`ReplayRun.clock`; without one, a step a turn), the rest in
 * later turns (`ReplayRun.next`), so that the other connections are served
 * between them: reading 10,000 messages from the store and writing them as
 * JSON takes tens of milliseconds, hundreds on a busy machine. The sources
 * are read newest first (the newest are what is kept when there are too
 * many), then the pages sent oldest first.
 *
 * @module
 */

import type { Delivered } from "./delivery_window.ts";
import type { ReplayEvent } from "./events.ts";
import { jsonBytes, oldestThatFit } from "./frame_budget.ts";
import { MAX_HISTORY, MAX_REPLAY_BYTES } from "./limits.ts";
import { inTurns } from "./turns.ts";

/** Most messages one replay carries; past it, the newest are sent and the rest is a gap. */
export const MAX_REPLAY = 10_000;

/**
 * Most messages a source reads at once: two sources' reads make about one
 * step's work. A replay of many sources starts each with its share of a
 * step's (MAX_HISTORY), doubling each time it reads again: the first step
 * touches every source, and twenty rooms at 500 each were ten steps' work.
 */
const READ_BATCH = MAX_HISTORY / 2;

/** What a replay could not reach: rooms (without `#`), and whether private messages. */
export interface ReplayGaps {
  /** Rooms whose messages after `since` are not all in the replay. */
  rooms: Iterable<string>;
  /** Private messages after `since` may be missing. */
  privates: boolean;
}

/** Where a replay reads messages after its `since`: a room's history, private messages, memory. */
export interface ReplaySource {
  /**
   * The room all its messages are in, or null: private messages (what a
   * gap in it is said as); undefined: several rooms, and private messages.
   */
  readonly room?: string | null;
  /** The newest `limit` of its messages with an id below `before`, oldest first. */
  read(before: number, limit: number): Delivered[];
  /** Asked once all is read: whether it held every message after `since` (none pruned). */
  complete(): boolean;
}

/** A source over `messages` held in memory (in id order, each once): the window, the rooms' memory. */
export function heldSource(
  messages: Delivered[],
  room?: string | null,
  complete = true,
): ReplaySource {
  return {
    room,
    read(before, limit) {
      // The first with an id at or above `before`, by bisection.
      let low = 0;
      let high = messages.length;
      while (low < high) {
        const middle = (low + high) >> 1;
        if (messages[middle].id < before) low = middle + 1;
        else high = middle;
      }
      return messages.slice(Math.max(0, low - limit), low);
    },
    complete: () => complete,
  };
}

/** How one replay runs: where it reads, what it sends to, how it waits for the next turn. */
export interface ReplayRun {
  /** What it replays; their messages with ids above `upTo` are not its (they come live). */
  sources: ReplaySource[];
  /** The newest id the replay holds. */
  upTo: number;
  /** Gaps known before reading (rooms forgotten, another stream). */
  gaps: ReplayGaps;
  /**
   * Most bytes of the messages' JSON in all: a client that reads slowly has
   * them all queued, and a queue past `--queue-limit` is dropped (and so the
   * next replay). @default MAX_REPLAY_BYTES
   */
  maxBytes?: number;
  /** Whether the member wants `message` shown (not from a name it ignores). @default all */
  shown?: (message: Delivered) => boolean;
  /**
   * Whether `message` is never cut: private mail waiting to count as
   * delivered (bounded by the mailbox), which is marked delivered up to an
   * id, so that one cut below mail shown would be marked without being
   * shown. It counts in the budget, and goes past it by up to half of it
   * (the queue limit has room): what goes further is cut. @default none
   */
  kept?: (message: Delivered) => boolean;
  /** Sends a page. */
  send: (page: ReplayEvent) => void;
  /** Runs `step` in a later turn of the event loop. @default at once */
  next?: (step: () => void) => void;
  /**
   * A monotonic clock in ms: with one, a turn takes steps while they fit in
   * TURN_BUDGET_MS (see `turns.ts`). @default none: a step a turn
   */
  clock?: () => number;
  /** Whether to go on: false once the member has left (the replay stops, unfinished). */
  going?: () => boolean;
  /** After the last page, with the messages sent, and whether a kept one was cut. */
  done?: (sent: Delivered[], keptCut: boolean) => void;
  /** A source that cannot be read: its messages count as a gap, and this hears why. */
  failed?: (source: ReplaySource, error: unknown) => void;
}

/**
 * Starts a replay: its first steps now, the others in later turns through
 * `run.next` (as many a turn as `run.clock` lets fit), until the last page
 * is sent (then `run.done`) or `run.going` says to stop.
 */
export function replay(run: ReplayRun): void {
  const steps = new Replay(run);
  inTurns(() => steps.step(), {
    next: run.next ?? ((turn) => turn()),
    clock: run.clock,
    going: run.going,
  });
}

/**
 * Sends `messages` (in id order, each once) as `replay` pages to `sink` at
 * once, the last one with `gaps`; returns the messages sent. At most
 * `maxBytes` of their JSON go (a connection's queue that overflows drops it).
 */
export function sendReplay(
  sink: { send(event: ReplayEvent): void },
  messages: Delivered[],
  gaps: ReplayGaps,
  maxBytes = MAX_REPLAY_BYTES,
): Delivered[] {
  let sent: Delivered[] = [];
  replay({
    sources: [heldSource(messages)],
    upTo: Infinity,
    gaps,
    maxBytes,
    send: (page) => sink.send(page),
    done: (messages) => sent = messages,
  });
  return sent;
}

/** A source read newest first, a batch at a time. */
class Cursor {
  readonly source: ReplaySource;
  /** Read and not taken yet, oldest first. */
  #buffer: Delivered[] = [];
  /** Ids below it are not read yet. */
  #before: number;
  /** How many the next read asks for. */
  #batch: number;
  #ended = false;
  /** A read failed: what it still held is lost to this replay. */
  failed = false;
  #onError: (source: ReplaySource, error: unknown) => void;

  /** Reads `source` below `upTo + 1`, `batch` at first. */
  constructor(
    source: ReplaySource,
    upTo: number,
    batch: number,
    onError: (source: ReplaySource, error: unknown) => void,
  ) {
    this.source = source;
    this.#before = upTo + 1;
    this.#batch = batch;
    this.#onError = onError;
  }

  /** The newest message not taken yet; undefined when none is left. */
  head(): Delivered | undefined {
    if (this.#buffer.length === 0 && !this.#ended) {
      this.#buffer = this.#read(this.#batch);
      this.#batch = Math.min(READ_BATCH, this.#batch * 2);
    }
    return this.#buffer.at(-1);
  }

  /** Takes the head. */
  take(): Delivered {
    return this.#buffer.pop()!;
  }

  /**
   * What is left once the replay is cut, oldest first, as far as it takes
   * to name the gaps: those read, and of those not read, all of a source of
   * several rooms, one of any other.
   */
  left(): Delivered[] {
    const unread = this.#ended ? [] : this.#read(this.source.room === undefined ? Infinity : 1);
    return [...unread, ...this.#buffer];
  }

  #read(limit: number): Delivered[] {
    try {
      const batch = this.source.read(this.#before, limit);
      if (batch.length === 0) this.#ended = true;
      else this.#before = batch[0].id;
      return batch;
    } catch (error) {
      this.#ended = this.failed = true;
      this.#onError(this.source, error);
      return [];
    }
  }
}

/** One replay under way: reading (newest first), then sending (oldest first). */
class Replay {
  #run: ReplayRun;
  #cursors: Cursor[];
  /** The cursors still read: past the budget, only those that may hold kept messages. */
  #open: Cursor[];
  #maxBytes: number;
  /** Taken so far, newest first, with their sizes; then (reversed) the messages to send. */
  #taken: Delivered[] = [];
  #sizes: number[] = [];
  #bytes = 0;
  /** Past the budget: what is read now is cut, unless kept. */
  #full = false;
  /** What the messages left out leave short: gaps. */
  #cutRooms = new Set<string>();
  #cutPrivates = false;
  /** A kept message did not fit even past the budget. */
  #keptCut = false;
  #reading = true;
  /** While sending: how many are sent, and the gaps the last page names. */
  #sent = 0;
  #last: Pick<ReplayEvent, "gaps" | "privateGap"> = {};

  constructor(run: ReplayRun) {
    this.#run = run;
    this.#maxBytes = run.maxBytes ?? MAX_REPLAY_BYTES;
    const batch = Math.min(READ_BATCH, Math.ceil(MAX_HISTORY / Math.max(1, run.sources.length)));
    this.#cursors = run.sources.map((source) =>
      new Cursor(source, run.upTo, batch, run.failed ?? (() => {}))
    );
    this.#open = this.#cursors;
  }

  /** One step's work: at most a page read, and a page sent; true once the last page is sent. */
  step(): boolean {
    if (this.#reading) this.#read();
    if (!this.#reading && this.#sendPage()) {
      this.#run.done?.(this.#taken, this.#keptCut);
      return true;
    }
    return false;
  }

  /** Takes up to a page's worth of the newest messages left. */
  #read(): void {
    const shown = this.#run.shown ?? (() => true);
    let looked = 0;
    while (looked < MAX_HISTORY) {
      let newest: Cursor | undefined;
      for (const cursor of this.#open) {
        const head = cursor.head();
        if (head && (!newest || head.id > newest.head()!.id)) newest = cursor;
      }
      if (!newest) return this.#readAll();
      const message = newest.take();
      looked++;
      if (!shown(message)) continue;
      const size = jsonBytes(message);
      const over = this.#full || this.#taken.length >= MAX_REPLAY ||
        this.#bytes + size > this.#maxBytes;
      if (over && !this.#keeps(message, size)) {
        this.#cutOff(message, shown);
        continue;
      }
      this.#taken.push(message);
      this.#sizes.push(size);
      this.#bytes += size;
    }
  }

  /** Whether `message`, past the budget, goes all the same: kept, within half the budget more. */
  #keeps(message: Delivered, size: number): boolean {
    if (this.#run.kept?.(message) !== true) return false;
    if (this.#bytes + size <= this.#maxBytes * 1.5) return true;
    this.#keptCut = true;
    return false;
  }

  /**
   * Leaves `message` out; the first time, the rest of the rooms' sources
   * too (named as gaps from a message each): only a source of private
   * messages may hold kept ones, and it is read on, its others cut.
   */
  #cutOff(message: Delivered, shown: (message: Delivered) => boolean): void {
    if (!this.#full) {
      this.#full = true;
      const keeps = this.#run.kept !== undefined;
      this.#open = this.#cursors.filter((cursor) => {
        if (keeps && typeof cursor.source.room !== "string") return true;
        for (const left of cursor.left()) if (shown(left)) this.#gap(left);
        return false;
      });
    }
    this.#gap(message);
  }

  /** A message left out: its room, or the private messages, are a gap. */
  #gap(message: Delivered): void {
    if (message.type === "message") this.#cutRooms.add(message.room);
    else this.#cutPrivates = true;
  }

  /** Reading is over: the messages go oldest first, and the last page's gaps are known. */
  #readAll(): void {
    this.#reading = false;
    this.#taken.reverse();
    this.#sizes.reverse();
    // The rooms known incomplete first, then those a cut or a failed read left short.
    const rooms = new Set(this.#run.gaps.rooms);
    let privates = this.#run.gaps.privates;
    for (const cursor of this.#cursors) {
      const room = cursor.source.room;
      if (room === undefined || (!cursor.failed && cursor.source.complete())) continue;
      if (room === null) privates = true;
      else rooms.add(room);
    }
    for (const room of this.#cutRooms) rooms.add(room);
    if (this.#cutPrivates) privates = true;
    if (rooms.size > 0) this.#last.gaps = [...rooms];
    if (privates) this.#last.privateGap = true;
  }

  /** Sends the next page; true when it was the last. */
  #sendPage(): boolean {
    const from = this.#sent;
    const rest = this.#taken.slice(from, from + MAX_HISTORY);
    const messages = rest.length === 0
      ? rest
      : oldestThatFit(rest, (_, i) => this.#sizes[from + i]);
    this.#sent += messages.length;
    if (this.#sent < this.#taken.length) {
      this.#run.send({ type: "replay", messages, more: true });
      return false;
    }
    this.#run.send({ type: "replay", messages, ...this.#last });
    return true;
  }
}
