/**
 * The core's own cost per delivery with rooms (issue 13), without sockets:
 * 1,000 users in 150 rooms of 20 (each in 3), against one room of 20 and one
 * room of 1,000, every message encoded as JSON for each receiver as a
 * connection would (the bytes are cached per event). Prints one JSON line.
 *
 * ```sh
 * deno run -A bench/rooms_core.ts --messages 30000
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { ChatEvent } from "../lib/core/events.ts";
import { Hub } from "../lib/core/hub.ts";
import type { Member } from "../lib/core/room.ts";
import { encodeEvent } from "../lib/protocol/json.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { messages: { type: "string", default: "30000" } },
});
const messages = Number(values.messages);

let delivered = 0;
let bytes = 0;
const sink = {
  send(event: ChatEvent): void {
    delivered++;
    bytes += encodeEvent(event).length;
  },
};

/** A hub with `users` users; `rooms` rooms of `users * perUser / rooms` (0 rooms: #lobby only). */
function setUp(users: number, rooms: number, perUser: number) {
  const hub = new Hub({ flood: null, churn: null, maxUsers: users + 1 });
  const members: Member[] = [];
  for (let g = 0; g < users; g++) {
    const member = hub.register(`u${g}`, sink);
    for (let j = 0; j < perUser; j++) hub.join(member, `r${(g * perUser + j) % rooms}`);
    members.push(member);
  }
  return { hub, members };
}

/** Microseconds of CPU (wall, single-threaded) per delivery of `messages` messages. */
function measure(label: string, users: number, rooms: number, perUser: number) {
  const { hub, members } = setUp(users, rooms, perUser);
  const said = members.map((m) =>
    [...m.rooms].filter((r) => r.name !== "lobby").map((r) => r.name)
  );
  // Warm up, then measure.
  for (let i = 0; i < 1000; i++) {
    const k = i % members.length;
    hub.say(members[k], "warm", rooms > 0 ? said[k][i % said[k].length] : undefined);
  }
  delivered = 0;
  bytes = 0;
  const start = performance.now();
  for (let i = 0; i < messages; i++) {
    const k = i % members.length;
    hub.say(members[k], `message ${i}`, rooms > 0 ? said[k][i % said[k].length] : undefined);
  }
  const ms = performance.now() - start;
  return {
    label,
    messages,
    deliveries: delivered,
    "us_per_delivery": Math.round(ms * 1000 / delivered * 1000) / 1000,
    "us_per_message": Math.round(ms * 1000 / messages * 100) / 100,
  };
}

console.log(JSON.stringify({
  bench: "rooms_core",
  runs: [
    measure("150 rooms of 20, each user in 3", 1000, 150, 3),
    measure("one room of 20", 20, 1, 1),
    measure("one room of 1000 (#lobby)", 1000, 0, 0),
  ],
  load: Deno.loadavg(),
}));
