/**
 * The web page in a real browser (chromium, headless): browser users talk
 * with terminal, nc and bot users; what others send is only ever text; Leave
 * asks first; a restarted server is rejoined; a phone shows it without
 * sideways scrolling; the page asks nothing of other sites, and another
 * site's page cannot use its socket.
 */

import assert from "node:assert/strict";
import {
  JsonClient,
  LineClient,
  startServer,
  streamReader,
  tempStore,
  WAIT_MS,
} from "./_helpers.ts";
import {
  ARTIFACTS,
  joinPage,
  launchBrowser,
  openPage,
  say,
  waitForLine,
  waitForText,
} from "./_browser.ts";
import { spawnChat } from "./_chat_command.ts";
import { readLines } from "../lib/io/line_reader.ts";
import type { ChatServer } from "../lib/serve/chat_server.ts";
import type { Page } from "puppeteer-core";
import { makeCertificate } from "../lib/auth/certs.ts";

function pageUrl(server: ChatServer): string {
  return `http://127.0.0.1:${server.webAddr!.port}/`;
}

Deno.test("two browser users, a chat join user and an nc user talk to each other", async () => {
  const server = startServer({ webPort: 0 });
  const { browser, close } = await launchBrowser();
  const join = spawnChat(["join", `127.0.0.1:${server.addr.port}`, "--name", "Carol"]);
  const joinIn = join.stdin.getWriter();
  const joinStdout = streamReader(join.stdout);
  const joinOut = readLines(joinStdout);
  const nc = await LineClient.connect(server);
  try {
    const ming = await joinPage(browser, pageUrl(server), "小明");
    const hua = await joinPage(browser, pageUrl(server), "李华");
    await nc.waitFor("Welcome to chat!");
    await nc.write("Dave\r\n");
    await waitForLine(hua, "Dave joined");
    await waitForText(hua, "users", "Carol");

    await say(ming, "大家好 from the browser");
    await waitForLine(hua, "小明: 大家好 from the browser");
    await nc.waitFor("小明: 大家好 from the browser");
    const carolSaw = async () => {
      for await (const read of joinOut) {
        if (read.kind === "line" && read.text.includes("大家好")) return read.text;
      }
      return "";
    };
    assert.match(await carolSaw(), /小明: 大家好 from the browser/);
    // Your own messages look different from others'.
    assert.ok(await ming.$eval(".log .own", (li) => li.textContent?.includes("大家好")));

    await nc.write("hi from nc\r\n");
    await waitForLine(ming, "Dave: hi from nc");
    await joinIn.write(new TextEncoder().encode("hi from chat join\n"));
    await waitForLine(hua, "Carol: hi from chat join");
    await say(hua, "/msg 小明 a secret");
    const secret = await waitForLine(ming, "a secret");
    assert.match(secret, /\(private\)李华: a secret/);
  } finally {
    await joinIn.close().catch(() => {});
    await joinStdout.cancel();
    await join.stderr.cancel();
    await join.status;
    await nc.close();
    await close();
    await server.shutdown();
  }
});

Deno.test("markup and javascript: links from others arrive as text", async () => {
  const server = startServer({ webPort: 0 });
  const { browser, close } = await launchBrowser();
  const bot = await JsonClient.join(server, "bot");
  try {
    const page = await joinPage(browser, pageUrl(server), "Ann");
    const dialogs: string[] = [];
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await bot.type("<img src=x onerror=alert(1)>");
    await bot.type('click javascript:alert(2) or <a href="javascript:alert(3)">me</a>');
    await bot.type("see https://example.com/a?b=1, then");
    await waitForLine(page, "<img src=x onerror=alert(1)>");
    await waitForLine(page, '<a href="javascript:alert(3)">me</a>');
    await waitForLine(page, "see https://example.com/a?b=1, then");
    const links = await page.$$eval(".log a", (as) =>
      as.map((a) => ({
        href: a.getAttribute("href"),
        rel: a.getAttribute("rel"),
        target: a.getAttribute("target"),
        text: a.textContent,
      })));
    assert.deepEqual(links, [{
      href: "https://example.com/a?b=1",
      rel: "noopener noreferrer",
      target: "_blank",
      text: "https://example.com/a?b=1",
    }]);
    assert.equal(await page.$$eval(".log img", (images) => images.length), 0);
    assert.deepEqual(dialogs, []);
  } finally {
    await close();
    await bot.close();
    await server.shutdown();
  }
});

Deno.test("Leave asks first: Stay keeps you in, Leave leaves", async () => {
  const server = startServer({ webPort: 0 });
  const { browser, close } = await launchBrowser();
  const bot = await JsonClient.join(server, "bot");
  try {
    const page = await joinPage(browser, pageUrl(server), "Ann");
    await bot.next("join", (j) => j.name === "Ann");
    // The tab's title says the room and who you are.
    assert.equal(await page.title(), "#lobby — Ann");
    await page.click("#leave");
    await page.waitForSelector("#leave-dialog[open]");
    await page.click("#leave-cancel");
    await page.waitForSelector("#leave-dialog:not([open])");
    await say(page, "still here");
    // Had Stay left, the bot would see Ann leave before this.
    await bot.next("message", (m) => m.from === "Ann" && m.text === "still here");
    await page.click("#leave");
    await page.click("#leave-confirm");
    await bot.next("leave", (l) => l.name === "Ann");
    await page.waitForSelector("#left-view:not([hidden])");
    assert.equal(await page.$eval("#left-reason", (p) => p.textContent), "You left the chat.");
  } finally {
    await close();
    await bot.close();
    await server.shutdown();
  }
});

Deno.test("an empty message is not sent and says why; Up recalls what was sent", async () => {
  const server = startServer({ webPort: 0 });
  const { browser, close } = await launchBrowser();
  try {
    const page = await joinPage(browser, pageUrl(server), "Ann");
    await say(page, "   ");
    await waitForText(page, "input-error", "empty message is not sent");
    await say(page, "first");
    await waitForLine(page, "Ann: first");
    await page.keyboard.press("ArrowUp");
    assert.equal(
      await page.$eval("#input", (input) => (input as { value?: string }).value),
      "first",
    );
  } finally {
    await close();
    await server.shutdown();
  }
});

Deno.test("after a server restart the page comes back with the same name", async () => {
  let server = startServer({ webPort: 0 });
  const ports = { port: server.addr.port, webPort: server.webAddr!.port };
  const { browser, close } = await launchBrowser();
  let bot: JsonClient | null = null;
  try {
    const page = await joinPage(browser, pageUrl(server), "小明");
    await server.shutdown("Restarting");
    await waitForLine(page, "Restarting");
    await waitForText(page, "status", "reconnecting in");
    server = startServer(ports);
    bot = await JsonClient.join(server, "bot");
    await waitForLine(page, "Reconnected.");
    await say(page, "back again");
    await bot.next("message", (m) => m.from === "小明" && m.text === "back again");
  } finally {
    await close();
    await bot?.close();
    await server.shutdown();
  }
});

/** Asserts that every element shown ends within the screen (the closed people list is off to the side). */
async function assertFits(page: Page): Promise<void> {
  const overflow = await page.evaluate(`({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
    wide: [...document.querySelectorAll("body *")]
      .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
      .filter((e) => !e.closest("[hidden], dialog:not([open])"))
      .map((e) => e.tagName + "." + e.className),
  })`) as { scroll: number; client: number; wide: string[] };
  assert.ok(overflow.scroll <= overflow.client, JSON.stringify(overflow));
  assert.deepEqual(overflow.wide, []);
}

Deno.test("on a phone the page fits the screen: no sideways scrolling", async () => {
  const server = startServer({ webPort: 0 });
  const { browser, close } = await launchBrowser();
  const bot = await JsonClient.join(server, "Алиса");
  try {
    const page = await openPage(browser, pageUrl(server));
    await page.setViewport({ width: 375, height: 667, deviceScaleFactor: 2, isMobile: true });
    await page.locator("#name").fill("小明");
    await page.click("#join");
    await page.waitForSelector("#chat-view:not([hidden])");
    await bot.type(`a long word: ${"x".repeat(300)}`);
    await bot.type(`and a long address https://example.com/${"path/".repeat(40)}`);
    await bot.type("שלום לכולם, right to left");
    await bot.type("你好，小明！这是一条很长的中文消息，".repeat(6));
    await waitForLine(page, "right to left");
    await waitForLine(page, "这是一条很长的中文消息");
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: new URL("web-phone.png", ARTIFACTS).pathname });
    await assertFits(page);
    // A room with a long name and topic, and the list of rooms, fit too.
    const room = "长长的房间名字".repeat(4);
    await say(page, `/join #${room}`);
    await waitForText(page, "room-title", room);
    await say(page, `/topic ${"a long topic ".repeat(20)}`);
    await waitForText(page, "room-topic", "a long topic");
    await say(page, "/rooms");
    await waitForLine(page, `#${room} (1 user; you are in it)`);
    await page.screenshot({ path: new URL("web-phone-rooms.png", ARTIFACTS).pathname });
    await assertFits(page);
  } finally {
    await close();
    await bot.close();
    await server.shutdown();
  }
});

Deno.test("the page makes no request to another origin, and has a strict CSP", async () => {
  const server = startServer({ webPort: 0 });
  const { browser, close } = await launchBrowser();
  const bot = await JsonClient.join(server, "bot");
  try {
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    const requested: string[] = [];
    page.on("request", (request) => requested.push(request.url()));
    const response = await page.goto(pageUrl(server));
    assert.match(response?.headers()["content-security-policy"] ?? "", /default-src 'none'/);
    await page.locator("#name").fill("Ann");
    await page.click("#join");
    await page.waitForSelector("#chat-view:not([hidden])");
    await bot.type("look https://example.com/picture.png");
    await waitForLine(page, "look https://example.com/picture.png");
    const origin = new URL(pageUrl(server)).origin;
    const foreign = requested.filter((url) => new URL(url).origin !== origin);
    assert.deepEqual(foreign, []);
    assert.ok(requested.some((url) => url.endsWith("/app.js")), requested.join("\n"));
  } finally {
    await close();
    await bot.close();
    await server.shutdown();
  }
});

Deno.test("another site's page cannot open the chat's WebSocket", async () => {
  const log: string[] = [];
  const server = startServer({ webPort: 0, log: (line) => log.push(line) });
  // Another site on this machine whose page tries to join the chat.
  const other = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () =>
      new Response("<!doctype html><title>other</title>", {
        headers: { "content-type": "text/html" },
      }),
  );
  const { browser, close } = await launchBrowser();
  try {
    const page = await openPage(browser, `http://127.0.0.1:${other.addr.port}/`);
    const outcome = await page.evaluate((url: string) =>
      new Promise<string>((resolve) => {
        const socket = new WebSocket(url);
        socket.onopen = () => resolve("opened");
        socket.onclose = () => resolve("refused");
      }), `ws://127.0.0.1:${server.webAddr!.port}/socket`);
    assert.equal(outcome, "refused");
    assert.ok(
      log.some((line) => line.includes(`another origin (http://127.0.0.1:${other.addr.port})`)),
      log.join("\n"),
    );
  } finally {
    await close();
    await other.shutdown();
    await server.shutdown();
  }
});

Deno.test("an account's name asks for its password; a wrong one is refused next to the field", async () => {
  const data = await tempStore({ 小明: "correct horse" });
  const server = startServer({ webPort: 0, store: data.store, auth: "names", history: 10 });
  const { browser, close } = await launchBrowser();
  const bot = await JsonClient.join(server, "bot");
  try {
    await bot.type("said before 小明 came");
    const page = await openPage(browser, pageUrl(server));
    await page.locator("#name").fill("小明");
    await page.click("#join");
    await page.waitForSelector("#password-row:not([hidden])");
    await waitForText(page, "login-error", "password");
    await page.locator("#password").fill("wrong horse");
    await page.click("#join");
    await waitForText(page, "login-error", "rong password");
    assert.ok(await page.$eval("#chat-view", (view) => view.hasAttribute("hidden")));
    await page.locator("#password").fill("correct horse");
    await page.click("#join");
    await page.waitForSelector("#chat-view:not([hidden])");
    // History is shown on joining when the server keeps it.
    await waitForLine(page, "bot: said before 小明 came");
    await bot.next("join", (j) => j.name === "小明");
  } finally {
    await close();
    await bot.close();
    await server.shutdown();
    await data.dispose();
  }
});

Deno.test("with a certificate the page is HTTPS and its socket WSS", async () => {
  const made = await makeCertificate({ names: ["localhost", "127.0.0.1"] });
  const server = startServer({ webPort: 0, tls: { cert: made.cert, key: made.key } });
  // The certificate is chat cert's own, which this fresh browser has never seen.
  const { browser, close } = await launchBrowser(["--ignore-certificate-errors"]);
  const bot = await JsonClient.join(server, "bot", { tls: { caCerts: [made.cert] } });
  try {
    const page = await joinPage(browser, `https://localhost:${server.webAddr!.port}/`, "Ann");
    await say(page, "over wss");
    await bot.next("message", (m) => m.from === "Ann" && m.text === "over wss");
    assert.equal(await page.evaluate("location.protocol"), "https:");
  } finally {
    await close();
    await bot.close();
    await server.shutdown();
  }
});

Deno.test("scrolled up, the page stays put and offers the new messages, which a click shows", async () => {
  const server = startServer({ webPort: 0, flood: null });
  const { browser, close } = await launchBrowser();
  const bot = await JsonClient.join(server, "bot");
  try {
    const page = await openPage(browser, pageUrl(server));
    await page.setViewport({ width: 600, height: 400 });
    await page.locator("#name").fill("Ann");
    await page.click("#join");
    await page.waitForSelector("#chat-view:not([hidden])");
    for (let i = 1; i <= 40; i++) await bot.type(`line ${i}`);
    await waitForLine(page, "bot: line 40");
    // Following the conversation: the newest line is in view.
    const atBottom = `(() => { const log = document.querySelector(".log:not([hidden])");
      return log.scrollHeight - log.scrollTop - log.clientHeight < 2; })()`;
    assert.equal(await page.evaluate(atBottom), true);
    await page.evaluate(`document.querySelector(".log:not([hidden])").scrollTop = 0`);
    for (let i = 41; i <= 43; i++) await bot.type(`line ${i}`);
    await waitForLine(page, "bot: line 43");
    await waitForText(page, "new-messages", "3 new messages");
    assert.equal(await page.evaluate(`document.querySelector(".log:not([hidden])").scrollTop`), 0);
    await page.click("#new-messages");
    assert.equal(await page.evaluate(atBottom), true);
    assert.ok(await page.$eval("#new-messages", (button) => button.hasAttribute("hidden")));
  } finally {
    await close();
    await bot.close();
    await server.shutdown();
  }
});

/** Clicks the room `name` (with its `#`) in the page's list of rooms. */
async function clickRoom(page: Page, name: string): Promise<void> {
  await page.evaluate(`[...document.querySelectorAll("#rooms button.room")]
    .find((b) => b.textContent === ${JSON.stringify(name)}).click()`);
}

/** The text of the page's list of rooms, one room a line. */
function roomList(page: Page): Promise<string[]> {
  return page.$$eval("#rooms li", (items) => items.map((li) => li.textContent ?? ""));
}

Deno.test("a newcomer's /join, message and /rooms show in the page, other rooms keep counting", async () => {
  const server = startServer({ webPort: 0 });
  const { browser, close } = await launchBrowser();
  const bot = await JsonClient.join(server, "bot");
  try {
    const page = await joinPage(browser, pageUrl(server), "小红");
    await bot.next("join", (j) => j.name === "小红");
    await say(page, "/join #team");
    await waitForText(page, "room-title", "#team");
    await say(page, "in team now");
    await waitForLine(page, "小红: in team now");
    await say(page, "/rooms");
    await waitForLine(page, "#team (1 user; you are in it)");
    await waitForLine(page, "#lobby (2 users; you are in it)");
    assert.equal(await page.title(), "#team — 小红");

    // The lobby goes on while 小红 reads #team: its messages are counted, not lost.
    await bot.type("anyone in the lobby?");
    await page.waitForFunction(`[...document.querySelectorAll("#rooms li")]
      .some((li) => li.textContent.startsWith("#lobby") && li.querySelector(".unread")?.textContent === "1")`);
    await clickRoom(page, "#lobby");
    await waitForText(page, "room-title", "#lobby");
    await waitForLine(page, "bot: anyone in the lobby?");
    assert.deepEqual(await roomList(page), ["#lobby", "#team"]);
    // What is typed now goes to the room on screen.
    await say(page, "yes, me");
    await bot.next(
      "message",
      (m) => m.from === "小红" && m.text === "yes, me" && m.room === "lobby",
    );

    // Leaving a room: the page says so in the room the server puts you in, and lists it no more.
    await clickRoom(page, "#team");
    await waitForText(page, "room-title", "#team");
    await say(page, "/part done here");
    await waitForLine(page, "You left #team: done here");
    await waitForText(page, "room-title", "#lobby");
    assert.deepEqual(await roomList(page), ["#lobby"]);
  } finally {
    await close();
    await bot.close();
    await server.shutdown();
  }
});

Deno.test("/topic, /mode, /who, /away, /ignore and /whois answer in the page", async () => {
  const server = startServer({ webPort: 0 });
  const { browser, close } = await launchBrowser();
  const bob = await JsonClient.join(server, "Bob");
  try {
    const page = await joinPage(browser, pageUrl(server), "Ann");
    await say(page, "/join #team");
    await waitForText(page, "room-title", "#team");
    await say(page, "/topic Project week");
    await waitForLine(page, "Ann set the topic of #team: Project week");
    await waitForText(page, "room-topic", "Project week");
    await say(page, "/topic");
    await waitForLine(page, "Topic of #team: Project week");
    await bob.send({ type: "join", room: "team" });
    await waitForLine(page, "Bob joined");
    await say(page, "/op Bob");
    await waitForLine(page, "Ann made Bob an operator of #team");
    await say(page, "/away lunch");
    await waitForLine(page, "lunch; /back when you return");
    await say(page, "/who");
    await waitForLine(page, "2 in #team: @Ann (away), @Bob");
    // Another room's people are listed where you look.
    await say(page, "/who #lobby");
    await waitForLine(page, "2 in #lobby: Bob, Ann (away)");
    await waitForText(page, "users", "@Ann");
    await say(page, "/whois Bob");
    await waitForLine(page, "Bob: here since");
    await waitForLine(page, "in #lobby @#team");
    await say(page, "/ignore Bob");
    await waitForLine(page, "You ignore Bob now");
    await say(page, "/part #nowhere");
    await waitForLine(page, "There is no room #nowhere");
    assert.ok(
      await page.$eval(
        ".log:not([hidden]) > li:last-child",
        (li) => li.classList.contains("error"),
      ),
    );
  } finally {
    await close();
    await bob.close();
    await server.shutdown();
  }
});

Deno.test("an invitation, then a kick: the page says so and goes back to the lobby", async () => {
  const server = startServer({ webPort: 0 });
  const { browser, close } = await launchBrowser();
  const bob = await JsonClient.join(server, "Bob");
  try {
    await bob.send({ type: "join", room: "den" });
    await bob.send({ type: "private", room: "den" });
    await bob.next("mode", (m) => m.change === "private");
    const page = await joinPage(browser, pageUrl(server), "Ann");
    await bob.send({ type: "invite", room: "den", name: "Ann" });
    await waitForLine(page, "Bob invites you to #den");
    await say(page, "/join #den");
    await waitForText(page, "room-title", "#den");
    await bob.send({ type: "kick", room: "den", name: "Ann", reason: "private talk" });
    await waitForLine(page, "Bob put you out of #den: private talk");
    await waitForText(page, "room-title", "#lobby");
    await say(page, "back in the lobby");
    await bob.next("message", (m) => m.from === "Ann" && m.room === "lobby");
  } finally {
    await close();
    await bob.close();
    await server.shutdown();
  }
});

/**
 * 小明's page joins #team (and then `showing`, when not #team), the server
 * restarts (forgetting #team), and `bot` joins #team on the new one; `check`
 * then looks at the page.
 */
async function restartedWithTeam(
  showing: string,
  check: (page: Page, bot: JsonClient) => Promise<void>,
): Promise<void> {
  let server = startServer({ webPort: 0 });
  const ports = { port: server.addr.port, webPort: server.webAddr!.port };
  const { browser, close } = await launchBrowser();
  let bot: JsonClient | null = null;
  try {
    const page = await joinPage(browser, pageUrl(server), "小明");
    for (const room of new Set(["#team", showing])) {
      await say(page, `/join ${room}`);
      await waitForText(page, "room-title", room);
    }
    await server.shutdown("Restarting");
    await waitForText(page, "status", "reconnecting in");
    server = startServer(ports);
    await waitForLine(page, "Reconnected.");
    bot = await JsonClient.join(server, "bot");
    await bot.send({ type: "join", room: "team" });
    await check(page, bot);
  } finally {
    await close();
    await bot?.close();
    await server.shutdown();
  }
}

Deno.test("after a server restart the page is back in the room it showed", async () => {
  // The restarted server forgot #team: the page joins it again, and stays on it.
  await restartedWithTeam("#team", async (page, bot) => {
    await bot.next("current", (c) => c.room === "team");
    await say(page, "still in team");
    await bot.next("message", (m) => m.from === "小明" && m.room === "team");
    assert.equal(await page.$eval("#room-title", (h) => h.textContent), "#team");
  });
});

Deno.test("after a server restart the page joins again the rooms it was in, and keeps the one it showed", async () => {
  // The restarted server forgot #team: the page joins it again, and the lobby after it.
  await restartedWithTeam("#lobby", async (page, bot) => {
    await bot.waitFor((e) =>
      (e.type === "users" && e.room === "team" && e.names.includes("小明")) ||
      (e.type === "join" && e.room === "team" && e.name === "小明")
    );
    await bot.send({ type: "say", text: "welcome back", room: "team" });
    await page.waitForFunction(
      `[...document.querySelectorAll('.log[aria-label="Conversation in #team"] li')]
        .some((li) => li.textContent.includes("bot: welcome back"))`,
    );
    assert.equal(await page.$eval("#room-title", (h) => h.textContent), "#lobby");
  });
});
