/**
 * The help texts: `chat --help` and the `--help` of each subcommand. The
 * defaults they name come from where the defaults live, so that the help
 * never says another number than the program uses.
 *
 * @module
 */

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
import { DEFAULT_KEEP_DAYS, DEFAULT_KEEP_MESSAGES } from "../store/retention.ts";
import {
  DEFAULT_MAX_PER_ADDRESS,
  DEFAULT_PING_INTERVAL_MS,
  DEFAULT_REGISTRATION_TIMEOUT_MS,
  DEFAULT_SERVE_HOST,
  DEFAULT_WEB_PORT,
} from "../server/limits.ts";
import type { HelpTopic } from "./settings.ts";

/** The top-level help text. */
export const USAGE = `chat - a terminal chat room

Usage:
  chat serve [options]              Start a chat server
  chat join [HOST[:PORT]] [options] Join a chat server
  chat user add|passwd|del|list ... Manage a server's accounts
  chat cert NAME... [options]       Make a TLS certificate for a server
  chat backup --data DIR FILE       Copy a server's data, even while it runs
  chat help [COMMAND]               Show help for a command
  chat --version                    Print the version

Run 'chat COMMAND --help' for the options of a command.
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
  --web-port PORT        Serve the web page, to join from a browser, on this
                         port (default: the chat port + 1, ${DEFAULT_WEB_PORT}; 0: any
                         free port); HTTPS with --tls-cert
  --no-web               No web page
  --web-name NAME        A host name people type to open the web page (say
                         chat.school.lan), besides its addresses, localhost,
                         this machine's name and the certificate's; repeat it
                         or give NAME,NAME; others are refused (DNS rebinding)
  -h, --help             Show this help

Limits that protect the room:
  --max-per-ip N         Connections from one IP address (default ${DEFAULT_MAX_PER_ADDRESS}; 0: no limit)
  --max-rooms N          Rooms on the server (default ${DEFAULT_MAX_ROOMS})
  --max-rooms-per-user N Rooms one user may be in at once (default ${DEFAULT_MAX_ROOMS_PER_USER})
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

History, accounts and encryption:
  --history N            Show each joiner the last N messages, N at most ${MAX_HISTORY}
                         (default ${DEFAULT_HISTORY}: joiners see nothing earlier); /history
                         shows up to ${MAX_HISTORY}. Kept in memory, or in --data DIR when
                         given (then /history works even with --history 0)
  --data DIR             Keep accounts, history and private messages in DIR
                         (created if missing); without it nothing is written to disk
  --keep-days N          With --data: delete room messages, and private messages
                         read, after N days (default ${DEFAULT_KEEP_DAYS}; 0: keep them)
  --keep-messages N      With --data: keep the newest N messages of each room
                         (default ${DEFAULT_KEEP_MESSAGES}; 0: no limit)
  --auth MODE            off: any free name (default); names: registered names
                         need their password; required: registered users only.
                         names and required need --data. See 'chat help user'
  --tls-cert FILE        Serve TLS with this certificate (PEM; 'chat cert' makes one)
  --tls-key FILE         The certificate's private key (PEM)

Every flag can also be set in the environment: --max-users as CHAT_MAX_USERS,
--port as CHAT_PORT, --tls-cert as CHAT_TLS_CERT, and so on. A flag beats its
variable.

Examples:
  chat serve --port 7777 --max-users 30 --motd "Welcome to class 3B"
  chat serve --data ./data --history 50 --auth names \\
    --tls-cert chat-cert.pem --tls-key chat-key.pem
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
  --tls             Connect with TLS, checking the server's certificate
                    against the system's trusted roots
  --ca FILE         Trust this certificate instead (from 'chat cert');
                    implies --tls                                  [CHAT_CA]
  -h, --help        Show this help

When the name belongs to an account on the server, its password is asked
for without echo; a bot sets CHAT_PASSWORD instead.

Examples:
  chat join --name Alice
  chat join 192.168.1.20:7777 --name 小明
  chat join classroom.lan --ca chat-cert.pem --name Alice
  printf 'hello\\n' | chat join --name bot

Exit codes: 0 left (or the server shut down), 1 connection lost or --ca unreadable,
2 usage, 3 cannot connect, 4 refused (name taken or invalid, wrong password,
room full, version).
`;

/** Help for `chat user`. */
export const USER_USAGE = `Usage: chat user add|passwd|del|list [NAME] --data DIR

Manage the accounts of a chat server, kept in its data directory (the DIR of
'chat serve --data DIR'). It works while the server runs: a change applies
from the next login.

  chat user add NAME      Add an account; asks for its password twice, hidden
  chat user passwd NAME   Change an account's password
  chat user del NAME      Delete an account and the private messages waiting for it
  chat user list          Print the names of the accounts, one per line

Options:
  --data DIR        The server's data directory                      [CHAT_DATA]
  -h, --help        Show this help

A password needs at least 8 characters. When input is not a terminal, each
password is read as a line of input; when CHAT_PASSWORD is set, it is used
instead and nothing is asked.

Examples:
  chat user add Alice --data ./data
  printf 'a long secret\\na long secret\\n' | chat user add bot --data ./data
  chat user list --data ./data

Exit codes: 0 done, 1 failed (no such user, passwords differ...), 2 usage.
`;

/** Help for `chat cert`. */
export const CERT_USAGE = `Usage: chat cert NAME... [options]

Write a self-signed TLS certificate for a chat server and its private key,
chat-cert.pem and chat-key.pem (readable by you only). Each NAME is a host
name or IP address that clients will type to reach the server; name
localhost or 127.0.0.1 too only if clients on the server's own machine use it.

Options:
  --out DIR         Where to write the files (default: this directory)
  --days N          Days of validity (default ${DEFAULT_CERT_DAYS}, at most ${MAX_CERT_DAYS})
  --force           Replace the files if they exist
  -h, --help        Show this help

Then:
  chat serve --tls-cert chat-cert.pem --tls-key chat-key.pem
  chat join HOST --ca chat-cert.pem     (give each client a copy of chat-cert.pem)

Example:
  chat cert classroom.lan 192.168.1.20
`;

/** Help for `chat backup`. */
export const BACKUP_USAGE = `Usage: chat backup --data DIR FILE

Write a consistent copy of a chat server's data directory (accounts, room
history, private messages) to FILE, a new file readable by you only. It works
while 'chat serve --data DIR' runs: the copy is the data as it was when the
backup began, and the server goes on meanwhile.

Options:
  --data DIR        The server's data directory                      [CHAT_DATA]
  -h, --help        Show this help

To restore: stop the server, move DIR away, then
  mkdir -m 700 DIR && cp FILE DIR/chat.db && chat serve --data DIR

Example:
  chat backup --data ./data "backups/chat-$(date +%F).db"

Exit codes: 0 done, 1 failed (no data in DIR, FILE exists, disk full...), 2 usage.
`;

/** The help text of each subcommand. */
export const HELP: Readonly<Record<HelpTopic, string>> = {
  serve: SERVE_USAGE,
  join: JOIN_USAGE,
  user: USER_USAGE,
  cert: CERT_USAGE,
  backup: BACKUP_USAGE,
};
