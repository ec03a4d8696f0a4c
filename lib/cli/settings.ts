/**
 * What each subcommand runs with, as the command line (see command_line.ts)
 * works it out: the settings of `serve`, `join`, `user` and `cert`, and the
 * {@link Invocation} that names the subcommand. Types only, besides the list
 * of `--auth` values, so that a subcommand can take its settings without
 * loading the parser.
 *
 * @module
 */

import type { AuthMode } from "../core/registration.ts";

/** Who may use which name; see the core's AuthMode. */
export type { AuthMode };

/** The values of `--auth`, in the order the help lists them. */
export const AUTH_MODES: readonly AuthMode[] = ["off", "names", "required"];

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
  /** Most rooms on the server. */
  maxRooms: number;
  /** Most rooms one user may be in at once. */
  maxRoomsPerUser: number;
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
  /** Directory of the server's state (accounts, history); none: nothing is written to disk. */
  data: string | undefined;
  /** Who may use which name; anything but `off` needs `data`. */
  auth: AuthMode;
  /** Certificate file (PEM) to serve TLS with; set together with `tlsKey`. */
  tlsCert: string | undefined;
  /** Private key file (PEM) of `tlsCert`. */
  tlsKey: string | undefined;
  /** Room messages a joiner is shown, marked as history (0: none). */
  history: number;
  /** With `data`: days room messages and delivered private messages are kept (0: no limit). */
  keepDays: number;
  /** With `data`: room messages kept per room, the newest (0: no limit). */
  keepMessages: number;
  /** Port of the web page; null: no web page (--no-web). */
  webPort: number | null;
  /** Whether --web-port or CHAT_WEB_PORT chose it: taken, it is an error, not a reason to pick another. */
  webPortChosen: boolean;
  /** Host names the web page answers to besides addresses, localhost and this machine's (--web-name). */
  webNames: string[];
}

/** Settings of `chat join`. */
export interface JoinSettings {
  /** Server host name or address. */
  host: string;
  /** Server port. */
  port: number;
  /** Name to join with; asked for when missing and stdin is a terminal. */
  name: string | undefined;
  /** Whether to connect with TLS (also when `ca` is set). */
  tls: boolean;
  /** Certificate file (PEM) to trust instead of the system's roots, as from `chat cert`. */
  ca: string | undefined;
  /** The password to give when the server asks (CHAT_PASSWORD, for bots); else asked for. */
  password: string | undefined;
}

/** What `chat user` does. */
export type UserAction = "add" | "passwd" | "del" | "list";

/** Settings of `chat user`. */
export interface UserSettings {
  /** What to do. */
  action: UserAction;
  /** The account's name (NFC, trimmed); undefined for `list`. */
  name: string | undefined;
  /** The server's data directory. */
  data: string;
  /** The password to set, from CHAT_PASSWORD; else asked for. */
  password: string | undefined;
}

/** Settings of `chat cert`. */
export interface CertSettings {
  /** Host names and addresses the certificate is for, as typed. */
  names: string[];
  /** Directory to write chat-cert.pem and chat-key.pem into. */
  out: string;
  /** Days of validity. */
  days: number;
  /** Whether to replace existing files. */
  force: boolean;
}

/** Settings of `chat backup`. */
export interface BackupSettings {
  /** The server's data directory. */
  data: string;
  /** The file to write the copy to; must not exist. */
  file: string;
}

/** Subcommands with their own help. */
export type HelpTopic = "serve" | "join" | "user" | "cert" | "backup";

/** What the command line asks for. */
export type Invocation =
  | { command: "help"; topic?: HelpTopic }
  | { command: "version" }
  | { command: "serve"; settings: ServeSettings }
  | { command: "join"; settings: JoinSettings }
  | { command: "user"; settings: UserSettings }
  | { command: "cert"; settings: CertSettings }
  | { command: "backup"; settings: BackupSettings };
