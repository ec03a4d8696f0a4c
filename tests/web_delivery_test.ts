/**
 * The web page over a flaky link (issue 15), in a real browser: a proxy
 * between the browser and the web port (tests/_proxy.ts) stops passing
 * anything, a TCP user speaks and the person types a line meanwhile, then
 * the link drops. Once the page is back, it shows each line said meanwhile
 * once, and the line typed is posted once; the page's side of delivery is
 * also checked on its own (lib/web/page/delivery.js).
 */

import assert from "node:assert/strict";
import type { ChatServer } from "../lib/serve/chat_server.ts";
import { JsonClient, startServer, tempStore, within } from "./_helpers.ts";
import { joinPage, launchBrowser, openPage, say, waitForLine, waitForText } from "./_browser.ts";
import { FaultProxy, type Side } from "./_proxy.ts";
import type { Page } from "puppeteer-core";
import { Delivery, postingOf } from "../lib/web/page/delivery.js";
import { Rejoins } from "../lib/web/page/rejoins.js";

/** The lines of the conversation on screen, as text. */
function shownLines(page: Page): Promise<string[]> {
  return page.evaluate(
    `[...document.querySelectorAll(".log:not([hidden]) li")].map((li) => li.textContent)`,
  ) as Promise<string[]>;
}

/** How many of `lines` contain `text`. */
function count(lines: string[], text: string): number {
  return lines.filter((line) => line.includes(text)).length;
}

// Cut on the page's side only, the server keeps the dead connection and the
// page resumes it (the replay comes from what was handed to it); cut on both,
// the server lets the page go and it logs in again (the replay comes from
// the room's history).
for (const sides of [["client"], ["client", "server"]] as Side[][]) {
  Deno.test(`after the link drops (${sides.join(" and ")} side), the page shows what was said meanwhile once, and posts a line typed meanwhile once`, async () => {
    const server = startServer({ webPort: 0, history: 50 });
    const proxy = FaultProxy.start(server.webAddr!.port);
    const { browser, close } = await launchBrowser();
    const bob = await JsonClient.join(server, "Bob");
    try {
      const page = await joinPage(browser, `http://127.0.0.1:${proxy.port}/`, "小明");
      await bob.type("before the link drops");
      await waitForLine(page, "Bob: before the link drops");

      // Nothing passes any more, and neither end knows.
      proxy.freezeAll();
      const meanwhile = ["said meanwhile 1", "said meanwhile 2", "said meanwhile 3"];
      for (const text of meanwhile) await bob.type(text);
      await bob.next("message", (m) => m.text === meanwhile[2]);
      // Handed to the connection that dies: a resume gets it again (a new login keeps no
      // private messages without a store and an account).
      const resumed = sides.length === 1;
      if (resumed) await bob.send({ type: "msg", to: "小明", text: "whispered meanwhile" });
      await say(page, "typed meanwhile");
      await waitForLine(page, "typed meanwhile (sending…)");

      // The link drops: the page notices and comes back through the proxy.
      for (const link of proxy.connections) for (const side of sides) link.cut(side);
      await bob.next("message", (m) => m.from === "小明" && m.text === "typed meanwhile");
      for (const text of meanwhile) await waitForLine(page, `Bob: ${text}`);
      if (resumed) await waitForLine(page, "(private)Bob: whispered meanwhile");

      // Markers both ways: a line shown twice or posted twice would come before them.
      await say(page, "after the link is back");
      await bob.next("message", (m) => m.text === "after the link is back");
      await bob.type("marker from Bob");
      await waitForLine(page, "Bob: marker from Bob");
      await waitForLine(page, "小明: after the link is back");
      const lines = await shownLines(page);
      const once = ["before the link drops", ...meanwhile, "typed meanwhile"];
      for (const text of resumed ? [...once, "whispered meanwhile"] : once) {
        assert.equal(count(lines, text), 1, `${text} on the page:\n${lines.join("\n")}`);
      }
      assert.equal(count(lines, "(sending…)"), 0, lines.join("\n"));
      const typed = bob.events().filter((e) =>
        e.type === "message" && e.text === "typed meanwhile"
      );
      assert.equal(typed.length, 1);
    } finally {
      await close();
      await bob.close();
      await proxy.close();
      await server.shutdown();
    }
  });
}

Deno.test("when the server no longer keeps what came meanwhile, the page says so in the room", async () => {
  const server = startServer({ webPort: 0 });
  const proxy = FaultProxy.start(server.webAddr!.port);
  const { browser, close } = await launchBrowser();
  const bob = await JsonClient.join(server, "Bob");
  try {
    const page = await joinPage(browser, `http://127.0.0.1:${proxy.port}/`, "小明");
    proxy.freezeAll();
    await bob.type("said while away, kept nowhere");
    for (const link of proxy.connections) link.cut();
    await waitForLine(page, "some messages in #lobby from while you were away are no longer kept");
    await bob.type("said once back");
    await waitForLine(page, "Bob: said once back");
    assert.equal(count(await shownLines(page), "kept nowhere"), 0);
  } finally {
    await close();
    await bob.close();
    await proxy.close();
    await server.shutdown();
  }
});

Deno.test("a line typed while the server is away waits, marked as sending, and is posted once when the page is back", async () => {
  const data = await tempStore();
  let server = startServer({ webPort: 0, store: data.store });
  const ports = { port: server.addr.port, webPort: server.webAddr!.port };
  const { browser, close } = await launchBrowser();
  let bot: JsonClient | null = null;
  try {
    const page = await joinPage(browser, `http://127.0.0.1:${ports.webPort}/`, "小明");
    await say(page, "before the restart");
    await waitForLine(page, "小明: before the restart");
    await server.shutdown("Restarting");
    await waitForText(page, "status", "reconnecting in");
    await say(page, "typed while away");
    await waitForLine(page, "typed while away (sending…)");

    server = startServer({ ...ports, store: data.store });
    bot = await JsonClient.join(server, "bot");
    await page.waitForFunction(`document.querySelector(".log .pending") === null`);
    await say(page, "after it is back");
    await bot.next("message", (m) => m.text === "after it is back");
    await bot.send({ type: "history" });
    const said = (await bot.next("history")).messages.map((m) => m.text);
    assert.deepEqual(said, ["before the restart", "typed while away", "after it is back"]);
    await waitForLine(page, "小明: after it is back");
    const lines = await shownLines(page);
    for (const text of ["before the restart", "typed while away"]) {
      assert.equal(count(lines, text), 1, `${text} on the page:\n${lines.join("\n")}`);
    }
  } finally {
    await close();
    await bot?.close();
    await server.shutdown();
    await data.dispose();
  }
});

Deno.test("the page acknowledges what it showed, batched, up to the newest id", async () => {
  const server = startServer({ webPort: 0 });
  const { browser, close } = await launchBrowser();
  const bob = await JsonClient.join(server, "Bob");
  try {
    const page = await openPage(browser, `http://127.0.0.1:${server.webAddr!.port}/`);
    // What the page sends on its socket, as the browser's devtools see it.
    const frames: Record<string, unknown>[] = [];
    const changed = { wake: () => {} };
    const cdp = await page.createCDPSession();
    await cdp.send("Network.enable");
    cdp.on("Network.webSocketFrameSent", ({ response }) => {
      frames.push(JSON.parse(response.payloadData));
      changed.wake();
    });
    await page.locator("#name").fill("Ann");
    await page.click("#join");
    await page.waitForSelector("#chat-view:not([hidden])");
    assert.equal(frames.find((f) => f.type === "hello")?.acks, true);
    for (let i = 1; i <= 5; i++) await bob.type(`line ${i}`);
    const last = await bob.next("message", (m) => m.text === "line 5");
    await waitForLine(page, "Bob: line 5");
    await within(
      new Promise<void>((resolve) => {
        changed.wake = () => frames.some((f) => f.type === "ack" && f.id === last.id) && resolve();
        changed.wake();
      }),
      () =>
        `no ack of ${last.id}; the page sent:\n${frames.map((f) => JSON.stringify(f)).join("\n")}`,
    );
    const acks = frames.filter((f) => f.type === "ack");
    assert.ok(acks.length < 5, JSON.stringify(acks));
  } finally {
    await close();
    await bob.close();
    await server.shutdown();
  }
});

Deno.test("postingOf: the lines that post a message, as the server parses them", () => {
  const cases: [string, ReturnType<typeof postingOf>][] = [
    ["hello there ", { kind: "message", text: "hello there" }],
    ["//not a command", { kind: "message", text: "/not a command" }],
    ["/me waves", { kind: "action", text: "waves" }],
    ["/ME waves", { kind: "action", text: "waves" }],
    ["/msg 小明 a secret", { kind: "private", text: "a secret" }],
    ["@小明: hi", { kind: "private", text: "hi" }],
    ["/who", undefined],
    ["/join #team", undefined],
    ["exit", undefined],
  ];
  for (const [line, posting] of cases) assert.deepEqual(postingOf(line), posting, line);
});

Deno.test("Delivery: since and stream after the first welcome; a new stream starts again", () => {
  const delivery = new Delivery<string>();
  assert.deepEqual(delivery.hello(), { acks: true });
  assert.equal(delivery.welcomed("s1", 40), false);
  assert.equal(delivery.replaying, false);
  assert.ok(delivery.firstShown(41));
  assert.equal(delivery.firstShown(41), false);
  assert.equal(delivery.toAck(), 41);
  assert.equal(delivery.toAck(), undefined);
  assert.deepEqual(delivery.hello(), { acks: true, since: 41, stream: "s1" });
  assert.equal(delivery.welcomed("s1", 45), true);
  assert.equal(delivery.replaying, true);
  assert.equal(delivery.seen, 41);
  assert.equal(delivery.shown(41), true);
  // The server restarted without a store: its ids start again.
  delivery.hello();
  assert.equal(delivery.welcomed("s2", 3), false);
  assert.equal(delivery.seen, 3);
  assert.equal(delivery.shown(41), false);
});

Deno.test("Delivery: a pending line is sent once per connection, its echo is known by its text, sent settles it", () => {
  const delivery = new Delivery<string>();
  delivery.welcomed("s", 0);
  const first = delivery.add({ type: "input", text: "hi" }, postingOf("hi")!, "lobby", "item 1");
  delivery.add({ type: "input", text: "/me waves" }, postingOf("/me waves")!, "lobby", "item 2");
  assert.deepEqual(delivery.toSend().map((p) => p.frame.text), ["hi", "/me waves"]);
  assert.deepEqual(delivery.toSend(), []);
  assert.equal(typeof first.frame.cid, "string");
  // The connection is lost and comes back: both go again, with the same cids.
  delivery.hello();
  delivery.welcomed("s", 0);
  assert.deepEqual(delivery.toSend().map((p) => p.frame.cid), delivery.pending.map((p) => p.cid));
  assert.equal(delivery.echoOf("message", "hi", "team", 7), undefined);
  assert.equal(delivery.echoOf("message", "hi", "lobby", 7)?.item, "item 1");
  assert.equal(delivery.echoOf("message", "hi", "lobby", 8), undefined);
  assert.equal(delivery.settle(first.cid)?.shownAs, 7);
  assert.equal(delivery.settle(first.cid), undefined);
  assert.equal(delivery.pending.length, 1);
});

Deno.test("Delivery: a page open for long keeps the newest 20,000 ids shown", () => {
  const delivery = new Delivery<string>();
  delivery.welcomed("s", 0);
  for (let id = 1; id <= 20_001; id++) delivery.firstShown(id);
  assert.equal(delivery.shown(1), false);
  assert.equal(delivery.shown(2), true);
  assert.equal(delivery.firstShown(20_001), false);
  assert.equal(delivery.seen, 20_001);
});

Deno.test("Delivery: with a server that has no streams, ids shown stay shown and no replay is awaited", () => {
  const delivery = new Delivery<string>();
  delivery.welcomed(undefined, undefined);
  assert.ok(delivery.firstShown(5));
  assert.deepEqual(delivery.hello(), { acks: true });
  assert.equal(delivery.welcomed(undefined, undefined), false);
  assert.equal(delivery.replaying, false);
  assert.equal(delivery.firstShown(5), false);
});

/** The texts of the lines of `room`'s conversation, shown or not. */
function roomLines(page: Page, room: string): Promise<string[]> {
  return page.evaluate(
    `[...document.querySelectorAll('.log[aria-label="Conversation in #${room}"] li')]
      .map((li) => li.textContent)`,
  ) as Promise<string[]>;
}

/** Bob says each line in `room` and waits for his echo of each. */
async function bobSaysIn(bob: JsonClient, room: string, ...lines: string[]): Promise<void> {
  for (const text of lines) {
    await bob.send({ type: "say", text, room });
    await bob.next("message", (m) => m.text === text);
  }
}

/** Bob, on `server`, in #team too. */
async function bobInTeam(server: ChatServer): Promise<JsonClient> {
  const bob = await JsonClient.join(server, "Bob");
  await bob.send({ type: "join", room: "team" });
  await bob.next("current", (c) => c.room === "team");
  return bob;
}

// The page's attempts to come back are up to 10 s apart.
const BACK_WAIT_MS = 20_000;

Deno.test("after a restart, the room the page joins again shows what was said there meanwhile, even when the link drops before its replay came", async () => {
  const data = await tempStore();
  let server = startServer({ webPort: 0, store: data.store });
  const ports = { port: server.addr.port, webPort: server.webAddr!.port };
  const proxy = FaultProxy.start(ports.webPort);
  const { browser, close } = await launchBrowser();
  let bob: JsonClient | null = await bobInTeam(server);
  try {
    const page = await joinPage(browser, `http://127.0.0.1:${proxy.port}/`, "小明");
    await say(page, "/join #team");
    await waitForText(page, "room-title", "#team");
    await bobSaysIn(bob, "team", "before the restart");
    await waitForLine(page, "Bob: before the restart");

    // The server restarts (and forgets #team's members); the page cannot get back in
    // while Bob speaks in both rooms: in #team first, so that the lobby's line has the
    // higher id.
    proxy.refusing = true;
    await server.shutdown("Restarting");
    await bob.close();
    server = startServer({ ...ports, store: data.store });
    bob = await bobInTeam(server);
    await bobSaysIn(bob, "team", "meanwhile 1", "meanwhile 2");
    await bobSaysIn(bob, "lobby", "meanwhile in the lobby");

    // It comes back: the lobby's replay reaches it; the answer to its join of #team
    // (with that room's replay) is held, and the link dies.
    const frozen = proxy.freezeWhen("client", '"room":"team"', BACK_WAIT_MS);
    proxy.refusing = false;
    const link = await frozen;
    await page.waitForFunction(
      `[...document.querySelectorAll(".log li")].some((li) =>
        li.textContent.includes("Bob: meanwhile in the lobby"))`,
    );
    proxy.refusing = true;
    link.cut();
    await bob.next("leave", (e) => e.name === "小明");
    proxy.refusing = false;

    await bob.next("join", (e) => e.name === "小明" && e.room === "team");
    await bobSaysIn(bob, "team", "after it");
    await waitForLine(page, "Bob: after it");
    const lines = await roomLines(page, "team");
    const said = ["before the restart", "meanwhile 1", "meanwhile 2", "after it"];
    const at = said.map((text) => lines.findIndex((line) => line.includes(`Bob: ${text}`)));
    for (const text of said) {
      assert.equal(count(lines, `Bob: ${text}`), 1, `${text} once in #team:\n${lines.join("\n")}`);
    }
    assert.deepEqual([...at].sort((a, b) => a - b), at, `in order:\n${lines.join("\n")}`);
  } finally {
    await close();
    await bob?.close();
    await proxy.close();
    await server.shutdown();
    await data.dispose();
  }
});

Deno.test("Delivery: until rooms joined again answered, since and acks go no further than the hello's since", () => {
  const delivery = new Delivery<string>();
  delivery.welcomed("s", 5);
  delivery.firstShown(7);
  assert.deepEqual(delivery.hello(), { acks: true, since: 7, stream: "s" });
  delivery.welcomed("s", 9);
  const first = delivery.rejoining();
  assert.equal(first.since, 7);
  // The lobby's replay shows 9 before #team's answer: 9 says nothing of #team's 8.
  delivery.firstShown(9);
  assert.equal(delivery.toAck(), undefined);
  assert.deepEqual(delivery.hello(), { acks: true, since: 7, stream: "s" });
  // The link dropped; back again, #team is joined again with the same since.
  delivery.welcomed("s", 9);
  const second = delivery.rejoining();
  assert.equal(second.since, 7);
  assert.equal(delivery.rejoined(first.token), false, "an earlier connection's pong");
  assert.equal(delivery.toAck(), undefined);
  assert.equal(delivery.rejoined(second.token), true);
  assert.equal(delivery.toAck(), 9);
  assert.deepEqual(delivery.hello(), { acks: true, since: 9, stream: "s" });
});

Deno.test("Delivery: until the last page of the hello's replay, since and acks stay at the hello's", () => {
  const delivery = new Delivery<string>();
  delivery.welcomed("s", 5);
  delivery.firstShown(6);
  assert.deepEqual(delivery.hello(), { acks: true, since: 6, stream: "s" });
  delivery.welcomed("s", 60);
  // The newest pages that fit come first; the last one says what the replay left out.
  delivery.firstShown(50);
  delivery.firstShown(51);
  assert.equal(delivery.toAck(), undefined);
  assert.deepEqual(delivery.hello(), { acks: true, since: 6, stream: "s" });
  delivery.welcomed("s", 60);
  delivery.firstShown(52);
  assert.equal(delivery.replayEnded(), true);
  assert.equal(delivery.replayEnded(), false, "a later replay is a join's");
  assert.equal(delivery.toAck(), 52);
});

Deno.test("Delivery: private messages replayed at or below the last ack are acknowledged again, once", () => {
  const delivery = new Delivery<string>();
  delivery.welcomed("s", 5);
  delivery.firstShown(8);
  assert.equal(delivery.toAck(), 8);
  assert.deepEqual(delivery.hello(), { acks: true, since: 8, stream: "s" });
  delivery.welcomed("s", 8);
  // A login's replay brings the mail no ack covered yet (id 6, shown before the drop).
  delivery.privateShown(6);
  delivery.firstShown(6);
  assert.equal(delivery.replayEnded(), true);
  assert.equal(delivery.toAck(), 8, "the server still waits for an ack covering 6");
  assert.equal(delivery.toAck(), undefined);
  delivery.privateShown(9);
  delivery.firstShown(9);
  assert.equal(delivery.toAck(), 9);
});

/** The page's rooms in its list, each with its unread count ("" for none) and whether left. */
function listedRooms(page: Page): Promise<[string, string, boolean][]> {
  return page.evaluate(
    `[...document.querySelectorAll("#rooms li")].map((li) => [
      li.querySelector("button.room").textContent,
      li.querySelector(".unread")?.textContent ?? "",
      li.classList.contains("left"),
    ])`,
  ) as Promise<[string, string, boolean][]>;
}

Deno.test("after a restart, the page in 20 rooms gets each back with its missed line once, past flood refusals, and says in one line which it could not, the room on screen too", async () => {
  const rooms = Array.from({ length: 18 }, (_, i) => `r${i + 1}`);
  const data = await tempStore();
  let server = startServer({ webPort: 0, store: data.store, flood: null });
  const ports = { port: server.addr.port, webPort: server.webAddr!.port };
  const proxy = FaultProxy.start(ports.webPort);
  const { browser, close } = await launchBrowser();
  const bots: JsonClient[] = [];
  const bob = await JsonClient.join(server, "Bob");
  try {
    // Bob makes the rooms, #secret private: the page gets in by his invitation only.
    for (const room of ["secret", ...rooms]) {
      await bob.send({ type: "join", room });
      await bob.next("current", (c) => c.room === room);
    }
    await bob.send({ type: "private", room: "secret" });
    await bob.next("mode");
    const page = await joinPage(browser, `http://127.0.0.1:${proxy.port}/`, "小明");
    await bob.send({ type: "invite", room: "secret", name: "小明" });
    await waitForLine(page, "invites you to #secret");
    // #secret last: on screen when the server restarts.
    for (const room of [...rooms, "secret"]) {
      await say(page, `/join #${room}`);
      await waitForText(page, "room-title", `#${room}`);
    }

    // Its link goes; what is said meanwhile is kept, and the server restarts.
    proxy.refusing = true;
    for (const link of proxy.connections) link.cut();
    await bob.next("leave", (e) => e.name === "小明");
    for (const room of ["lobby", ...rooms]) await bobSaysIn(bob, room, `missed in ${room}`);
    await bob.close();
    await server.shutdown("Restarting");
    server = startServer({
      ...ports,
      store: data.store,
      // (Refilled fast enough for the /whois below, sent as the last join is answered.)
      flood: { burst: 10, rate: 50, kickAfter: 50 },
    });
    // A class behind its address logs in first: the page's is its 21st login, so its joins
    // are counted, and past the burst of 10, refused for a moment.
    for (let i = 0; i < 20; i++) bots.push(await JsonClient.join(server, `pupil${i}`));
    proxy.refusing = false;

    await page.waitForFunction(
      `[...document.querySelectorAll("#rooms li .unread")].length === ${rooms.length + 1}`,
      { timeout: BACK_WAIT_MS },
    );
    await waitForLine(page, "could not join it again");
    // Every room is back with its missed line counted once; #secret stays on screen, marked as
    // left, and one line says why.
    assert.deepEqual(await listedRooms(page), [
      ["#lobby", "1", false],
      ...rooms.map((room) => [`#${room}`, "1", false]),
      ["#secret", "", true],
    ]);
    // The page's whois, answered after whatever it sent before: #secret was not asked for again.
    await say(page, "/whois 小明");
    await waitForLine(page, "小明: here");
    const lines = await roomLines(page, "secret");
    // (After the line's time.)
    const secret = lines.filter((line) => line.includes("could not join"));
    assert.deepEqual(secret.map((line) => line.slice(line.indexOf("#secret"))), [
      "#secret: could not join it again: #secret is private: an operator of it must /invite you",
    ], lines.join("\n"));
    assert.equal(count(lines, "Slow down"), 0, lines.join("\n"));
    assert.equal(count(lines, "is private"), 1, lines.join("\n"));
    await waitForText(page, "room-title", "#secret");
    for (const room of rooms) {
      assert.equal(count(await roomLines(page, room), `Bob: missed in ${room}`), 1, room);
    }
  } finally {
    await close();
    for (const bot of [bob, ...bots]) await bot.close();
    await proxy.close();
    await server.shutdown();
    await data.dispose();
  }
});

/** Clicks `room` in the page's list of rooms: it is shown. */
async function showListed(page: Page, room: string): Promise<void> {
  await page.evaluate(
    `[...document.querySelectorAll("#rooms li button.room")]
      .find((button) => button.textContent === ${JSON.stringify(`#${room}`)}).click()`,
  );
  await waitForText(page, "room-title", `#${room}`);
}

Deno.test("after a restart whose rooms are refused for a minute (too_many_rooms), the page posts a line typed in #lobby at once, and a /part of a room not back yet is done", async () => {
  let server = startServer({ webPort: 0 });
  const ports = { port: server.addr.port, webPort: server.webAddr!.port };
  const proxy = FaultProxy.start(ports.webPort);
  const { browser, close } = await launchBrowser();
  const bots: JsonClient[] = [];
  try {
    const page = await joinPage(browser, `http://127.0.0.1:${proxy.port}/`, "Ann");
    for (const room of ["r1", "r2"]) {
      await say(page, `/join #${room}`);
      await waitForText(page, "room-title", `#${room}`);
    }
    // #lobby on screen: it is joined again last, to be current (answered with `current` alone).
    await showListed(page, "lobby");
    proxy.refusing = true;
    for (const link of proxy.connections) link.cut();
    await server.shutdown("Restarting");
    server = startServer({ ...ports });
    // Others behind its address made 20 rooms first: the page's, made anew, wait a minute each.
    for (const maker of [0, 1]) {
      const bot = await JsonClient.join(server, `maker${maker}`);
      bots.push(bot);
      for (let i = 0; i < 10; i++) {
        const room = `x${maker}_${i}`;
        await bot.send({ type: "join", room });
        await bot.next("current", (e) => e.room === room);
      }
    }
    const watcher = await JsonClient.join(server, "watcher");
    bots.push(watcher);
    proxy.refusing = false;
    await waitForLine(page, "Reconnected.");

    await say(page, "typed in lobby");
    const said = await watcher.waitFor((e) => e.type === "message" && e.from === "Ann");
    assert.deepEqual(said.type === "message" && [said.room, said.text], [
      "lobby",
      "typed in lobby",
    ]);
    await say(page, "/part #r1");
    await waitForLine(page, "You left #r1.");
    assert.deepEqual(await listedRooms(page), [["#lobby", "", false], ["#r2", "", false]]);
    const lines = await shownLines(page);
    assert.deepEqual(lines.filter((line) => line.includes("#r1")).length, 1, lines.join("\n"));
  } finally {
    await close();
    for (const bot of bots) await bot.close();
    await proxy.close();
    await server.shutdown();
  }
});

/**
 * The page, in #r1-#r8 (#r8 on screen), back after a restart whose flood control
 * (a burst of 5, then one every 5 s) refuses most of its joins for a moment: `fn` gets
 * it, with pupil0 in #r8 and pupil1, while those joins are still being retried.
 */
async function backFlooded(
  fn: (page: Page, pupils: JsonClient[]) => Promise<void>,
): Promise<void> {
  const rooms = Array.from({ length: 8 }, (_, i) => `r${i + 1}`);
  let server = startServer({ webPort: 0, flood: null });
  const ports = { port: server.addr.port, webPort: server.webAddr!.port };
  const proxy = FaultProxy.start(ports.webPort);
  const { browser, close } = await launchBrowser();
  const pupils: JsonClient[] = [];
  try {
    const page = await joinPage(browser, `http://127.0.0.1:${proxy.port}/`, "Ann");
    for (const room of rooms) {
      await say(page, `/join #${room}`);
      await waitForText(page, "room-title", `#${room}`);
    }
    proxy.refusing = true;
    for (const link of proxy.connections) link.cut();
    await server.shutdown("Restarting");
    server = startServer({ ...ports, flood: { burst: 5, rate: 0.2, kickAfter: 50 } });
    // The page's is the 21st login behind its address: its joins are counted.
    for (let i = 0; i < 20; i++) pupils.push(await JsonClient.join(server, `pupil${i}`));
    await pupils[0].send({ type: "join", room: "r8" });
    await pupils[0].next("current", (e) => e.room === "r8");
    proxy.refusing = false;
    await waitForLine(page, "Reconnected.");
    await fn(page, pupils);
  } finally {
    await close();
    for (const pupil of pupils) await pupil.close();
    await proxy.close();
    await server.shutdown();
  }
}

Deno.test("after a restart, a /join of a room still being joined again (flood refusals) gets it back, and the line typed there waiting for it is posted", async () => {
  await backFlooded(async (page, pupils) => {
    await say(page, "typed in r8");
    await say(page, "/join #r8");
    // (Her join of #r8 is not announced: too many joins came from her address.)
    const said = await pupils[0].waitFor(
      (e) => e.type === "message" && e.from === "Ann",
      60_000,
    );
    assert.deepEqual(said.type === "message" && [said.room, said.text], ["r8", "typed in r8"]);
    await waitForText(page, "room-title", "#r8");
    await page.waitForFunction(`!document.querySelector(".log li.pending")`, { timeout: 30_000 });
    const lines = await roomLines(page, "r8");
    assert.equal(count(lines, "not sent"), 0, lines.join("\n"));
    assert.equal(count(lines, "You are not in"), 0, lines.join("\n"));
  });
});

Deno.test("after a restart, lines typed while rooms are joined again, refused for flooding and sent again, are each posted once with no error line", async () => {
  await backFlooded(async (page, pupils) => {
    await showListed(page, "lobby");
    const texts = ["one in lobby", "two in lobby", "three in lobby"];
    for (const text of texts) await say(page, text);
    for (const text of texts) {
      await pupils[1].waitFor((e) => e.type === "message" && e.text === text, 60_000);
    }
    await page.waitForFunction(`!document.querySelector(".log li.pending")`, { timeout: 30_000 });
    const lines = await roomLines(page, "lobby");
    for (const text of texts) assert.equal(count(lines, `Ann: ${text}`), 1, lines.join("\n"));
    assert.equal(count(lines, "Slow down"), 0, lines.join("\n"));
  });
});

Deno.test("Rejoins: a room refused for good is not asked for again, one refused again late leaves no quiet current, and one parted is asked for no more", () => {
  const rejoins = new Rejoins();
  assert.deepEqual(rejoins.start(["b", "d"]), ["b", "d"]);
  assert.equal(rejoins.refused("b", 200), "again");
  // The room on screen, private now: said once.
  assert.equal(rejoins.refused("d", undefined), "refused");
  assert.equal(rejoins.waiting("d"), false);
  assert.equal(rejoins.next(), 200);
  assert.equal(rejoins.take(), "b");
  assert.equal(rejoins.refused("b", 300), "again");
  // Refused again: no `current` of it comes, and a later one (the person's join) is followed.
  assert.equal(rejoins.quietCurrent("b"), false);
  assert.equal(rejoins.next(), 300);
  assert.equal(rejoins.take(), "b");
  rejoins.entered("b");
  assert.equal(rejoins.quietCurrent("b"), true);
  assert.equal(rejoins.next(), undefined);
  assert.equal(rejoins.waiting("b"), false);

  rejoins.start(["x", "y"]);
  assert.equal(rejoins.refused("x", 100), "again");
  rejoins.entered("y");
  assert.equal(rejoins.waiting("x"), true);
  rejoins.forget("x");
  assert.equal(rejoins.waiting("x"), false);
  assert.equal(rejoins.next(), undefined);
  // Parted while its wait ran: nothing is left to ask for.
  rejoins.start(["z"]);
  assert.equal(rejoins.refused("z", 100), "again");
  assert.equal(rejoins.next(), 100);
  rejoins.forget("z");
  assert.equal(rejoins.take(), undefined);
});
