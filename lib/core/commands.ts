/**
 * What a person can type: `/commands`, `@name text`, `exit`, or plain text.
 *
 * Commands are data: a table of names, usage, help and handlers, so that
 * `/help`, argument checks and "did you mean" come from one place.
 *
 * @module
 */

import { closest } from "./did_you_mean.ts";
import { ChatError } from "./errors.ts";
import { ErrorCode } from "./events.ts";
import { stripUnsafe } from "./sanitize.ts";
import type { Member } from "./room.ts";

/** A line, split into what it asks for. */
export type Input =
  | { kind: "say"; text: string }
  | { kind: "command"; name: string; args: string };

/**
 * Splits a typed line into a message or a command with its argument text.
 * `//text` sends `/text` literally; `@name text` is `/msg name text`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseInput } from "./commands.ts";
 * const input = parseInput("/msg Bob hi there");
 * assert.ok(input.kind === "command" && input.name === "msg" && input.args === "Bob hi there");
 * ```
 */
export function parseInput(line: string): Input {
  // Leading spaces do not make "  /msg Bob secret" a message to the room.
  const start = line.trimStart();
  if (start.startsWith("//")) return { kind: "say", text: start.slice(1) };
  if (start.trimEnd() === "exit") return { kind: "command", name: "quit", args: "" };
  const command = /^\/(\S*)\s*(.*)$/su.exec(start);
  if (command) return { kind: "command", name: command[1].toLowerCase(), args: command[2] };
  // "@bob: hi" and "@bob, hi" are how people write it too.
  const mention = /^@([^\s:,]+)[:,]?(?:\s+(.*))?$/su.exec(start);
  if (mention) return { kind: "command", name: "msg", args: `${mention[1]} ${mention[2] ?? ""}` };
  return { kind: "say", text: line };
}

/**
 * What commands act on: the hub's actions for one member. Declared here, so
 * that the table of commands does not depend on the hub that runs it.
 * `room` is the room the line was typed in (undefined: the current room).
 */
export interface CommandActions {
  /** `/msg NAME TEXT`. */
  whisper(member: Member, to: string, text: string): void;
  /** `/who [#ROOM]`. */
  who(member: Member, room?: string): void;
  /** `/nick NAME`. */
  rename(member: Member, name: string): void;
  /** `/me ACTION`. */
  act(member: Member, text: string, room?: string): void;
  /** `/history [N]`. */
  recall(member: Member, count: string, room?: string): void;
  /** `/join #ROOM`. */
  join(member: Member, room: string): void;
  /** `/part [#ROOM] [REASON]`. */
  part(member: Member, room?: string, reason?: string): void;
  /** `/rooms`. */
  rooms(member: Member): void;
  /** `/topic [TEXT]`. */
  topic(member: Member, room?: string, text?: string): void;
  /** `/kick NAME [REASON]`. */
  roomKick(member: Member, room: string | undefined, name: string, reason?: string): void;
  /** `/op NAME`, `/deop NAME`. */
  setOperator(member: Member, room: string | undefined, name: string, op: boolean): void;
  /** `/invite NAME`. */
  invite(member: Member, room: string | undefined, name: string): void;
  /** `/private`, `/public`. */
  setPrivate(member: Member, room: string | undefined, privateRoom: boolean): void;
  /** `/away [TEXT]`, `/back`. */
  away(member: Member, text?: string): void;
  /** `/ignore NAME`. */
  ignore(member: Member, name: string): void;
  /** `/unignore NAME`. */
  unignore(member: Member, name: string): void;
  /** `/ignore` alone. */
  ignoreList(member: Member): void;
  /** `/whois NAME`. */
  whois(member: Member, name: string): void;
  /** `/help`. */
  help(member: Member): void;
  /** `/quit [REASON]`. */
  quit(member: Member, reason?: string): void;
}

/** One command: how to call it, what it does, and its handler. */
export interface Command {
  /** Name without the slash. */
  name: string;
  /** Other names that run it. */
  aliases?: string[];
  /** Argument hint, such as `NAME TEXT`. */
  usage?: string;
  /** One line for `/help`. */
  help: string;
  /** How many space-separated words the arguments need. */
  minArgs?: number;
  /** It posts a message (which answers a `cid` with `sent`); other commands run once per `cid`. */
  posts?: true;
  /**
   * Runs the command; `args` is the text after the command name, `room` the
   * room it was typed in (undefined: the current room).
   */
  run(hub: CommandActions, member: Member, args: string, room?: string): void;
}

/** A table of commands with lookup, argument checks and help. */
export class Commands {
  #byName = new Map<string, Command>();
  #list: Command[] = [];

  /** Adds a command under its name and aliases. */
  add(command: Command): this {
    this.#list.push(command);
    for (const name of [command.name, ...command.aliases ?? []]) this.#byName.set(name, command);
    return this;
  }

  /** The command called `name` (or an alias of it), if there is one. */
  get(name: string): Command | undefined {
    return this.#byName.get(name);
  }

  /** Names and aliases, for completion. */
  names(): string[] {
    return [...this.#byName.keys()];
  }

  /**
   * Runs the command `name`.
   *
   * @throws {ChatError} `unknown_command` (with a suggestion when one is
   * close) or `bad_arguments` with the usage.
   */
  run(hub: CommandActions, member: Member, name: string, args: string, room?: string): void {
    const command = this.#byName.get(name);
    if (!command) {
      if (!name) {
        throw new ChatError(ErrorCode.UnknownCommand, "Type /help for the list of commands");
      }
      const near = closest(name, this.names());
      const hint = near ? `; did you mean /${near}?` : "; type /help for the list";
      // Echo only a short, clean form of what was typed.
      const shown = [...stripUnsafe(name)].slice(0, 20).join("");
      throw new ChatError(ErrorCode.UnknownCommand, `Unknown command /${shown}${hint}`);
    }
    const words = args.trim() ? args.trim().split(/\s+/u).length : 0;
    if (words < (command.minArgs ?? 0)) {
      throw new ChatError(ErrorCode.BadArguments, `Usage: /${command.name} ${command.usage ?? ""}`);
    }
    command.run(hub, member, args.trim(), room);
  }

  /** The help text: one line per command. */
  help(): string {
    const rows = this.#list.map((c) => {
      const call = `/${c.name}${c.usage ? " " + c.usage : ""}`;
      return `  ${call.padEnd(24)} ${c.help}`;
    });
    return [
      "Commands:",
      ...rows,
      "  @NAME TEXT               Same as /msg NAME TEXT",
      "  exit                     Same as /quit",
    ]
      .join("\n");
  }
}

/** Splits `NAME rest of text` into its first word and the rest. */
function firstWord(args: string): [string, string] {
  const match = /^(\S+)\s*(.*)$/su.exec(args);
  return match ? [match[1], match[2]] : ["", ""];
}

/** The commands every server has. */
export const COMMANDS: Commands = new Commands()
  .add({
    name: "msg",
    usage: "NAME TEXT",
    help: "Send a private message",
    minArgs: 2,
    posts: true,
    run: (hub, member, args) => hub.whisper(member, ...firstWord(args)),
  })
  .add({
    name: "who",
    aliases: ["users", "names"],
    usage: "[#ROOM]",
    help: "List the users in the room",
    run: (hub, member, args, room) => hub.who(member, args || room),
  })
  .add({
    name: "nick",
    usage: "NEWNAME",
    help: "Change your name",
    minArgs: 1,
    run: (hub, member, args) => hub.rename(member, args),
  })
  .add({
    name: "me",
    usage: "ACTION",
    help: "Describe what you do: /me waves",
    minArgs: 1,
    posts: true,
    run: (hub, member, args, room) => hub.act(member, args, room),
  })
  .add({
    name: "history",
    usage: "[N]",
    help: "Show the room's last N messages (at most 1000)",
    run: (hub, member, args, room) => hub.recall(member, args, room),
  })
  .add({
    name: "join",
    aliases: ["j"],
    usage: "#ROOM",
    help: "Enter a room (made when new), or switch to it",
    minArgs: 1,
    run: (hub, member, args) => hub.join(member, firstWord(args)[0]),
  })
  .add({
    name: "part",
    aliases: ["leave"],
    usage: "[#ROOM] [REASON]",
    help: "Leave a room (this one by default)",
    run: (hub, member, args, room) => {
      const [first, rest] = firstWord(args);
      if (first.startsWith("#")) hub.part(member, first, rest);
      else hub.part(member, room, args);
    },
  })
  .add({
    name: "rooms",
    aliases: ["list"],
    help: "List the rooms",
    run: (hub, member) => hub.rooms(member),
  })
  .add({
    name: "topic",
    usage: "[TEXT|-]",
    help: "Show the room's topic, set it, or clear it with - (operators)",
    // A bare "-" clears: with nothing after it, /topic shows the topic instead.
    run: (hub, member, args, room) =>
      hub.topic(member, room, args.trim() === "-" ? "" : args || undefined),
  })
  .add({
    name: "kick",
    usage: "NAME [REASON]",
    help: "Put someone out of the room (operators)",
    minArgs: 1,
    run: (hub, member, args, room) => hub.roomKick(member, room, ...firstWord(args)),
  })
  .add({
    name: "op",
    usage: "NAME",
    help: "Make a member an operator of the room (operators)",
    minArgs: 1,
    run: (hub, member, args, room) => hub.setOperator(member, room, args, true),
  })
  .add({
    name: "deop",
    usage: "NAME",
    help: "Take operator rights back (operators)",
    minArgs: 1,
    run: (hub, member, args, room) => hub.setOperator(member, room, args, false),
  })
  .add({
    name: "invite",
    usage: "NAME",
    help: "Let someone into the room, private or not (operators)",
    minArgs: 1,
    run: (hub, member, args, room) => hub.invite(member, room, args),
  })
  .add({
    name: "private",
    help: "Let only invited users join the room (operators)",
    run: (hub, member, _args, room) => hub.setPrivate(member, room, true),
  })
  .add({
    name: "public",
    help: "Let anyone join the room again (operators)",
    run: (hub, member, _args, room) => hub.setPrivate(member, room, false),
  })
  .add({
    name: "away",
    usage: "[MESSAGE]",
    help: "Say you are away, shown in /who and to who messages you; alone: back",
    run: (hub, member, args) => hub.away(member, args),
  })
  .add({
    name: "back",
    help: "Say you are back (same as /away alone)",
    run: (hub, member) => hub.away(member, ""),
  })
  .add({
    name: "ignore",
    usage: "[NAME]",
    help: "Stop seeing what NAME says (they are not told); alone: whom you ignore",
    run: (hub, member, args) =>
      args ? hub.ignore(member, firstWord(args)[0]) : hub.ignoreList(member),
  })
  .add({
    name: "unignore",
    usage: "NAME",
    help: "See what NAME says again",
    minArgs: 1,
    run: (hub, member, args) => hub.unignore(member, firstWord(args)[0]),
  })
  .add({
    name: "whois",
    usage: "NAME",
    help: "Who NAME is: since when here, away, account, rooms",
    minArgs: 1,
    run: (hub, member, args) => hub.whois(member, firstWord(args)[0]),
  })
  .add({
    name: "help",
    aliases: ["?"],
    help: "Show this help",
    run: (hub, member) => hub.help(member),
  })
  .add({
    name: "quit",
    aliases: ["exit", "bye"],
    usage: "[REASON]",
    help: "Leave the chat",
    run: (hub, member, args) => hub.quit(member, args),
  });
