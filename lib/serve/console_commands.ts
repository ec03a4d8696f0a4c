/**
 * The server operator's console: what a line typed into `chat serve` does.
 * Text is announced to everyone, `#room text` to one room; commands list
 * users and rooms, kick, and ban names and addresses from the whole server
 * for a while. Commands are data: a table with usage and help.
 *
 * @module
 */

import { ChatError } from "../core/errors.ts";
import { MAX_BAN_MINUTES } from "../core/bans.ts";
import { plural } from "../core/plural.ts";
import type { StoredBan } from "../core/store.ts";
import { addressKey } from "../server/address.ts";
import type { ChatServer } from "./chat_server.ts";

/** One console command. */
interface ConsoleCommand {
  /** Name without the slash. */
  name: string;
  /** Argument hint. */
  usage: string;
  /** One line for `/help`. */
  help: string;
  /** Whether it needs a first argument. */
  needsArgument?: boolean;
  /** Runs it with the words after its name and `out` for its answer. */
  run(server: ChatServer, words: string[], out: (line: string) => void): void;
}

const COMMANDS: ConsoleCommand[] = [
  {
    name: "who",
    usage: "[#ROOM]",
    help: "List the users, or a room's (@ marks its operators)",
    run: (server, [room], out) => {
      if (room === undefined) {
        const names = server.hub.userNames();
        out(`${plural(names.length, "user")}: ${names.join(", ")}`);
        return;
      }
      const names = server.hub.roomMembers(room);
      if (names === undefined) out(`No room ${room}`);
      else out(`${plural(names.length, "user")} in ${room}: ${names.join(", ")}`);
    },
  },
  {
    name: "rooms",
    usage: "",
    help: "List the rooms, private ones included",
    run: (server, _words, out) => {
      const rooms = server.hub.roomList();
      out(`${plural(rooms.length, "room")}:`);
      for (const room of rooms) {
        out(
          `  #${room.room} (${plural(room.count, "user")}${room.private ? ", private" : ""})${
            room.topic ? ": " + room.topic : ""
          }`,
        );
      }
    },
  },
  {
    name: "droproom",
    usage: "#ROOM [REASON]",
    help: "Remove a room: its members are told and go back to #lobby",
    needsArgument: true,
    run: (server, [room, ...reason], out) => {
      const removed = server.hub.dropRoom(room, reason.join(" "));
      out(removed === undefined ? `No room ${room}` : `Removed #${removed}`);
    },
  },
  {
    name: "kick",
    usage: "NAME [REASON]",
    help: "Disconnect a user",
    needsArgument: true,
    run: (server, [name, ...reason], out) => {
      if (!server.hub.kick(name, reason.join(" "))) out(`No user named ${name} is here`);
    },
  },
  {
    name: "ban",
    usage: "NAME|ADDRESS [MINUTES] [REASON]",
    help: "Keep a name or an address out (until /unban without MINUTES)",
    needsArgument: true,
    run: (server, [target, ...rest], out) => {
      const minutes = /^\d+$/.test(rest[0] ?? "") ? Number(rest.shift()) : undefined;
      if (minutes !== undefined && !(minutes >= 1 && minutes <= MAX_BAN_MINUTES)) {
        out(`Minutes must be from 1 to ${MAX_BAN_MINUTES} (a year)`);
        return;
      }
      const ban = server.hub.ban(asAddress(target), minutes, rest.join(" "));
      out(`Banned ${describe(ban)}`);
    },
  },
  {
    name: "unban",
    usage: "NAME|ADDRESS",
    help: "Lift a ban",
    needsArgument: true,
    run: (server, [target], out) => {
      out(
        server.hub.unban(asAddress(target))
          ? `Lifted the ban of ${target}`
          : `${target} is not banned`,
      );
    },
  },
  {
    name: "bans",
    usage: "",
    help: "List the bans in force",
    run: (server, _words, out) => {
      const bans = server.hub.bans();
      out(`${plural(bans.length, "ban")}${bans.length ? ":" : ""}`);
      for (const ban of bans) out(`  ${describe(ban)}`);
    },
  },
];

const ESC = "\x1b";

/** What the operator is told about a line with arrow (or other editing) keys in it. */
const ARROWS_REFUSED =
  "Arrow keys do not edit in this console (Backspace does): the line was not run; type it again";

/** What the operator can type into the server's console. */
export const CONSOLE_HELP: string = [
  "Console commands:",
  `  ${"TEXT".padEnd(36)} Announce TEXT to everyone`,
  `  ${"#ROOM TEXT".padEnd(36)} Announce TEXT to one room`,
  ...COMMANDS.map((c) => `  ${`/${c.name} ${c.usage}`.trimEnd().padEnd(36)} ${c.help}`),
  `  ${"/help".padEnd(36)} Show this help`,
].join("\n");

/** Runs one line the operator typed: an announcement or a console command. */
export function operatorLine(server: ChatServer, line: string, out: (line: string) => void): void {
  const text = line.trim();
  if (!text) return;
  // The console reads lines as the terminal edits them, without a cursor: an
  // arrow key arrives as an escape sequence in the line, which then means
  // something else than it showed ("/who" and two Lefts ran "/w").
  if (text.includes(ESC)) {
    out(ARROWS_REFUSED);
    return;
  }
  try {
    if (text.startsWith("#")) {
      const [, room, words = ""] = /^(\S+)\s*(.*)$/su.exec(text)!;
      if (!words) out("Usage: #ROOM TEXT");
      else if (!server.hub.announceTo(room, words)) out(`No room ${room}`);
      return;
    }
    if (!text.startsWith("/")) {
      server.announce(text);
      return;
    }
    const [name, ...words] = text.slice(1).split(/\s+/u);
    if (name === "help") {
      out(CONSOLE_HELP);
      return;
    }
    const command = COMMANDS.find((c) => c.name === name);
    if (!command) {
      out(`Unknown console command ${text.split(/\s/u)[0]}; /help lists them`);
    } else if (command.needsArgument && !words[0]) {
      out(`Usage: /${command.name} ${command.usage}`);
    } else {
      command.run(server, words, out);
    }
  } catch (error) {
    // A bad room name, say: the operator reads why, as a user would.
    if (!(error instanceof ChatError)) throw error;
    out(error.message);
  }
}

/** An address typed as the server counts addresses (an IPv6 one by its /64); a name as it is. */
function asAddress(target: string): string {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(target) || target.includes(":")
    ? addressKey(target)
    : target;
}

function describe(ban: StoredBan): string {
  const until = ban.until === null
    ? "until lifted"
    : `until ${new Date(ban.until).toISOString().slice(0, 16).replace("T", " ")} UTC`;
  return `${ban.kind} ${ban.value} ${until}${ban.reason ? ": " + ban.reason : ""}`;
}
