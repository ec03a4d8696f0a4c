/**
 * `/away`, `/whois` and `/help` as a person sees them in `chat join`: the
 * real client in a real terminal (tmux) against a real server.
 *
 * @module
 */

import { JsonClient, startServer } from "./_helpers.ts";
import { chatCommand } from "./_chat_command.ts";
import { screenShows, shellLine, typeLine, withTerminal } from "./_tmux.ts";

Deno.test("in chat join, a person sees who is away in /who, /whois, a private message's answer and their own /away", async () => {
  const server = startServer({ flood: null });
  const socket = `chat-presence-${crypto.randomUUID()}`;
  const command = chatCommand(["join", `127.0.0.1:${server.addr.port}`, "--name", "Teacher"]);
  const bob = await JsonClient.join(server, "Bob");
  try {
    await bob.send({ type: "away", text: "at the dentist" });
    await bob.next("away");
    await withTerminal(socket, `${shellLine(command)}; sleep 30`, {
      env: { NO_COLOR: "", TERM: "xterm" },
    }, async () => {
      await screenShows(socket, /Welcome, Teacher!/);
      await typeLine(socket, "/who");
      await screenShows(socket, /Users in #lobby \(2\): Bob \(away\), Teacher/);
      await typeLine(socket, "/whois bob");
      await screenShows(socket, /\d\d:\d\d Bob: here since \d\d:\d\d, idle \d+ s\n/);
      await screenShows(socket, /\n {6} {2}away since \d\d:\d\d: at the dentist\n {8}in #lobby\n/);
      await typeLine(socket, "/msg Bob are you coming?");
      await screenShows(socket, /Bob is away \(since \d\d:\d\d\): at the dentist/);
      await typeLine(socket, "/away marking homework");
      await screenShows(
        socket,
        /You are away \(since \d\d:\d\d\): marking homework; \/back when you return/,
      );
      await typeLine(socket, "/back");
      await screenShows(socket, /You are back/);
      await typeLine(socket, "/help");
      await screenShows(socket, /\/whois NAME +Who NAME is/);
      await screenShows(socket, /\/ignore \[NAME\] +Stop seeing what NAME says/);
    });
  } finally {
    await bob.close();
    await server.shutdown();
  }
});
