/**
 * The command line: which subcommand, with which settings.
 *
 * Flags are parsed with `node:util`'s `parseArgs`; each flag can also come
 * from an environment variable (`--port` from `CHAT_PORT`), and a flag beats
 * its variable. Misuse raises {@link UsageError}, which `main.ts` reports
 * with a hint and exit code 2.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { closest } from "./did_you_mean.ts";
import {
  DEFAULT_FLOOD,
  DEFAULT_JOIN_HOST,
  DEFAULT_MAX_PER_ADDRESS,
  DEFAULT_MAX_USERS,
  DEFAULT_PING_INTERVAL_MS,
  DEFAULT_PORT,
  DEFAULT_QUEUE_LIMIT,
  DEFAULT_REGISTRATION_TIMEOUT_MS,
  DEFAULT_SERVE_HOST,
  MAX_LINE_BYTES,
} from "./defaults.ts";

/** Exit codes, documented in the README. */
export const ExitCode = {
  /** Success, including a clean shutdown after Ctrl+C. */
  Ok: 0,
  /** A failure at run time: cannot listen, lost the connection... */
  Failure: 1,
  /** The command line was wrong. */
  Usage: 2,
  /** `join`: the server could not be reached. */
  CannotConnect: 3,
  /** `join`: the server refused us (name taken or invalid, room full, version). */
  Refused: 4,
} as const;

/** The command line was wrong; the message says how, for a person. */
export class UsageError extends Error {
  /** The subcommand whose usage to point at, if any. */
  readonly command: string | undefined;

  /** Creates a usage error about `command` (or the program as a whole). */
  constructor(message: string, command?: string) {
    super(message);
    this.name = "UsageError";
    this.command = command;
  }
}

/** Settings of `chat serve`. */
export interface ServeSettings {
  /** Interface to listen on. */
  host: string;
  /** TCP port. */
  port: number;
  /** Most users at once. */
  maxUsers: number;
  /** Message of the day, if any. */
  motd: string | undefined;
  /** Most connections from one IP address; 0 for no limit. */
  maxPerIp: number;
  /** Messages per second per user after the burst; 0 turns flood control off. */
  floodRate: number;
  /** Messages a user may send in a burst. */
  floodBurst: number;
  /** Seconds of silence before a client is pinged (dropped after twice that); 0 for never. */
  pingInterval: number;
  /** Seconds a connection may take to give a name. */
  registerTimeout: number;
  /** Longest line accepted, in bytes. */
  maxLine: number;
  /** Bytes queued for a user before they are dropped as too slow. */
  queueLimit: number;
}

/** Settings of `chat join`. */
export interface JoinSettings {
  /** Server host name or address. */
  host: string;
  /** Server port. */
  port: number;
  /** Name to join with; asked for when missing and stdin is a terminal. */
  name: string | undefined;
}

/** What the command line asks for. */
export type Invocation =
  | { command: "help"; topic?: "serve" | "join" }
  | { command: "version" }
  | { command: "serve"; settings: ServeSettings }
  | { command: "join"; settings: JoinSettings };

/** The top-level help text. */
export const USAGE = `chat - a terminal chat room

Usage:
  chat serve [options]              Start a chat server
  chat join [HOST[:PORT]] [options] Join a chat server
  chat help [serve|join]            Show help
  chat --version                    Print the version

Run 'chat serve --help' or 'chat join --help' for their options.
`;

/** Help for `chat serve`. */
export const SERVE_USAGE = `Usage: chat serve [options]

Start a chat server. Others join it with 'chat join HOST' or 'nc HOST PORT'.
Type into the server's console to announce something to everyone;
press Ctrl+C to shut it down.

Options:
  --host HOST            Interface to listen on (default ${DEFAULT_SERVE_HOST}: all)
  --port PORT            TCP port (default ${DEFAULT_PORT})
  --max-users N          Most users at once (default ${DEFAULT_MAX_USERS})
  --motd TEXT            Message of the day, shown to each user on joining
  -h, --help             Show this help

Limits that protect the room:
  --max-per-ip N         Connections from one IP address (default ${DEFAULT_MAX_PER_ADDRESS}; 0: no limit)
  --flood-rate R         Messages per second per user after a burst
                         (default ${DEFAULT_FLOOD.rate}; 0: no flood control)
  --flood-burst N        Messages a user may send at once (default ${DEFAULT_FLOOD.burst})
  --ping-interval S      Ping clients silent for S seconds, drop them after 2S;
                         0: off (default ${DEFAULT_PING_INTERVAL_MS / 1000})
  --register-timeout S   Seconds allowed to give a name (default ${
  DEFAULT_REGISTRATION_TIMEOUT_MS / 1000
})
  --max-line BYTES       Longest line accepted (default ${MAX_LINE_BYTES})
  --queue-limit BYTES    Output queued for a reader too slow to keep up before
                         dropping it; K and M suffixes allowed (default 1M)

Every flag can also be set in the environment: --max-users as CHAT_MAX_USERS,
--port as CHAT_PORT, and so on. A flag beats its variable.

Example:
  chat serve --port 7777 --max-users 30 --motd "Welcome to class 3B"
`;

/** Help for `chat join`. */
export const JOIN_USAGE = `Usage: chat join [HOST[:PORT]] [options]

Join a chat server. Without --name, you are asked for one. In a terminal:
Tab completes names and commands, Up/Down recall sent lines, Ctrl+C leaves;
the client reconnects by itself if the connection drops. When input or
output is not a terminal, each input line is sent, messages are printed as
plain lines, and it leaves at the end of input (--name is then required).

Options:
  --host HOST       Server to join (default ${DEFAULT_JOIN_HOST})             [CHAT_HOST]
  --port PORT       Server port (default ${DEFAULT_PORT})                    [CHAT_PORT]
  --name NAME       Your name in the room                          [CHAT_NAME]
  -h, --help        Show this help

Examples:
  chat join --name Alice
  chat join 192.168.1.20:7777 --name 小明
  printf 'hello\\n' | chat join --name bot

Exit codes: 0 left (or the server shut down), 1 connection lost,
2 usage, 3 cannot connect, 4 refused (name taken or invalid, room full, version).
`;

const SERVE_OPTIONS = {
  host: { type: "string" },
  port: { type: "string" },
  "max-users": { type: "string" },
  motd: { type: "string" },
  "max-per-ip": { type: "string" },
  "flood-rate": { type: "string" },
  "flood-burst": { type: "string" },
  "ping-interval": { type: "string" },
  "register-timeout": { type: "string" },
  "max-line": { type: "string" },
  "queue-limit": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const JOIN_OPTIONS = {
  host: { type: "string" },
  port: { type: "string" },
  name: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/**
 * Works out what the command line asks for. `env` supplies the `CHAT_*`
 * variables.
 *
 * @throws {UsageError} for unknown commands or flags and bad values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCommandLine } from "./cli.ts";
 * const call = parseCommandLine(["serve", "--port", "9000"], {});
 * assert.ok(call.command === "serve" && call.settings.port === 9000);
 * ```
 */
export function parseCommandLine(
  args: string[],
  env: Record<string, string | undefined>,
): Invocation {
  const [first, ...rest] = args;
  switch (first) {
    case undefined:
    case "-h":
    case "--help":
      return { command: "help" };
    case "-V":
    case "--version":
    case "version":
      return { command: "version" };
    case "help": {
      const topic = rest[0];
      if (topic === undefined) return { command: "help" };
      if (topic === "serve" || topic === "join") return { command: "help", topic };
      throw new UsageError(`no help for '${topic}'; try 'chat help serve' or 'chat help join'`);
    }
    case "serve":
      return parseServe(rest, env);
    case "join":
      return parseJoin(rest, env);
    default: {
      const hint = first.startsWith("-") ? "" : suggest(first, ["serve", "join", "help"]);
      throw new UsageError(`unknown command '${first}'${hint}`);
    }
  }
}

function parseServe(args: string[], env: Record<string, string | undefined>): Invocation {
  const values = parse(args, SERVE_OPTIONS, "serve", false).values;
  if (values.help) return { command: "help", topic: "serve" };
  const number = (flag: keyof typeof SERVE_OPTIONS, variable: string, fallback: number, min = 0) =>
    parseNumber((values[flag] as string | undefined) ?? env[variable], `--${flag}`, min) ??
      fallback;
  return {
    command: "serve",
    settings: {
      host: values.host ?? env.CHAT_HOST ?? DEFAULT_SERVE_HOST,
      port: parsePort(values.port ?? env.CHAT_PORT, "serve"),
      maxUsers: number("max-users", "CHAT_MAX_USERS", DEFAULT_MAX_USERS, 1),
      motd: values.motd ?? env.CHAT_MOTD,
      maxPerIp: number("max-per-ip", "CHAT_MAX_PER_IP", DEFAULT_MAX_PER_ADDRESS),
      floodRate: number("flood-rate", "CHAT_FLOOD_RATE", DEFAULT_FLOOD.rate),
      floodBurst: number("flood-burst", "CHAT_FLOOD_BURST", DEFAULT_FLOOD.burst, 1),
      pingInterval: number("ping-interval", "CHAT_PING_INTERVAL", DEFAULT_PING_INTERVAL_MS / 1000),
      registerTimeout: number(
        "register-timeout",
        "CHAT_REGISTER_TIMEOUT",
        DEFAULT_REGISTRATION_TIMEOUT_MS / 1000,
        1,
      ),
      maxLine: number("max-line", "CHAT_MAX_LINE", MAX_LINE_BYTES, 64),
      queueLimit: number("queue-limit", "CHAT_QUEUE_LIMIT", DEFAULT_QUEUE_LIMIT, 1024),
    },
  };
}

function parseJoin(args: string[], env: Record<string, string | undefined>): Invocation {
  const { values, positionals } = parse(args, JOIN_OPTIONS, "join", true);
  if (values.help) return { command: "help", topic: "join" };
  if (positionals.length > 1) {
    throw new UsageError(`too many arguments: ${positionals.join(" ")}`, "join");
  }
  let host = values.host ?? env.CHAT_HOST ?? DEFAULT_JOIN_HOST;
  let port = values.port ?? env.CHAT_PORT;
  if (positionals.length === 1) {
    const target = splitHostPort(positionals[0]);
    host = target.host;
    if (target.port !== undefined) port = target.port;
  }
  const name = values.name ?? env.CHAT_NAME;
  return {
    command: "join",
    settings: { host, port: parsePort(port, "join"), name: name === "" ? undefined : name },
  };
}

type OptionSpec = Record<string, { type: "string" | "boolean"; short?: string }>;

function parse<T extends OptionSpec>(
  args: string[],
  options: T,
  command: string,
  allowPositionals: boolean,
) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const flag = /'(-{1,2}[^'\s]+)/.exec(message)?.[1];
    if (flag && /Unknown option/i.test(message)) {
      const hint = suggest(flag.replace(/^-+/, ""), Object.keys(options), "--");
      throw new UsageError(`unknown option '${flag}'${hint}`, command);
    }
    if (flag && /argument missing/i.test(message)) {
      throw new UsageError(`option '${flag}' needs a value`, command);
    }
    if (/positional/i.test(message)) {
      throw new UsageError(
        `unexpected argument: ${message.match(/'([^']*)'/)?.[1] ?? ""}`,
        command,
      );
    }
    throw new UsageError(message.split("\n")[0], command);
  }
}

/** Splits `host`, `host:port`, `[v6]` or `[v6]:port`. */
function splitHostPort(target: string): { host: string; port?: string } {
  const v6 = /^\[([^\]]+)\](?::(.*))?$/.exec(target);
  if (v6) return v6[2] === undefined ? { host: v6[1] } : { host: v6[1], port: v6[2] };
  const colons = target.split(":").length - 1;
  if (colons === 1) {
    const [host, port] = target.split(":");
    return { host: host || DEFAULT_JOIN_HOST, port };
  }
  return { host: target };
}

function parsePort(value: string | undefined, command: string): number {
  if (value === undefined || value === "") return DEFAULT_PORT;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) {
    throw new UsageError(`invalid port '${value}': use a number from 0 to 65535`, command);
  }
  return port;
}

/** Flags that take a size in bytes, with an optional K or M suffix, and their maximum. */
const SIZE_FLAGS: Record<string, number> = {
  "--max-line": 1024 * 1024,
  "--queue-limit": 1024 * 1024 * 1024,
};

/** Flags that take a fraction; the others take whole numbers. */
const FRACTION_FLAGS = new Set(["--flood-rate"]);

/** Parses a number of at least `min` for `flag`; sizes may end in K or M (KiB, MiB). */
function parseNumber(value: string | undefined, flag: string, min: number): number | undefined {
  if (value === undefined || value === "") return undefined;
  const max = SIZE_FLAGS[flag] ?? Number.MAX_SAFE_INTEGER;
  const suffix = flag in SIZE_FLAGS ? "[kKmM]?" : "";
  const match = new RegExp(`^(\\d+(?:\\.\\d+)?)(${suffix})$`).exec(value.trim());
  const scale = match?.[2] ? (match[2].toLowerCase() === "k" ? 1024 : 1024 * 1024) : 1;
  const n = match ? Number(match[1]) * scale : NaN;
  const whole = !FRACTION_FLAGS.has(flag);
  if (!Number.isFinite(n) || n < min || n > max || (whole && !Number.isInteger(n))) {
    const kind = whole ? "a whole number" : "a number";
    const range = max < Number.MAX_SAFE_INTEGER
      ? `from ${min} to ${sizeText(max)}`
      : `of ${min} or more`;
    throw new UsageError(`invalid ${flag} '${value}': use ${kind} ${range}`, "serve");
  }
  return n;
}

function sizeText(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / 1024 / 1024}M` : String(bytes);
}

function suggest(word: string, choices: string[], prefix = ""): string {
  const near = closest(word, choices);
  return near ? `; did you mean '${prefix}${near}'?` : "";
}
