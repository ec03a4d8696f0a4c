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
import { closest } from "../core/did_you_mean.ts";
import { errorMessage, lowerFirst } from "../core/errors.ts";
import { checkName } from "../core/names.ts";
import { DEFAULT_CERT_DAYS, MAX_CERT_DAYS } from "../auth/cert_days.ts";
import {
  DEFAULT_FLOOD,
  DEFAULT_HISTORY,
  DEFAULT_MAX_ROOMS,
  DEFAULT_MAX_ROOMS_PER_USER,
  DEFAULT_MAX_USERS,
  MAX_HISTORY,
} from "../core/limits.ts";
import { DEFAULT_JOIN_HOST, DEFAULT_PORT, MAX_LINE_BYTES } from "../protocol/limits.ts";
import {
  DEFAULT_MAX_PER_ADDRESS,
  DEFAULT_PING_INTERVAL_MS,
  DEFAULT_QUEUE_LIMIT,
  DEFAULT_REGISTRATION_TIMEOUT_MS,
  DEFAULT_SERVE_HOST,
  DEFAULT_WEB_PORT,
} from "../server/limits.ts";
import { DEFAULT_KEEP_DAYS, DEFAULT_KEEP_MESSAGES } from "../store/retention.ts";
import { AUTH_MODES, type Invocation, type UserAction } from "./settings.ts";

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

const HELP_TOPICS = ["serve", "join", "user", "cert", "backup"] as const;

/** What `chat help X` answers with the overview: help itself, and the version. */
const OVERVIEW_TOPICS = ["help", "-h", "--help", "version", "-v", "-V", "--version"];

/** How people ask a program for its version; a subcommand points them to `chat --version`. */
const VERSION_FLAGS = ["-v", "-V", "--version"];

const SERVE_OPTIONS = {
  host: { type: "string" },
  port: { type: "string" },
  "max-users": { type: "string" },
  motd: { type: "string" },
  "max-per-ip": { type: "string" },
  "max-rooms": { type: "string" },
  "max-rooms-per-user": { type: "string" },
  "flood-rate": { type: "string" },
  "flood-burst": { type: "string" },
  "ping-interval": { type: "string" },
  "register-timeout": { type: "string" },
  "max-line": { type: "string" },
  "queue-limit": { type: "string" },
  data: { type: "string" },
  auth: { type: "string" },
  history: { type: "string" },
  "keep-days": { type: "string" },
  "keep-messages": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "web-port": { type: "string" },
  "no-web": { type: "boolean" },
  "web-name": { type: "string", multiple: true },
  help: { type: "boolean", short: "h" },
} as const;

const JOIN_OPTIONS = {
  host: { type: "string" },
  port: { type: "string" },
  name: { type: "string" },
  tls: { type: "boolean" },
  ca: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const USER_OPTIONS = {
  data: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const CERT_OPTIONS = {
  out: { type: "string" },
  days: { type: "string" },
  force: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

const BACKUP_OPTIONS = {
  data: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Each subcommand's options, to say which one a misplaced option belongs to. */
const COMMAND_OPTIONS: Record<string, OptionSpec> = {
  serve: SERVE_OPTIONS,
  join: JOIN_OPTIONS,
  user: USER_OPTIONS,
  cert: CERT_OPTIONS,
  backup: BACKUP_OPTIONS,
};

const USER_ACTIONS: readonly UserAction[] = ["add", "passwd", "del", "list"];

/**
 * Works out what the command line asks for. `env` supplies the `CHAT_*`
 * variables.
 *
 * @throws {UsageError} for unknown commands or flags and bad values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCommandLine } from "./command_line.ts";
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
      return { command: "help" };
    case "-h":
    case "--help":
    case "help": {
      // `chat --help join` is `chat help join`; `chat help help` or `chat help
      // version` get the overview, which says what both do.
      const topic = rest[0];
      if (topic === undefined || OVERVIEW_TOPICS.includes(topic)) return { command: "help" };
      const known = HELP_TOPICS.find((t) => t === topic);
      if (known) return { command: "help", topic: known };
      const hint = suggest(topic, [...HELP_TOPICS]) ||
        `; the commands are ${HELP_TOPICS.slice(0, -1).join(", ")} and ${HELP_TOPICS.at(-1)}`;
      throw new UsageError(`no help for '${topic}'${hint}`);
    }
    case "-V":
    case "-v":
    case "--version":
    case "version":
      return { command: "version" };
    case "serve":
      return parseServe(rest, env);
    case "join":
      return parseJoin(rest, env);
    case "user":
      return parseUser(rest, env);
    case "cert":
      return parseCert(rest);
    case "backup":
      return parseBackup(rest, env);
    default: {
      if (first.startsWith("-")) {
        const owner = Object.entries(COMMAND_OPTIONS).find(([, options]) =>
          isOption(first, options)
        );
        const hint = owner ? `: options go after the command, as in chat ${owner[0]} ${first}` : "";
        throw new UsageError(`unknown option '${first}'${hint}`);
      }
      throw new UsageError(`unknown command '${first}'${suggest(first, [...HELP_TOPICS, "help"])}`);
    }
  }
}

function parseServe(args: string[], env: Record<string, string | undefined>): Invocation {
  const values = parse(args, SERVE_OPTIONS, "serve", false).values;
  if (values.help) return { command: "help", topic: "serve" };
  const given = (flag: keyof typeof SERVE_OPTIONS, variable: string) =>
    fromFlagOrEnv(values[flag] as string | undefined, `--${flag}`, env, variable);
  const number = (
    flag: keyof typeof SERVE_OPTIONS,
    variable: string,
    fallback: number,
    min = 0,
  ) => {
    const { text, label } = given(flag, variable);
    return parseNumber(text, `--${flag}`, min, "serve", label) ?? fallback;
  };
  const data = nonEmpty(values.data ?? env.CHAT_DATA);
  const authGiven = given("auth", "CHAT_AUTH");
  // An empty CHAT_AUTH is unset; an empty --auth is a mistake to name.
  const authText = (authGiven.label === "CHAT_AUTH" ? nonEmpty(authGiven.text) : authGiven.text) ??
    "off";
  const auth = AUTH_MODES.find((mode) => mode === authText);
  if (!auth) {
    throw new UsageError(
      `invalid ${authGiven.label} '${authText}': use ${AUTH_MODES.join(", ")}${
        suggest(authText, [...AUTH_MODES])
      }`,
      "serve",
    );
  }
  if (auth !== "off" && data === undefined) {
    const set = authGiven.label === "CHAT_AUTH" ? `CHAT_AUTH=${auth}` : `--auth ${auth}`;
    throw new UsageError(`${set} needs --data DIR, where the accounts are kept`, "serve");
  }
  if (data === undefined) {
    // Retention prunes the database: without one, the setting would be silently ignored.
    const retention = [["keep-days", "CHAT_KEEP_DAYS"], ["keep-messages", "CHAT_KEEP_MESSAGES"]];
    for (const [flag, variable] of retention as [keyof typeof SERVE_OPTIONS, string][]) {
      const { text, label } = given(flag, variable);
      // A bad value is the first thing to fix.
      number(flag, variable, 0);
      if (nonEmpty(text) === undefined) continue;
      const set = label === variable ? `${variable}=${text}` : `${label} ${text}`;
      throw new UsageError(
        `${set} needs --data DIR: without it nothing is kept on disk (history stays in memory)`,
        "serve",
      );
    }
  }
  const portGiven = given("port", "CHAT_PORT");
  const port = parsePort(portGiven.text, "serve", 0, portLabel(portGiven.label));
  const tlsCert = nonEmpty(values["tls-cert"] ?? env.CHAT_TLS_CERT);
  const tlsKey = nonEmpty(values["tls-key"] ?? env.CHAT_TLS_KEY);
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new UsageError(
      `--tls-cert and --tls-key go together: give both, or neither ('chat cert' makes the pair)`,
      "serve",
    );
  }
  return {
    command: "serve",
    settings: {
      host: values.host ?? env.CHAT_HOST ?? DEFAULT_SERVE_HOST,
      port,
      maxUsers: number("max-users", "CHAT_MAX_USERS", DEFAULT_MAX_USERS, 1),
      motd: values.motd ?? env.CHAT_MOTD,
      maxPerIp: number("max-per-ip", "CHAT_MAX_PER_IP", DEFAULT_MAX_PER_ADDRESS),
      maxRooms: number("max-rooms", "CHAT_MAX_ROOMS", DEFAULT_MAX_ROOMS, 1),
      maxRoomsPerUser: number(
        "max-rooms-per-user",
        "CHAT_MAX_ROOMS_PER_USER",
        DEFAULT_MAX_ROOMS_PER_USER,
        1,
      ),
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
      data,
      auth,
      tlsCert,
      tlsKey,
      history: number("history", "CHAT_HISTORY", DEFAULT_HISTORY),
      keepDays: number("keep-days", "CHAT_KEEP_DAYS", DEFAULT_KEEP_DAYS),
      keepMessages: number("keep-messages", "CHAT_KEEP_MESSAGES", DEFAULT_KEEP_MESSAGES),
      webPort: parseWebPort(values["web-port"], values["no-web"], values["web-name"], env, port),
      webPortChosen: nonEmpty(values["web-port"] ?? env.CHAT_WEB_PORT) !== undefined,
      webNames: values["web-name"] !== undefined
        ? parseWebNames(values["web-name"], "--web-name")
        : parseWebNames(env.CHAT_WEB_NAME ? [env.CHAT_WEB_NAME] : [], "CHAT_WEB_NAME"),
    },
  };
}

/**
 * The web page's port from --web-port and --no-web (or their variables);
 * null for none; --web-name `names` with --no-web are a contradiction too. By default the port after the chat `port` (7778 after
 * 7777), so that two servers on their own ports do not collide on it; a
 * free one when the chat port is picked freely too (0).
 */
function parseWebPort(
  flag: string | undefined,
  noWeb: boolean | undefined,
  names: string[] | undefined,
  env: Record<string, string | undefined>,
  port: number,
): number | null {
  if (flag !== undefined && noWeb) {
    throw new UsageError("--web-port and --no-web contradict each other: give one", "serve");
  }
  if (names !== undefined && noWeb) {
    throw new UsageError("--web-name and --no-web contradict each other: give one", "serve");
  }
  const off = noWeb ?? (flag === undefined ? parseSwitch(env.CHAT_NO_WEB, "CHAT_NO_WEB") : false);
  if (off) return null;
  const { text, label } = fromFlagOrEnv(flag, "--web-port", env, "CHAT_WEB_PORT");
  if (text === undefined || text === "") {
    if (port === DEFAULT_PORT) return DEFAULT_WEB_PORT;
    return port === 0 || port === 65535 ? 0 : port + 1;
  }
  const web = Number(text);
  if (!/^\d+$/.test(text) || web > 65535) {
    throw new UsageError(`invalid ${label} '${text}': use a number from 0 to 65535`, "serve");
  }
  if (web !== 0 && web === port) {
    throw new UsageError(
      `${label === "--web-port" ? "--web-port " : "CHAT_WEB_PORT="}${web} is the chat port too: ` +
        "give the web page another port",
      "serve",
    );
  }
  return web;
}

/**
 * The names of --web-name (repeated, or comma-separated; or CHAT_WEB_NAME):
 * host names as a browser's address bar holds them, without port or path.
 */
function parseWebNames(texts: string[], label: string): string[] {
  const names = texts.flatMap((text) => text.split(",")).map((name) => name.trim());
  for (const name of names.filter((name) => name !== "")) {
    let url: URL | undefined;
    try {
      url = new URL(`http://${name}/`);
    } catch { /* said below */ }
    if (url?.host !== url?.hostname || url?.pathname !== "/" || url.username !== "") {
      throw new UsageError(
        `invalid ${label} '${name}': give a host name as typed in a browser, such as chat.school.lan`,
        "serve",
      );
    }
  }
  return names.filter((name) => name !== "");
}

/** An on/off environment variable: 1, true or yes; 0, false, no or empty. */
function parseSwitch(value: string | undefined, name: string): boolean {
  const text = (value ?? "").trim().toLowerCase();
  if (["1", "true", "yes"].includes(text)) return true;
  if (["", "0", "false", "no"].includes(text)) return false;
  throw new UsageError(`invalid ${name} '${value}': use 1 (on) or 0 (off)`, "serve");
}

function parseJoin(args: string[], env: Record<string, string | undefined>): Invocation {
  const { values, positionals } = parse(args, JOIN_OPTIONS, "join", true);
  if (values.help) return { command: "help", topic: "join" };
  if (positionals.length === 2 && /^\d+$/.test(positionals[1])) {
    // The way nc takes them: chat serve prints `nc HOST PORT` beside `chat join`.
    const [host, port] = positionals;
    const address = host.includes(":") && !host.startsWith("[")
      ? `[${host}]:${port}`
      : `${host}:${port}`;
    throw new UsageError(`give the port after a colon: chat join ${address}`, "join");
  }
  if (positionals.length > 1) {
    throw new UsageError(`too many arguments: ${positionals.join(" ")}`, "join");
  }
  let host = values.host ?? env.CHAT_HOST ?? DEFAULT_JOIN_HOST;
  let { text: port, label: portFrom } = fromFlagOrEnv(values.port, "--port", env, "CHAT_PORT");
  if (positionals.length === 1) {
    const target = splitHostPort(positionals[0]);
    if (values.host !== undefined && values.host !== target.host) {
      throw new UsageError(
        `two hosts given: ${positionals[0]} and --host ${values.host}; give one`,
        "join",
      );
    }
    host = target.host;
    if (target.port !== undefined) {
      if (values.port !== undefined && values.port !== target.port) {
        throw new UsageError(
          `two ports given: ${positionals[0]} and --port ${values.port}; give one`,
          "join",
        );
      }
      port = target.port;
      portFrom = "port";
    }
  }
  if (values.name === "") throw new UsageError("--name cannot be empty", "join");
  const name = values.name ?? env.CHAT_NAME;
  // The server's rule, said before connecting: a leading '-' is most often a flag given as a name.
  if (name?.startsWith("-")) {
    const source = values.name !== undefined ? "--name" : "CHAT_NAME";
    throw new UsageError(
      `invalid ${source} '${name}': a name must start with a letter or digit`,
      "join",
    );
  }
  const ca = nonEmpty(values.ca ?? env.CHAT_CA);
  return {
    command: "join",
    settings: {
      host,
      port: parsePort(port, "join", 1, portLabel(portFrom)),
      name: name === "" ? undefined : name,
      // A certificate to trust only means something over TLS.
      tls: values.tls === true || ca !== undefined,
      ca,
      password: nonEmpty(env.CHAT_PASSWORD),
    },
  };
}

function parseUser(args: string[], env: Record<string, string | undefined>): Invocation {
  const { values, positionals } = parse(args, USER_OPTIONS, "user", true);
  if (values.help) return { command: "help", topic: "user" };
  const [actionText, name, ...extra] = positionals;
  if (actionText === undefined) {
    throw new UsageError(`say what to do: chat user ${USER_ACTIONS.join("|")}`, "user");
  }
  const action = USER_ACTIONS.find((a) => a === actionText);
  if (!action) {
    const hint = suggest(actionText, [...USER_ACTIONS]) ||
      `; use ${USER_ACTIONS.slice(0, -1).join(", ")} or ${USER_ACTIONS.at(-1)}`;
    throw new UsageError(`unknown action '${actionText}'${hint}`, "user");
  }
  if (action === "list" ? name !== undefined : extra.length > 0) {
    throw new UsageError(`too many arguments: ${positionals.slice(1).join(" ")}`, "user");
  }
  if (action !== "list" && (name === undefined || name.trim() === "")) {
    throw new UsageError(`name the account: chat user ${action} NAME`, "user");
  }
  let account = name?.normalize("NFC").trim();
  if (action === "add" && account !== undefined) {
    // Only new names follow today's rules: an older account whose name they
    // now refuse can still get a new password or be deleted.
    const checked = checkName(account);
    if (!checked.ok) {
      throw new UsageError(`cannot add '${account}': ${lowerFirst(checked.reason)}`, "user");
    }
    account = checked.name;
  }
  const data = nonEmpty(values.data ?? env.CHAT_DATA);
  if (data === undefined) {
    throw new UsageError(
      "chat user needs --data DIR (or CHAT_DATA): the directory of 'chat serve --data DIR'",
      "user",
    );
  }
  return {
    command: "user",
    settings: { action, name: account, data, password: nonEmpty(env.CHAT_PASSWORD) },
  };
}

function parseBackup(args: string[], env: Record<string, string | undefined>): Invocation {
  const { values, positionals } = parse(args, BACKUP_OPTIONS, "backup", true);
  if (values.help) return { command: "help", topic: "backup" };
  const data = nonEmpty(values.data ?? env.CHAT_DATA);
  if (data === undefined) {
    throw new UsageError(
      "chat backup needs --data DIR (or CHAT_DATA): the directory of 'chat serve --data DIR'",
      "backup",
    );
  }
  if (positionals.length !== 1 || positionals[0] === "") {
    throw new UsageError(
      positionals.length > 1
        ? `too many arguments: ${positionals.join(" ")}; name one file to write`
        : "name the file to write the copy to, e.g. chat backup --data ./data chat-backup.db",
      "backup",
    );
  }
  return { command: "backup", settings: { data, file: positionals[0] } };
}

function parseCert(args: string[]): Invocation {
  const { values, positionals } = parse(args, CERT_OPTIONS, "cert", true);
  if (values.help) return { command: "help", topic: "cert" };
  if (positionals.length === 0) {
    throw new UsageError(
      "name the host names or IP addresses clients will use, e.g. chat cert chat.lan 192.168.1.20",
      "cert",
    );
  }
  return {
    command: "cert",
    settings: {
      names: positionals,
      out: nonEmpty(values.out) ?? ".",
      days: parseNumber(values.days, "--days", 1, "cert") ?? DEFAULT_CERT_DAYS,
      force: values.force === true,
    },
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

type OptionSpec = Record<string, { type: "string" | "boolean"; short?: string }>;

function parse<T extends OptionSpec>(
  args: string[],
  options: T,
  command: string,
  allowPositionals: boolean,
) {
  try {
    return parseArgs({
      args: joinDashValues(args, options, command),
      options,
      strict: true,
      allowPositionals,
    });
  } catch (error) {
    const message = errorMessage(error);
    const flag = /'(-{1,2}[^'\s]+)/.exec(message)?.[1];
    if (flag && /Unknown option/i.test(message)) {
      // parseArgs names one letter of `-name`; the person typed all of it.
      const typed = flag.startsWith("--")
        ? flag
        : args.find((arg) => /^-[^-]/.test(arg) && arg.startsWith(flag)) ?? flag;
      throw new UsageError(`unknown option '${typed}'${optionHint(typed, options)}`, command);
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

/**
 * What to say after "unknown option": where the version is, or the option
 * meant. A short flag is matched by its letter (`-n` for `--name`): one
 * letter is within two edits of every short option name; a long name after
 * one dash (`-name`) only by that name.
 */
function optionHint(flag: string, options: OptionSpec): string {
  if (VERSION_FLAGS.includes(flag)) return "; 'chat --version' prints the version";
  const names = Object.keys(options);
  if (flag.startsWith("--")) return suggest(flag.slice(2), names, "--");
  const word = flag.slice(1);
  const long = word.length === 1
    ? names.find((name) => name.startsWith(word))
    : names.find((name) => name === word);
  return long ? `; did you mean '--${long}'?` : "";
}

/** A value that parseArgs would take for an option: a negative number (`-5`, `-0.5`, `-.5`, `-1K`). */
const NEGATIVE_NUMBER = /^-\.?\d/;

/**
 * `args` with each negative number after an option that takes a value joined
 * to it (`--port -5` as `--port=-5`), so that the value is checked and its
 * fault named: parseArgs reads "-5" as an option and calls `--port`
 * "ambiguous". No option name starts with a digit, so nothing is lost.
 *
 * @throws {UsageError} when the value is missing (another option follows) or
 * is something else that starts with '-' (saying how to give it).
 */
function joinDashValues(args: string[], options: OptionSpec, command: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    out.push(arg);
    if (arg === "--") {
      out.push(...args.slice(i + 1));
      break;
    }
    const name = arg.startsWith("--") && !arg.includes("=") ? arg.slice(2) : undefined;
    const next = args[i + 1];
    const option = name !== undefined && Object.hasOwn(options, name) ? options[name] : undefined;
    // A lone "-" is a value (parseArgs takes it as one): the usual name for stdin.
    if (option?.type !== "string" || !next?.startsWith("-") || next === "-") continue;
    // A name never starts with '-': parseJoin says so, better than "write --name=-x".
    if (NEGATIVE_NUMBER.test(next) || (name === "name" && !isOption(next, options))) {
      out[out.length - 1] = `${arg}=${next}`;
      i++;
    } else if (isOption(next, options)) {
      throw new UsageError(`option '${arg}' needs a value`, command);
    } else {
      throw new UsageError(
        `option '${arg}' needs a value; to give one that starts with '-', write ${arg}=${next}`,
        command,
      );
    }
  }
  return out;
}

/** Whether `arg` names one of `options` (`--port`, `--port=1`, `-h`), not a value. */
function isOption(arg: string, options: OptionSpec): boolean {
  if (arg.startsWith("--")) {
    return arg === "--" || Object.hasOwn(options, arg.slice(2).split("=")[0]);
  }
  return Object.values(options).some((option) => option.short === arg.slice(1));
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
  // More colons can only be a bare IPv6 address, which always has "::" or 7 colons.
  if (colons > 1 && !target.includes("::") && colons !== 7) {
    throw new UsageError(
      `invalid address '${target}': use HOST, HOST:PORT or [IPv6]:PORT`,
      "join",
    );
  }
  return { host: target };
}

/**
 * A setting's text from its flag, else from its environment variable, and
 * what to call it in an error: the one the person set.
 */
function fromFlagOrEnv(
  flagValue: string | undefined,
  flag: string,
  env: Record<string, string | undefined>,
  variable: string,
): { text: string | undefined; label: string } {
  return flagValue !== undefined
    ? { text: flagValue, label: flag }
    : { text: env[variable], label: variable };
}

/** How an error calls a port: by its variable when it came from one, else just "port". */
function portLabel(from: string): string {
  return from === "CHAT_PORT" ? from : "port";
}

/**
 * A port number; `chat serve` may take 0 (any free port), `chat join` may
 * not. `label` names where it came from in an error (a variable, say).
 */
function parsePort(value: string | undefined, command: string, min = 0, label = "port"): number {
  if (value === undefined || value === "") return DEFAULT_PORT;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < min || port > 65535) {
    throw new UsageError(`invalid ${label} '${value}': use a number from ${min} to 65535`, command);
  }
  return port;
}

/** Flags that take a size in bytes, with an optional K or M suffix, and their maximum. */
const SIZE_FLAGS: Record<string, number> = {
  "--max-line": 1024 * 1024,
  "--queue-limit": 1024 * 1024 * 1024,
};

/** Largest values of flags that are not sizes. */
const MAXIMUM: Record<string, number> = {
  "--history": MAX_HISTORY,
  "--days": MAX_CERT_DAYS,
};

/** Flags that take a fraction; the others take whole numbers. */
const FRACTION_FLAGS = new Set(["--flood-rate"]);

/**
 * Parses a number of at least `min` for `flag` of `command`; sizes may end in
 * K or M (KiB, MiB). An error names `label` (the variable it came from, say).
 */
function parseNumber(
  value: string | undefined,
  flag: string,
  min: number,
  command: string,
  label = flag,
): number | undefined {
  if (value === undefined || value === "") return undefined;
  const max = SIZE_FLAGS[flag] ?? MAXIMUM[flag] ?? Number.MAX_SAFE_INTEGER;
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
    throw new UsageError(`invalid ${label} '${value}': use ${kind} ${range}`, command);
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
