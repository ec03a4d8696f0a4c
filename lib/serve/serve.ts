/**
 * `chat serve`: run a server in this process until Ctrl+C or another stop
 * signal (SIGTERM, SIGQUIT, and SIGHUP in a terminal).
 *
 * Prints where it listens and how others can join, logs what happens for the
 * operator, turns lines typed into the console into announcements, and shuts
 * down cleanly on a signal.
 *
 * @module
 */

import { ExitCode } from "../cli/exit_codes.ts";
import type { ServeSettings } from "../cli/settings.ts";
import { errorMessage } from "../core/errors.ts";
import { DEFAULT_FLOOD } from "../core/limits.ts";
import { plural } from "../core/plural.ts";
import { DEFAULT_PORT } from "../protocol/limits.ts";
import { fileReason } from "../cli/files.ts";
import { readLines } from "../io/line_reader.ts";
import { LogWriter, timeOfDay } from "./log_writer.ts";
import { ChatServer, WebListenError } from "./chat_server.ts";
import { operatorLine } from "./console_commands.ts";
import { certificateNames, coveredBy, describeNames } from "./cert_names.ts";
import { lanAddresses } from "./lan_addresses.ts";
import { webHints } from "./web_hints.ts";
import type { Store } from "../store/sqlite_store.ts";
import { VERSION } from "../version.ts";
import { formatAddress } from "../server/address.ts";

export { CONSOLE_HELP, operatorLine } from "./console_commands.ts";

/** Where `chat serve` writes; tests and other front ends can pass their own. */
export interface ServeIO {
  /** Prints one line of the operator's log. */
  out(line: string): void;
  /** Prints one error line. */
  err(line: string): void;
  /** Whether stdin is a terminal the operator types announcements into. */
  console: boolean;
  /** Waits until the lines printed so far are written, at most `timeoutMs`. */
  flush?(timeoutMs: number): Promise<void>;
}

/**
 * The log goes to stdout in batches, without blocking the server on a slow
 * terminal or pipe (see LogWriter); errors are rare and go out at once.
 */
const stdoutLog = new LogWriter(Deno.stdout, {
  droppedNote: (count) => `[${timeOfDay()}] ${count} log lines dropped: the output was too slow`,
  // Busy rooms' lines go out together, at most 20 writes a second; a person reading sees no lag.
  minGapMs: 50,
});

const DEFAULT_IO: ServeIO = {
  out: (line) => stdoutLog.line(line),
  err: (line) => console.error(line),
  console: Deno.stdin.isTerminal(),
  flush: (timeoutMs) => stdoutLog.flush(timeoutMs),
};

/** Whether the server runs in the operator's terminal (nohup and service managers take it away). */
const IN_TERMINAL = Deno.stdin.isTerminal();

/**
 * The signals that shut the server down cleanly, every user told. SIGHUP
 * comes when the operator's terminal closes, and SIGQUIT from Ctrl+\: both
 * would otherwise end the process at once, resetting every connection.
 */
const STOP_SIGNALS: readonly Deno.Signal[] = Deno.build.os === "windows"
  ? ["SIGINT"]
  : ["SIGINT", "SIGTERM", "SIGQUIT", ...(IN_TERMINAL ? ["SIGHUP" as const] : [])];

/**
 * Signals heard and ignored. Outside a terminal (nohup, a service manager)
 * SIGHUP is no reason to stop; and it must be listened for, because once any
 * signal has a listener Deno (2.9) catches SIGHUP and dies of it, even when
 * `nohup` set it to be ignored.
 */
const IGNORED_SIGNALS: readonly Deno.Signal[] = Deno.build.os === "windows" ? [] : [
  ...(IN_TERMINAL ? [] : ["SIGHUP" as const]),
  // A file grown to the size limit (ulimit -f) would kill the server; heard,
  // the write fails instead, and the store refuses messages until there is room.
  "SIGXFSZ",
];

/** How long the last lines of the log may take to be written when the server stops. */
const FINAL_FLUSH_MS = 2_000;

/** Runs a chat server until a signal stops it; resolves to the exit code. */
export async function serve(settings: ServeSettings, io: ServeIO = DEFAULT_IO): Promise<number> {
  const log = (line: string) => io.out(`[${timeOfDay()}] ${line}`);
  // Listen for signals before anything is printed: whoever reads "listening"
  // may signal at once.
  const stopped = Promise.withResolvers<Deno.Signal>();
  let signals = 0;
  const stop = (name: Deno.Signal) => () => {
    if (++signals > 1) {
      io.err("chat: stopping now");
      Deno.exit(ExitCode.Failure);
    }
    stopped.resolve(name);
  };
  const listeners = [
    ...STOP_SIGNALS.map((name) => ({ name, listener: stop(name) })),
    ...IGNORED_SIGNALS.map((name) => ({ name, listener: () => {} })),
  ];
  for (const { name, listener } of listeners) Deno.addSignalListener(name, listener);
  const removeSignals = () => {
    for (const { name, listener } of listeners) Deno.removeSignalListener(name, listener);
  };
  // Everything that can be wrong with the files is said before listening,
  // so a mistake is one clear line at start, never a failure later.
  const tls = readTls(settings, io);
  if (tls === null) {
    removeSignals();
    return ExitCode.Failure;
  }
  const store = await openStore(settings, io);
  if (store === null) {
    removeSignals();
    return ExitCode.Failure;
  }
  let server: ChatServer;
  try {
    server = new ChatServer({
      hostname: settings.host,
      port: settings.port,
      maxUsers: settings.maxUsers,
      motd: settings.motd,
      version: VERSION,
      log,
      maxPerAddress: settings.maxPerIp,
      flood: settings.floodRate > 0
        ? {
          burst: settings.floodBurst,
          rate: settings.floodRate,
          kickAfter: DEFAULT_FLOOD.kickAfter,
        }
        : null,
      pingIntervalMs: settings.pingInterval * 1000,
      registrationTimeoutMs: settings.registerTimeout * 1000,
      maxLineBytes: settings.maxLine,
      queueLimitBytes: settings.queueLimit,
      history: settings.history,
      maxRooms: settings.maxRooms,
      maxRoomsPerUser: settings.maxRoomsPerUser,
      store,
      auth: settings.auth,
      tls,
      ...(settings.webPort !== null
        ? {
          webPort: settings.webPort,
          webPortFallback: !settings.webPortChosen,
          webNames: settings.webNames,
        }
        : {}),
    });
  } catch (error) {
    io.err(`chat: ${listenFailure(error, settings)}`);
    store?.close();
    removeSignals();
    return ExitCode.Failure;
  }
  const { hostname, port } = server.addr;
  log(
    `chat ${VERSION} listening on ${formatAddress(server.addr)}${tls ? " with TLS" : ""} ` +
      `(at most ${plural(settings.maxUsers, "user")})`,
  );
  if (store) {
    log(`data in ${store.path}; accounts: ${settings.auth}`);
    for (const warning of store.warnings) log(`warning: ${warning}`);
    if (settings.auth !== "off" && store.listUsers().length === 0) {
      // An empty store here is often a mistyped --data: say what the setting then does.
      const effect = settings.auth === "required"
        ? "nobody can log in"
        : "every name is free to take, none is protected";
      log(
        `warning: --auth ${settings.auth} and no accounts in ${store.path}: ${effect} until ` +
          `'chat user add NAME --data ${settings.data}' makes one`,
      );
    }
    store.startCheckpoints(log);
    store.startPruning({ keepDays: settings.keepDays, keepMessages: settings.keepMessages }, log);
  }
  if (settings.auth !== "off" && !tls) {
    log(
      `warning: --auth ${settings.auth} without TLS: passwords cross the network as plain ` +
        "text; 'chat cert' makes a certificate for --tls-cert and --tls-key",
    );
  }
  for (const line of joinHints(hostname, port, tls?.cert)) io.out(line);
  if (server.webAddr) {
    log(`web page on ${formatAddress(server.webAddr)}${tls ? " with TLS" : ""}`);
  }
  for (const line of webHints(server.webAddr, tls?.cert, io.console, settings.webNames)) {
    io.out(line);
  }
  if (io.console) {
    io.out(
      "Type a line to announce it to everyone; /help lists commands; Ctrl+C stops the server.",
    );
    void operatorConsole(server, io);
  }

  await server.shutdown(undefined, await stopped.promise);
  store?.close();
  removeSignals();
  log("stopped");
  // The caller exits the process next, which would lose what is still queued.
  await io.flush?.(FINAL_FLUSH_MS);
  return ExitCode.Ok;
}

/**
 * Lines telling the operator what others should type to join. With TLS
 * (`cert`, the PEM given to --tls-cert), clients need the certificate
 * (`--ca`), nc cannot join, and only hosts the certificate is for can work:
 * a client refuses a certificate that does not name the host it typed.
 */
export function joinHints(hostname: string, port: number, cert?: string): string[] {
  const tls = cert !== undefined;
  const suffix = port === DEFAULT_PORT ? "" : `:${port}`;
  const ca = tls ? " --ca chat-cert.pem" : "";
  const nc = (host: string) => tls ? "" : `   (or: nc ${host} ${port})`;
  // chat join reads HOST:PORT, so an IPv6 host needs its brackets.
  const join = (host: string) =>
    `chat join ${host.includes(":") && suffix ? `[${host}]` : host}${suffix}${ca}`;
  const names = tls ? certificateNames(cert) : undefined;
  const covered = (host: string) => names === undefined || coveredBy(names, host);
  const wildcard = hostname === "0.0.0.0" || hostname === "::";
  const remote = (wildcard ? lanAddresses() : [hostname]).filter(covered);
  // The names the certificate was made for are what its clients should type (a name, not
  // an address that may change); this machine cannot tell whether they lead to it.
  const named = wildcard
    ? (names?.dns ?? []).filter((name) => name !== "localhost" && !name.startsWith("*."))
    : [];
  // From this machine: the first of these the certificate is for.
  const loopback = wildcard || isLoopback(hostname)
    ? ["localhost", "127.0.0.1", ...(hostname === "::" || hostname === "::1" ? ["::1"] : [])]
      .find(covered)
    : undefined;
  const lines: string[] = [];
  if (names !== undefined && remote.length === 0 && loopback === undefined) {
    lines.push(
      "This machine's names and addresses are not in the certificate given to --tls-cert:",
    );
    lines.push(
      `  the certificate is for ${describeNames(names) || "no host name or address"}: ` +
        `join with one of those (${join("HOST")})`,
    );
  } else if (!wildcard) {
    const host = remote[0] ?? loopback!;
    lines.push(`Join with: ${join(host)}${nc(host)}`);
  } else {
    lines.push("Others can join with:");
    for (const name of named) {
      lines.push(`  ${join(name)}   (the certificate's name for this server)`);
    }
    for (const address of remote) lines.push(`  ${join(address)}${nc(address)}`);
    if (loopback !== undefined) lines.push(`  ${join(loopback)}   (from this machine)`);
  }
  if (tls) lines.push("  (give each client a copy of the certificate given to --tls-cert)");
  return lines;
}

/** Where "localhost" leads: not 127.0.0.2, which is loopback too. */
function isLoopback(hostname: string): boolean {
  return hostname === "127.0.0.1" || hostname === "::1";
}

async function operatorConsole(server: ChatServer, io: ServeIO): Promise<void> {
  for await (const read of readLines(Deno.stdin)) {
    if (read.kind === "line") operatorLine(server, read.text, io.out);
  }
}

/**
 * The certificate and key for TLS, read; undefined without TLS, null (after
 * saying why) when a file cannot be read.
 */
function readTls(
  settings: ServeSettings,
  io: ServeIO,
): { cert: string; key: string } | undefined | null {
  if (settings.tlsCert === undefined || settings.tlsKey === undefined) return undefined;
  const read = (flag: string, path: string) => {
    try {
      return Deno.readTextFileSync(path);
    } catch (error) {
      io.err(`chat: cannot read ${flag} ${path} (${fileReason(error)})`);
      return null;
    }
  };
  const cert = read("--tls-cert", settings.tlsCert);
  if (cert === null) return null;
  const key = read("--tls-key", settings.tlsKey);
  if (key === null) return null;
  return { cert, key };
}

/** The store of `--data`, open; undefined without it, null (after saying why) when it cannot be used. */
async function openStore(settings: ServeSettings, io: ServeIO): Promise<Store | undefined | null> {
  if (settings.data === undefined) return undefined;
  // Loaded only when asked for: node:sqlite is not needed by an open room.
  const { Store, StoreError } = await import("../store/sqlite_store.ts");
  try {
    return Store.open(settings.data, { exclusive: true });
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    io.err(`chat: ${error.message}`);
    return null;
  }
}

/** Why the server could not start listening, for a person. */
function listenFailure(error: unknown, settings: ServeSettings): string {
  if (error instanceof WebListenError) {
    return `cannot serve the web page on ${settings.host}:${settings.webPort} ` +
      `(${listenReason(error.cause)}); --web-port PORT picks another, --no-web serves none`;
  }
  const message = errorMessage(error);
  // The TLS front reports mistakes in the certificate and key (see secureContext).
  if (/no certificates found/i.test(message)) {
    return `--tls-cert ${settings.tlsCert} holds no PEM certificate ('chat cert' makes one)`;
  }
  if (/no keys found/i.test(message)) {
    return `--tls-key ${settings.tlsKey} holds no PEM private key`;
  }
  if (/keymismatch|keys may not be consistent/i.test(message)) {
    return `--tls-key ${settings.tlsKey} is not the private key of --tls-cert ${settings.tlsCert}`;
  }
  if (settings.tlsCert !== undefined && !isListenError(error)) {
    return `cannot serve TLS with ${settings.tlsCert} and ${settings.tlsKey} (${message})`;
  }
  return `cannot listen on ${settings.host}:${settings.port} (${listenReason(error)})` +
    listenAdvice(error, settings.port);
}

/** What to do about a listen error on the chat port: another port is a flag away. */
function listenAdvice(error: unknown, port: number): string {
  if (error instanceof Deno.errors.AddrInUse) {
    return "; is a chat server already running? --port PORT picks another";
  }
  if (error instanceof Deno.errors.PermissionDenied && port < 1024) {
    return "; ports below 1024 need privileges: --port PORT picks a higher one";
  }
  return "";
}

function isListenError(error: unknown): boolean {
  return error instanceof Deno.errors.AddrInUse || error instanceof Deno.errors.PermissionDenied ||
    error instanceof Deno.errors.AddrNotAvailable;
}

function listenReason(error: unknown): string {
  if (error instanceof Deno.errors.AddrInUse) return "address already in use";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.AddrNotAvailable) return "address not available on this machine";
  return errorMessage(error);
}
