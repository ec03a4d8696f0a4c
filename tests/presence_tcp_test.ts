/**
 * `/away`, `/ignore` and `/whois` over real TCP: JSON frames for bots and
 * the lines a plain-text user (nc, telnet) reads; and a `chat serve --data`
 * restart, after which an account still ignores whom it ignored.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cleanUp, JsonClient, LineClient, startServer, tempStore } from "./_helpers.ts";
import { ServeProcess } from "./_serve_process.ts";

Deno.test("over TCP, a JSON bot and a plain-text user set and see away, and whois tells it", async () => {
  const server = startServer({ flood: null });
  const bot = await JsonClient.join(server, "Bot");
  const ann = await LineClient.join(server, "Ann");
  try {
    await ann.write("/away gone for lunch\n");
    await ann.waitFor(/^You are away \(since \d\d:\d\d\): gone for lunch; \/back when you return$/);
    await bot.send({ type: "who" });
    const users = await bot.next("users");
    assert.deepEqual(users.away, ["Ann"]);
    await bot.send({ type: "msg", to: "Ann", text: "lunch where?" });
    await bot.next("private");
    const away = await bot.next("away");
    assert.deepEqual([away.name, away.text], ["Ann", "gone for lunch"]);
    await ann.waitFor("(private) Bot: lunch where?");
    await bot.send({ type: "whois", name: "ann" });
    const whois = await bot.next("whois");
    assert.deepEqual(
      [whois.name, whois.online, whois.away, whois.rooms],
      ["Ann", true, "gone for lunch", ["lobby"]],
    );

    await bot.send({ type: "away", text: "rebooting" });
    await bot.next("away", (e) => e.text === "rebooting");
    await ann.write("/who\n");
    await ann.waitFor("Users in #lobby (2): Bot (away), Ann (away)");
    await ann.write("/whois Bot\n");
    await ann.waitFor(/^Bot: here since \d\d:\d\d, idle \d+ s$/);
    await ann.waitFor(/^ {2}away since \d\d:\d\d: rebooting$/);
    await ann.waitFor("  in #lobby");
    await ann.write("/back\n");
    await ann.waitFor("You are back");
    await bot.send({ type: "away" });
    await bot.next("away", (e) => e.text === undefined);
  } finally {
    await cleanUp(server, bot);
    await ann.close();
  }
});

Deno.test("over TCP, what an ignored person says reaches neither a JSON nor a plain-text user who ignores them", async () => {
  const server = startServer({ flood: null });
  const eve = await JsonClient.join(server, "Eve");
  const bot = await JsonClient.join(server, "Bot");
  const ann = await LineClient.join(server, "Ann");
  try {
    await bot.send({ type: "ignore", name: "eve" });
    assert.deepEqual(await bot.next("ignoring"), {
      type: "ignoring",
      names: ["Eve"],
      added: "Eve",
    });
    await ann.write("/ignore Eve\n");
    await ann.waitFor(/^You ignore Eve now: what they say is not shown to you/);
    await ann.write("/ignore\n");
    await ann.waitFor("You ignore 1 name: Eve");

    await eve.send({ type: "say", text: "spam spam" });
    await eve.send({ type: "me", text: "spams" });
    await eve.send({ type: "msg", to: "Ann", text: "psst" });
    const receipt = await eve.next("private");
    assert.deepEqual([receipt.to, receipt.offline], ["Ann", undefined], "a normal receipt");
    await eve.send({ type: "msg", to: "Bot", text: "psst" });
    await eve.next("private", (e) => e.to === "Bot");
    await eve.send({ type: "say", text: "marker from Eve" });
    await eve.next("message", (e) => e.text === "marker from Eve");

    // What comes after Eve's lines arrives after them (one connection, in order): then all of hers had.
    await eve.type("/nick Evelyn");
    await bot.next("rename");
    await ann.waitFor("Eve is now known as Evelyn", { anywhere: true });
    const said = [
      ...bot.events().filter((e) => e.type === "message" || e.type === "private"),
    ];
    assert.deepEqual(said, [], "the bot got none of Eve's words");
    assert.ok(
      !ann.lines.some((line) => /spam|psst|marker/.test(line)),
      `Ann read none of them: ${ann.lines.join(" | ")}`,
    );

    await bot.send({ type: "unignore", name: "Eve" });
    assert.deepEqual(
      await bot.next("ignoring"),
      { type: "ignoring", names: ["Evelyn"], removed: "Eve" },
      "her new name stays ignored",
    );
    await bot.send({ type: "ignore", name: "Bot" });
    assert.equal((await bot.next("error")).code, "name_invalid");
    await bot.send({ type: "unignore", name: "Nobody" });
    assert.equal((await bot.next("error")).code, "no_such_user");
    await bot.send({ type: "whois", name: "Nobody" });
    assert.equal((await bot.next("error")).code, "no_such_user");
  } finally {
    await cleanUp(server, eve, bot);
    await ann.close();
  }
});

Deno.test("chat serve --data: an account's ignore list holds after a restart", async () => {
  const data = await tempStore({ Ann: "correct horse" });
  data.store.close();
  const args = ["--host", "127.0.0.1", "--port", "0", "--data", data.dir, "--auth", "names"];
  let serve = new ServeProcess(args);
  let ann: JsonClient | null = null;
  let eve: JsonClient | null = null;
  try {
    let port = await serve.port();
    ann = await JsonClient.join(port, "Ann", { password: "correct horse" });
    await ann.send({ type: "ignore", name: "Eve" });
    await ann.next("ignoring");
    await ann.close();
    ann = null;
    await stop(serve);

    serve = new ServeProcess(args);
    port = await serve.port();
    ann = await JsonClient.join(port, "Ann", { password: "correct horse" });
    await ann.send({ type: "ignore" });
    assert.deepEqual(await ann.next("ignoring"), { type: "ignoring", names: ["Eve"] });
    eve = await JsonClient.join(port, "Eve");
    await eve.send({ type: "say", text: "still here" });
    await eve.next("message");
    await eve.send({ type: "msg", to: "Ann", text: "psst" });
    await eve.next("private");
    // Ann's whois comes back after whatever was sent to her before it.
    await ann.send({ type: "whois", name: "Eve" });
    await ann.next("whois");
    assert.ok(
      !ann.events().some((e) => e.type === "message" || e.type === "private"),
      "Ann got none of Eve's words",
    );
  } finally {
    await ann?.close();
    await eve?.close();
    await stop(serve);
    await Deno.remove(data.dir, { recursive: true });
  }
});

/** Stops `chat serve` as a service manager would, and waits for it to exit. */
async function stop(serve: ServeProcess): Promise<void> {
  try {
    serve.child.kill("SIGTERM");
  } catch {
    // It has exited already.
  }
  await serve.finish();
}
