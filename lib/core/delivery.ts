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
import { ErrorCode, type Sink } from "./events.ts";
import { ignores } from "./ignoring.ts";
import type { Receipt } from "./posting.ts";
import { sendReplay } from "./replay.ts";
import type { Member } from "./room.ts";
import { TokenBucket } from "./token_bucket.ts";

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

/** Settings of {@link Delivery}. */
export interface DeliveryOptions {
  /** The stream the ids belong to. */
  stream: string;
  /** The clock, in ms since the epoch. */
  now: () => number;
}

/** Windows, replays, acknowledgements and client ids. */
export class Delivery {
  /** The sequence the ids belong to: said in `welcome`, named by `hello`'s `since`. */
  readonly stream: string;
  #now: () => number;
  #cids: ClientIds;
  #ackBuckets = new WeakMap<Member, TokenBucket>();

  /** Delivery on `options.stream`. */
  constructor(options: DeliveryOptions) {
    this.stream = options.stream;
    this.#now = options.now;
    this.#cids = new ClientIds(options.now);
  }

  /**
   * The sink a member registering with `request` is given: `sink` itself,
   * or for a client that acknowledges, one that keeps a window of what it is
   * handed after `last` (the newest id so far).
   */
  sinkFor(sink: Sink, request: DeliveryRequest, last: number): Sink {
    return request.acks === true ? new WindowedSink(sink, new DeliveryWindow(last)) : sink;
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
    if (since === undefined) return;
    if (old?.covers(since)) {
      sendReplay(member.sink, this.#shown(member, old.after(since)), {
        rooms: [],
        privates: false,
      });
    } else {
      this.#fromHistory(member, since);
    }
    // What the client says it was shown needs no acknowledging again.
    this.windowOf(member)?.ack(since);
  }

  /**
   * A newcomer (not a resume) has been welcomed: with `since`, sends the
   * replay and returns true (instead of the joiner's history and `missed`).
   */
  joined(member: Member, request: DeliveryRequest): boolean {
    const since = this.#since(member, request);
    if (since === undefined) return false;
    this.#fromHistory(member, since);
    return true;
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
    this.windowOf(member)?.ack(id);
    return true;
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
          message: "Message not sent: the server could not save it",
          cid,
        },
      );
    };
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
    if (request.stream === this.stream) return request.since;
    sendReplay(member.sink, [], { rooms: roomNames(member), privates: true });
    return undefined;
  }

  /** Replays what the history holds after `since`; what it cannot reach is a gap. */
  #fromHistory(member: Member, _since: number): void {
    sendReplay(member.sink, [], { rooms: roomNames(member), privates: true });
  }

  /** Of `messages`, those `member` wants shown: none from a name they ignore. */
  #shown(member: Member, messages: Delivered[]): Delivered[] {
    if (member.ignoring === null) return messages;
    return messages.filter((message) => !ignores(member, message.from));
  }
}

/** The rooms `member` is in, current first. */
function roomNames(member: Member): string[] {
  const current = member.room ? [member.room.name] : [];
  return [...current, ...[...member.rooms].filter((r) => r !== member.room).map((r) => r.name)];
}
