/**
 * Replay pages: what a client missed, as `replay` frames. Oldest first, in
 * pages of at most MAX_HISTORY messages and MAX_FRAME_MESSAGE_BYTES of JSON,
 * `more` on all but the last; at most MAX_REPLAY in all, and MAX_REPLAY_BYTES
 * (the newest, the rooms cut short counted as gaps). The last page is always sent, empty or
 * not, and says what the replay could not reach.
 *
 * @module
 */

import type { Delivered } from "./delivery_window.ts";
import type { ReplayEvent, Sink } from "./events.ts";
import { jsonBytes, oldestThatFit } from "./frame_budget.ts";
import { MAX_HISTORY, MAX_REPLAY_BYTES } from "./limits.ts";

/** Most messages one replay carries; past it, the newest are sent and the rest is a gap. */
export const MAX_REPLAY = 10_000;

/** What a replay could not reach: rooms (without `#`), and whether private messages. */
export interface ReplayGaps {
  /** Rooms whose messages after `since` are not all in the replay. */
  rooms: Iterable<string>;
  /** Private messages after `since` may be missing. */
  privates: boolean;
}

/**
 * Sends `messages` (in id order, each once) as `replay` pages to `sink`,
 * the last one with `gaps`; returns the messages sent. At most `maxBytes`
 * of their JSON go: the pages are queued at once, and a connection's queue
 * (`--queue-limit`) that overflows drops it, so a replay bigger than that
 * would end in a reconnect, and the next one in another.
 */
export function sendReplay(
  sink: Sink,
  messages: Delivered[],
  gaps: ReplayGaps,
  maxBytes = MAX_REPLAY_BYTES,
): Delivered[] {
  const rooms = new Set(gaps.rooms);
  let privateGap = gaps.privates;
  // The newest MAX_REPLAY that fit in maxBytes; the older ones are gaps.
  // Each measured once: for the budget here, and for the pages below.
  let cut = Math.max(0, messages.length - MAX_REPLAY);
  const sizes = new Array<number>(messages.length);
  let bytes = 0;
  for (let i = messages.length - 1; i >= cut; i--) {
    bytes += sizes[i] = jsonBytes(messages[i]);
    if (bytes > maxBytes) {
      cut = i + 1;
      break;
    }
  }
  for (let i = 0; i < cut; i++) {
    const message = messages[i];
    if (message.type === "message") rooms.add(message.room);
    else privateGap = true;
  }
  const sent = cut > 0 ? messages.slice(cut) : messages;
  let start = 0;
  for (;;) {
    const from = start;
    const page = start < sent.length
      ? oldestThatFit(sent.slice(start, start + MAX_HISTORY), (_, i) => sizes[cut + from + i])
      : [];
    start += page.length;
    if (start < sent.length) {
      sink.send({ type: "replay", messages: page, more: true });
      continue;
    }
    const last: ReplayEvent = { type: "replay", messages: page };
    if (rooms.size > 0) last.gaps = [...rooms];
    if (privateGap) last.privateGap = true;
    sink.send(last);
    return sent;
  }
}
