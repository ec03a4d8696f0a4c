/**
 * NO_COLOR in `chat join` (README, `chat join`): the real client in a real
 * terminal (tmux), run as the executables run, against a real server. With
 * NO_COLOR=1 the screen has no colour at all, while bold, underline and
 * reverse stay; without it the same conversation is in colour. The screen is
 * captured with its attributes (`capture-pane -e`), as tmux holds them.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cleanUp, JsonClient, startServer } from "./_helpers.ts";
import { chatCommand } from "./_chat_command.ts";
import { screenShows, shellLine, startTerminal, stopTerminal, tmux } from "./_tmux.ts";

// deno-lint-ignore no-control-regex -- finding escape sequences is the point
const SGR = /\x1b\[([0-9;:]*)m/g;

/** The parameter lists of every SGR sequence (`ESC [ ... m`) in `text`; `ESC [m` is [0]. */
function sgrParams(text: string): number[][] {
  return [...text.matchAll(SGR)].map(([, params]) =>
    params === "" ? [0] : params.split(/[;:]/).map(Number)
  );
}

/** `text` without its SGR sequences: what a person reads. */
function withoutSgr(text: string): string {
  return text.replace(SGR, "");
}

/** The SGR parameters among `params` that set a colour, foreground or background. */
function colourParams(params: number[][]): number[] {
  const found: number[] = [];
  for (const list of params) {
    for (let i = 0; i < list.length; i++) {
      const p = list[i];
      if ((p >= 30 && p <= 37) || (p >= 40 && p <= 47) || (p >= 90 && p <= 97) || p >= 100) {
        found.push(p);
      } else if (p === 38 || p === 48) {
        found.push(p);
        // 38;5;N or 38;2;R;G;B: the rest are the colour's numbers, not attributes.
        i += list[i + 1] === 5 ? 2 : 4;
      }
    }
  }
  return found;
}

/**
 * Runs `chat join` as Alice in a terminal with NO_COLOR set to `noColor`; Bob
 * joins, mentions her and whispers to her, so that a join, a name, a mention
 * and a private message are on screen. Resolves to the screen with its
 * attributes as escape sequences.
 */
async function conversation(noColor: string): Promise<string> {
  const server = startServer();
  const socket = `chat-nocolor-${crypto.randomUUID()}`;
  const address = `127.0.0.1:${server.addr.port}`;
  let bob: JsonClient | null = null;
  try {
    await startTerminal(
      socket,
      `${shellLine(chatCommand(["join", address, "--name", "Alice"]))}; sleep 30`,
      // Set either way: the tmux server would otherwise pass on the test's own NO_COLOR.
      { env: { NO_COLOR: noColor } },
    );
    await screenShows(socket, /Welcome, Alice!/);
    bob = await JsonClient.join(server, "Bob");
    await bob.type("hi Alice, look at this");
    await bob.type("/msg Alice psst");
    await screenShows(socket, /psst/);
    return await tmux(socket, "capture-pane", "-p", "-e", "-t", "chat");
  } finally {
    await stopTerminal(socket);
    await cleanUp(server, ...(bob ? [bob] : []));
  }
}

Deno.test("with NO_COLOR=1 chat join shows no colour, but keeps bold, underline and reverse", async () => {
  const screen = await conversation("1");
  assert.match(withoutSgr(screen), /Bob: hi Alice, look at this/);
  const params = sgrParams(screen);
  assert.deepEqual(colourParams(params), [], JSON.stringify(screen));
  // The capture does carry attributes: the check above looked at real escapes.
  const attributes = new Set(params.flat());
  for (const [code, what] of [[1, "bold"], [4, "underline"], [7, "reverse"]] as const) {
    assert.ok(attributes.has(code), `${what} is missing: ${JSON.stringify(screen)}`);
  }
});

Deno.test("without NO_COLOR the same conversation in chat join is in colour", async () => {
  const screen = await conversation("");
  assert.match(withoutSgr(screen), /Bob: hi Alice, look at this/);
  assert.ok(colourParams(sgrParams(screen)).length > 0, JSON.stringify(screen));
});
