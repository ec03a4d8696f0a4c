import assert from "node:assert/strict";
import { WaitingRoom } from "../lib/server/waiting_room.ts";

/** A stand-in for a connection: its name, and whether its peer has said anything. */
interface Peer {
  name: string;
  heard: boolean;
}

function peer(name: string, heard = false): Peer {
  return { name, heard };
}

Deno.test("WaitingRoom.evictFor() takes from the address holding the most, oldest silent first", () => {
  const room = new WaitingRoom<Peer>((p) => !p.heard);
  const [a1, a2, a3] = [peer("a1", true), peer("a2"), peer("a3")];
  room.add(a1, "A");
  room.add(a2, "A");
  room.add(peer("b1"), "B");
  room.add(a3, "A");
  assert.deepEqual(room.evictFor("C"), { entry: a2, address: "A", held: 3 });
  assert.deepEqual(room.evictFor("C"), { entry: a3, address: "A", held: 2 });
  // A (1) and B (1): a newcomer from either holds as many as any.
  assert.equal(room.evictFor("B"), null);
  assert.equal(room.evictFor("A"), null);
  assert.equal(room.size, 2);
});

Deno.test("WaitingRoom.evictFor() takes the oldest when none is silent", () => {
  const room = new WaitingRoom<Peer>((p) => !p.heard);
  const [a1, a2] = [peer("a1", true), peer("a2", true)];
  room.add(a1, "A");
  room.add(peer("b1"), "B");
  room.add(a2, "A");
  assert.deepEqual(room.evictFor("B"), { entry: a1, address: "A", held: 2 });
});

Deno.test("WaitingRoom: a newcomer from an address with no place always makes room", () => {
  const room = new WaitingRoom<Peer>(() => true);
  for (const address of ["A", "B", "C", "D"]) room.add(peer(address), address);
  assert.equal(room.evictFor("A"), null, "A holds as many as any");
  const evicted = room.evictFor("E");
  assert.ok(evicted && evicted.held === 1, "one place each: one of them gives way");
  assert.equal(room.held(evicted.address), 0);
});

Deno.test("WaitingRoom.replace() keeps the place's age and address; delete() frees it", () => {
  const room = new WaitingRoom<Peer>(() => true);
  const relay = peer("relay");
  const tls = peer("tls");
  room.add(relay, "A");
  room.add(peer("a2"), "A");
  room.replace(relay, tls);
  assert.equal(room.held("A"), 2);
  assert.equal(room.evictFor("B")?.entry, tls, "still the oldest");
  assert.equal(room.delete(tls), false);
  assert.equal(room.held("A"), 1);
  room.replace(peer("unknown"), peer("x"));
  assert.equal(room.size, 1, "replacing what is not in adds nothing");
});

Deno.test("WaitingRoom: what gives way is always from an address holding the most", () => {
  // Random comings and goings, checked against counting by hand.
  let seed = 7;
  const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const room = new WaitingRoom<Peer>((p) => !p.heard);
  const seats = new Map<Peer, string>();
  const held = (address: string) => [...seats.values()].filter((a) => a === address).length;
  for (let step = 0; step < 3000; step++) {
    const address = `10.0.0.${random(6)}`;
    const action = random(3);
    if (action === 0) {
      const p = peer(`p${step}`, random(2) === 0);
      room.add(p, address);
      seats.set(p, address);
    } else if (action === 1 && seats.size > 0) {
      const p = [...seats.keys()][random(seats.size)];
      assert.equal(room.delete(p), true);
      seats.delete(p);
    } else {
      const most = Math.max(0, ...[...seats.values()].map(held));
      const evicted = room.evictFor(address);
      if (held(address) >= most) {
        assert.equal(evicted, null, `step ${step}`);
      } else {
        assert.ok(evicted, `step ${step}`);
        assert.equal(held(evicted.address), most, `step ${step}`);
        assert.equal(evicted.held, most);
        assert.equal(seats.get(evicted.entry), evicted.address);
        seats.delete(evicted.entry);
      }
    }
    assert.equal(room.size, seats.size);
  }
});
