import assert from "node:assert/strict";
import { Hub } from "../lib/core/hub.ts";
import { refusal } from "./_helpers.ts";
import { Inbox } from "./_inbox.ts";
import { WELCOME_NAMES } from "../lib/core/events.ts";
import type { Member } from "../lib/core/room.ts";

const T0 = Date.UTC(2026, 10, 25, 12, 3);

function setUp(options: { maxUsers?: number; motd?: string } = {}) {
  const log: string[] = [];
  const hub = new Hub({ ...options, now: () => T0, log: (line) => log.push(line) });
  const users = new Map<string, { member: Member; inbox: Inbox }>();
  const join = (name: string) => {
    const inbox = new Inbox();
    const member = hub.register(name, inbox, { peer: "127.0.0.1:1" });
    users.set(name, { member, inbox });
    return { member, inbox };
  };
  return { hub, log, join, users };
}

Deno.test("register() welcomes the user and tells the others, with the count", () => {
  const { join } = setUp({ motd: "Be kind" });
  const alice = join("Alice");
  const bob = join("Bob");
  assert.deepEqual(alice.inbox.of("welcome")[0].users, ["Alice"]);
  assert.deepEqual(bob.inbox.of("welcome")[0].motd, "Be kind");
  assert.deepEqual(bob.inbox.of("welcome")[0].users, ["Alice", "Bob"]);
  assert.deepEqual(alice.inbox.of("join"), [
    { type: "join", time: T0, room: "lobby", name: "Bob", count: 2 },
  ]);
  assert.deepEqual(bob.inbox.of("join"), [], "a newcomer is not told of their own join");
});

Deno.test("names are unique regardless of case and full-width forms", () => {
  const { hub, join } = setUp();
  join("Alice");
  for (const taken of ["alice", "ALICE", "ａｌｉｃｅ"]) {
    const error = refusal(() => hub.register(taken, new Inbox()));
    assert.deepEqual(error.code, "name_taken");
  }
  assert.deepEqual(hub.userCount, 1);
});

Deno.test("names in any script are welcome; invalid ones are refused with a reason", () => {
  const { hub, join } = setUp();
  for (const name of ["小明", "Алиса", "Zoë", "mary-jane", "j.doe", "user_2"]) join(name);
  const cases: [string, RegExp][] = [
    ["", /empty/],
    ["two words", /spaces/],
    ["evil\x1b[31m", /control/],
    ["zero\u200bwidth", /invisible/],
    ["a".repeat(25), /at most 24/],
    ["-dash", /start with a letter/],
    ["at@sign", /only letters/],
    ["{json", /start with a letter/],
    ["Server", /reserved/],
  ];
  for (const [name, reason] of cases) {
    const error = refusal(() => hub.register(name, new Inbox()));
    assert.deepEqual(error.code, "name_invalid", name);
    assert(reason.test(error.message), `${JSON.stringify(name)}: ${error.message}`);
  }
});

Deno.test("a message reaches everyone in the room, the sender included, with id and time", () => {
  const { hub, join } = setUp();
  const alice = join("Alice");
  const bob = join("Bob");
  hub.handleLine(alice.member, "hi there");
  hub.handleLine(bob.member, "hello");
  const seen = (inbox: Inbox) => inbox.of("message").map((m) => [m.id, m.from, m.text, m.time]);
  assert.deepEqual(seen(alice.inbox), [[1, "Alice", "hi there", T0], [2, "Bob", "hello", T0]]);
  assert.deepEqual(seen(bob.inbox), seen(alice.inbox));
});

Deno.test("newcomers do not see earlier messages", () => {
  const { hub, join } = setUp();
  const alice = join("Alice");
  hub.handleLine(alice.member, "before Bob");
  const bob = join("Bob");
  assert.deepEqual(bob.inbox.of("message"), []);
});

Deno.test("/msg and @name deliver privately to the recipient and confirm to the sender", () => {
  const { hub, join } = setUp();
  const alice = join("Alice");
  const bob = join("Bob");
  const carol = join("Carol");
  hub.handleLine(alice.member, "/msg bob psst");
  hub.handleLine(alice.member, "@Bob  second one");
  const texts = (inbox: Inbox) => inbox.of("private").map((p) => `${p.from}>${p.to}:${p.text}`);
  assert.deepEqual(texts(bob.inbox), ["Alice>Bob:psst", "Alice>Bob:second one"]);
  assert.deepEqual(texts(alice.inbox), texts(bob.inbox));
  assert.deepEqual(carol.inbox.of("private"), []);
});

Deno.test("a private message to an unknown name is an error for the sender only", () => {
  const { hub, join } = setUp();
  const alice = join("Alice");
  const bob = join("Bob");
  bob.inbox.clear();
  hub.handleLine(alice.member, "/msg Zed hello?");
  assert.deepEqual(alice.inbox.last(), {
    type: "error",
    code: "no_such_user",
    message: "No user named Zed is here",
  });
  assert.deepEqual(bob.inbox.events, []);
});

Deno.test("/who lists the users in the order they joined", () => {
  const { hub, join } = setUp();
  const alice = join("Alice");
  join("小明");
  hub.handleLine(alice.member, "/who");
  assert.deepEqual(alice.inbox.last(), { type: "users", room: "lobby", names: ["Alice", "小明"] });
});

Deno.test("/nick renames, tells the room, and frees the old name", () => {
  const { hub, join } = setUp();
  const alice = join("Alice");
  const bob = join("Bob");
  hub.handleLine(alice.member, "/nick Alicia");
  assert.deepEqual(bob.inbox.last(), {
    type: "rename",
    time: T0,
    room: "lobby",
    from: "Alice",
    to: "Alicia",
  });
  join("alice");
  hub.handleLine(bob.member, "/nick ALICIA");
  assert.deepEqual(bob.inbox.last(), {
    type: "error",
    code: "name_taken",
    message: "The name ALICIA is taken",
  });
  hub.handleLine(alice.member, "/nick alicia");
  assert.deepEqual(
    alice.inbox.last()?.type,
    "rename",
    "changing only the case of your own name works",
  );
});

Deno.test("/me sends an action", () => {
  const { hub, join } = setUp();
  const alice = join("Alice");
  hub.handleLine(alice.member, "/me waves");
  assert.deepEqual(alice.inbox.of("message")[0].action, true);
  assert.deepEqual(alice.inbox.of("message")[0].text, "waves");
});

Deno.test("/quit and exit say goodbye to the user and tell the room, once", () => {
  const { hub, join } = setUp();
  const alice = join("Alice");
  const bob = join("Bob");
  const carol = join("Carol");
  hub.handleLine(alice.member, "/quit off to lunch");
  hub.handleLine(bob.member, "exit");
  hub.leave(alice.member, "disconnected");
  assert.deepEqual(alice.inbox.last(), { type: "bye", code: "quit", reason: "off to lunch" });
  assert.deepEqual(bob.inbox.last(), { type: "bye", code: "quit", reason: "quit" });
  assert.deepEqual(
    carol.inbox.of("leave").map((l) => [l.name, l.reason, l.count]),
    [["Alice", "off to lunch", 2], ["Bob", "quit", 1]],
  );
  assert.deepEqual(hub.userNames(), ["Carol"]);
});

Deno.test("a user beyond --max-users is refused and never appears to others", () => {
  const { hub, join } = setUp({ maxUsers: 2 });
  const alice = join("Alice");
  join("Bob");
  assert(hub.isFull());
  const error = refusal(() => hub.register("Carol", new Inbox()));
  assert.deepEqual(error.code, "room_full");
  assert.deepEqual(alice.inbox.of("join").map((j) => j.name), ["Bob"]);
});

Deno.test("escape sequences and control characters never reach other users", () => {
  const { hub, join } = setUp();
  const alice = join("Alice");
  const bob = join("Bob");
  hub.handleLine(alice.member, "\x1b]0;pwned\x07\x1b[2J\x1b[31mred\x1b[0m \u202eevil\x07 \x9b31mx");
  assert.deepEqual(bob.inbox.of("message")[0].text, "red evil x");
});

Deno.test("empty messages are not sent; the sender gets a hint", () => {
  const { hub, join } = setUp();
  const alice = join("Alice");
  const bob = join("Bob");
  bob.inbox.clear();
  const answers = ["", "   ", "\x1b[0m"].map((text) => {
    hub.handleLine(alice.member, text);
    return alice.inbox.last();
  });
  const hint = {
    type: "error",
    code: "empty_message",
    message: "Empty message not sent; type some text first",
  };
  assert.deepEqual(answers, [hint, hint, hint]);
  assert.deepEqual(bob.inbox.events, []);
});

Deno.test("messages over the length limit are refused, not cut", () => {
  const { hub, join } = setUp();
  const alice = join("Alice");
  hub.handleLine(alice.member, "字".repeat(2001));
  assert.deepEqual(alice.inbox.last(), {
    type: "error",
    code: "message_too_long",
    message: "Message not sent: 2001 characters, the limit is 2000",
  });
  assert.deepEqual(alice.inbox.of("message"), []);
  hub.handleLine(alice.member, "字".repeat(2000));
  assert.deepEqual(alice.inbox.of("message").length, 1);
});

Deno.test("unknown commands get a suggestion", () => {
  const { hub, join } = setUp();
  const alice = join("Alice");
  hub.handleLine(alice.member, "/nikc Al");
  assert.deepEqual(alice.inbox.last(), {
    type: "error",
    code: "unknown_command",
    message: "Unknown command /nikc; did you mean /nick?",
  });
  hub.handleLine(alice.member, "/msg Bob");
  assert.deepEqual(alice.inbox.last(), {
    type: "error",
    code: "bad_arguments",
    message: "Usage: /msg NAME TEXT",
  });
});

Deno.test("/help lists every command", () => {
  const { hub, join } = setUp();
  const alice = join("Alice");
  hub.handleLine(alice.member, "/help");
  const help = alice.inbox.last();
  assert.ok(help?.type === "info");
  for (const command of ["/msg", "/who", "/nick", "/me", "/help", "/quit", "@NAME", "exit"]) {
    assert(help.text.includes(command), command);
  }
});

Deno.test("announce() reaches every user as a notice", () => {
  const { hub, join } = setUp();
  const alice = join("Alice");
  hub.announce("Class ends in 5 minutes");
  assert.deepEqual(alice.inbox.last(), {
    type: "notice",
    time: T0,
    text: "Class ends in 5 minutes",
  });
});

Deno.test("closeAll() says goodbye to everyone and empties the hub", () => {
  const { hub, join } = setUp();
  const alice = join("Alice");
  hub.closeAll("shutdown", "The server is shutting down");
  assert.deepEqual(alice.inbox.last(), {
    type: "bye",
    code: "shutdown",
    reason: "The server is shutting down",
  });
  assert.deepEqual(hub.userCount, 0);
  hub.handleLine(alice.member, "still here?");
  assert.deepEqual(alice.inbox.last(), {
    type: "error",
    code: "not_registered",
    message: "You are not in a room",
  });
});

Deno.test("the operator's log has joins, leaves, messages, but not private text", () => {
  const { hub, log, join } = setUp();
  const alice = join("Alice");
  join("Bob");
  hub.handleLine(alice.member, "hello all");
  hub.handleLine(alice.member, "@Bob secret plan");
  hub.leave(alice.member, "disconnected");
  assert.deepEqual(log, [
    "join Alice from 127.0.0.1:1 (1 user)",
    "join Bob from 127.0.0.1:1 (2 users)",
    "<Alice> hello all",
    "private Alice -> Bob (11 chars)",
    "leave Alice (disconnected) (1 user)",
  ]);
});

Deno.test("flood control refuses messages past the burst and lets them through again later", () => {
  let now = T0;
  const hub = new Hub({ now: () => now, flood: { burst: 3, rate: 1, kickAfter: 100 } });
  const alice = new Inbox();
  const bob = new Inbox();
  const member = hub.register("Alice", alice);
  hub.register("Bob", bob);
  for (let i = 1; i <= 5; i++) hub.handleLine(member, `message ${i}`);
  assert.deepEqual(bob.of("message").map((m) => m.text), ["message 1", "message 2", "message 3"]);
  assert.deepEqual(alice.of("error").map((e) => e.code), ["flood", "flood"]);
  assert.match(alice.of("error")[0].message, /^Slow down: at most 1 message per second/);
  now += 1000;
  hub.say(member, "a second later");
  assert.equal(bob.of("message").at(-1)?.text, "a second later");
});

Deno.test("a flood refusal says in how many ms the next one would be accepted", () => {
  let now = T0;
  const hub = new Hub({ now: () => now, flood: { burst: 2, rate: 4, kickAfter: 100 } });
  const alice = new Inbox();
  const member = hub.register("Alice", alice);
  for (let i = 1; i <= 3; i++) hub.handleLine(member, `message ${i}`);
  now += 100;
  hub.handleLine(member, "message 4");
  // A token every 250 ms: the first refusal waits for it all, the second 100 ms less.
  assert.deepEqual(alice.of("error").map((e) => [e.code, e.wait]), [["flood", 250], [
    "flood",
    150,
  ]]);
  now += 150;
  hub.handleLine(member, "message 4 again");
  assert.equal(alice.of("message").at(-1)?.text, "message 4 again");
});

Deno.test("a user who keeps flooding is disconnected, and the room is told", () => {
  const hub = new Hub({ now: () => T0, flood: { burst: 2, rate: 1, kickAfter: 3 } });
  const alice = new Inbox();
  const bob = new Inbox();
  const member = hub.register("Alice", alice);
  hub.register("Bob", bob);
  for (let i = 0; i < 10; i++) hub.handleLine(member, "spam");
  assert.equal(bob.of("message").length, 2);
  assert.deepEqual(alice.last(), {
    type: "bye",
    code: "flood",
    reason: "Disconnected for flooding",
  });
  assert.deepEqual(bob.of("leave").map((l) => l.reason), ["disconnected for flooding"]);
  assert.deepEqual(hub.userNames(), ["Bob"]);
});

Deno.test("an address that keeps rejoining is no longer announced", () => {
  let now = T0;
  const hub = new Hub({ now: () => now, churn: { burst: 2, rate: 0.1 } });
  const watcher = new Inbox();
  hub.register("Watcher", watcher, { peer: "10.0.0.9:1", address: "10.0.0.9" });
  for (let i = 0; i < 5; i++) {
    const member = hub.register(`Churn${i}`, new Inbox(), {
      peer: "10.0.0.7:1",
      address: "10.0.0.7",
    });
    hub.leave(member, "bye");
  }
  assert.deepEqual(watcher.of("join").map((j) => j.name), ["Churn0", "Churn1"]);
  assert.deepEqual(watcher.of("leave").map((j) => j.name), ["Churn0", "Churn1"]);
  hub.register("Other", new Inbox(), { peer: "10.0.0.8:1", address: "10.0.0.8" });
  assert.equal(watcher.of("join").at(-1)?.name, "Other", "other addresses are unaffected");
  now += 10_000;
  hub.register("Back", new Inbox(), { peer: "10.0.0.7:1", address: "10.0.0.7" });
  assert.equal(watcher.of("join").at(-1)?.name, "Back", "announced again once it calmed down");
});

Deno.test("a resume token takes a name back silently; a wrong one does not", () => {
  let tokens = 0;
  const hub = new Hub({ now: () => T0, token: () => `token-${++tokens}` });
  const old = new Inbox();
  const bob = new Inbox();
  const lost = hub.register("Alice", old);
  hub.register("Bob", bob);
  const token = old.of("welcome")[0].resume;
  assert.equal(token, "token-1");
  bob.clear();
  assert.equal(
    refusal(() => hub.register("alice", new Inbox(), { resume: "guess" })).code,
    "name_taken",
  );

  const fresh = new Inbox();
  const member = hub.register("ALICE", fresh, { resume: token });
  assert.equal(member.name, "Alice", "the name keeps its spelling");
  assert.deepEqual(old.last(), {
    type: "bye",
    code: "replaced",
    reason: "Resumed on another connection",
  });
  assert.deepEqual(fresh.of("welcome")[0].users, ["Alice", "Bob"]);
  assert.notEqual(fresh.of("welcome")[0].resume, token, "each welcome has a new token");
  hub.leave(lost, "connection lost");
  assert.deepEqual(bob.events, [], "the room sees no leave and no join");
  hub.leave(member, "quit");
  assert.deepEqual(bob.of("leave").map((l) => l.name), ["Alice"]);
});

Deno.test("users behind one address share a flood allowance three times one user's", () => {
  const hub = new Hub({ now: () => T0, flood: { burst: 2, rate: 1, kickAfter: 100 } });
  const watcher = new Inbox();
  hub.register("Watcher", watcher, { address: "10.0.0.9" });
  const nat = ["A", "B", "C", "D"].map((name) => {
    const inbox = new Inbox();
    return { inbox, member: hub.register(name, inbox, { address: "10.0.0.7" }) };
  });
  for (const { member } of nat) for (let i = 0; i < 2; i++) hub.say(member, "hi");
  assert.equal(watcher.of("message").length, 6, "the address's burst is 3 × 2");
  assert.deepEqual(nat[3].inbox.of("error").map((e) => e.code), ["flood", "flood"]);
});

Deno.test("a welcome lists the first 100 names and counts everyone", () => {
  const { hub, join } = setUp({ maxUsers: 500 });
  for (let i = 0; i < 150; i++) join(`user${i}`);
  const { inbox } = join("Late");
  const welcome = inbox.of("welcome")[0];
  assert.equal(welcome.users.length, WELCOME_NAMES);
  assert.deepEqual(welcome.users.slice(0, 2), ["user0", "user1"], "in join order");
  assert.equal(welcome.count, 151);
  assert.equal(hub.userCount, 151);
});

Deno.test("with history on, a joiner is shown the last N messages, marked as history", () => {
  const hub = new Hub({ now: () => T0, history: 2 });
  const alice = new Inbox();
  const member = hub.register("Alice", alice);
  for (const text of ["one", "two", "three"]) hub.say(member, text);
  const bob = new Inbox();
  hub.register("Bob", bob);
  const history = bob.of("history");
  assert.equal(history.length, 1);
  assert.deepEqual(history[0].messages.map((m) => m.text), ["two", "three"]);
  assert.deepEqual(bob.events.map((e) => e.type), ["welcome", "history"]);
  assert.equal(bob.of("message").length, 0, "history is not replayed as new messages");
});

Deno.test("/history [N] shows more on demand, within limits, and only when history is on", () => {
  const hub = new Hub({ now: () => T0, history: 1 });
  const inbox = new Inbox();
  const member = hub.register("Alice", inbox);
  for (let i = 1; i <= 5; i++) hub.say(member, `m${i}`);
  hub.handleLine(member, "/history 3");
  assert.deepEqual(inbox.of("history").at(-1)?.messages.map((m) => m.text), ["m3", "m4", "m5"]);
  for (
    const bad of ["/history 0", "/history -1", "/history 1001", "/history lots", "/history 2.5"]
  ) {
    hub.handleLine(member, bad);
    assert.deepEqual(inbox.last(), {
      type: "error",
      code: "bad_arguments",
      message: "Usage: /history [N], N a whole number from 1 to 1000",
    }, bad);
  }
  const off = new Hub({ now: () => T0 });
  const other = new Inbox();
  const ann = off.register("Ann", other);
  off.say(ann, "hi");
  const newcomer = new Inbox();
  off.register("Bo", newcomer);
  assert.equal(newcomer.of("history").length, 0, "without --history newcomers see nothing earlier");
  off.handleLine(ann, "/history");
  assert.deepEqual(other.last(), {
    type: "error",
    code: "bad_arguments",
    message: "This server keeps no history",
  });
});
