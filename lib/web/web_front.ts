/**
 * The web front end: `chat serve` serves a web page (lib/web/page/) over
 * HTTP, or HTTPS with the server's certificate, and its WebSocket at
 * `/socket` speaks the JSON protocol of docs/PROTOCOL.md, one frame per
 * message. Each WebSocket is handed, as a {@link WebSocketTransport}, to the
 * connection pool of the TCP front (its `adopt`): the same limits,
 * registration, login, flood control, keepalive and queue limit as every
 * other client. Deno's own HTTP server and WebSocket do the framing.
 *
 * A WebSocket from a page of another origin is refused: any site a person
 * visits could otherwise join the chat in their name from their browser.
 * Browsers always say where a page comes from (`Origin`); a program
 * without one (a bot, the load generator) is let in, as on the TCP port.
 * Both the page and the WebSocket answer only to this server's own names
 * (see host_names.ts): `Origin` alone lets a rebound DNS name in.
 *
 * @module
 */

import { errorMessage } from "../core/errors.ts";
import type { Connection, Protocol } from "../server/connection.ts";
import { formatAddress } from "../server/address.ts";
import { JsonSession } from "../server/json_session.ts";
import { Login } from "../server/login.ts";
import type { Transport } from "../server/transport.ts";
import { hostName, machineNames, servesHost } from "./host_names.ts";
import { PAGE_FILES } from "./page_files.ts";
import { WebSocketTransport } from "./websocket_transport.ts";

/** Where the page's WebSocket is. */
export const SOCKET_PATH = "/socket";

/**
 * What the page may load: its own files and its own WebSocket, nothing
 * inline and nothing from anywhere else.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-cache",
};

/** Where connections go: the TCP front's pool (see TcpFront.adopt). */
export interface ConnectionPool {
  /** Serves `conn` with the pool's limits, starting with the protocol `start` gives it. */
  adopt(conn: Transport & { remoteAddr: Deno.NetAddr }, start: (c: Connection) => Protocol): void;
}

/** Settings of a web front end. */
export interface WebFrontOptions {
  /** Interface to listen on. */
  hostname: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** Serve HTTPS and WSS with this certificate and private key (PEM text). */
  tls?: { cert: string; key: string };
  /** Longest frame accepted, in bytes (the connection's line cap). */
  maxLineBytes: number;
  /** Where the WebSockets' connections are served. */
  pool: ConnectionPool;
  /** Receives the operator's log. */
  log: (line: string) => void;
  /**
   * Host names the page answers to besides IP addresses, localhost and this
   * machine's names: the operator's (--web-name) and the certificate's;
   * `*.school.lan` stands for one label under school.lan.
   */
  names?: readonly string[];
}

/** Names refused so far that the log has told about; beyond it, no more are told. */
const MAX_TOLD_NAMES = 100;

/** A web page's connection speaks JSON from its first message: no sniffing. */
function speakJson(connection: Connection): Protocol {
  return new JsonSession(connection, new Login(connection));
}

/** A listening web front end. */
export class WebFront {
  #server: Deno.HttpServer<Deno.NetAddr>;
  /** Each file of the page as bytes, with its content type, by URL path. */
  #files = new Map<string, { body: Uint8Array; type: string }>();
  #options: WebFrontOptions;
  #stopping = false;
  /** The names served besides addresses and localhost, as hostName gives them. */
  #names: string[];
  /** Names refused and told in the log once already: a page polls. */
  #told = new Set<string>();

  /**
   * Listens.
   *
   * @throws {Deno.errors.AddrInUse} and other listen errors, for the caller to report.
   */
  constructor(options: WebFrontOptions) {
    this.#options = options;
    this.#names = [...machineNames(), ...(options.names ?? [])].flatMap((name) => {
      const wildcard = name.startsWith("*.");
      const normal = hostName(wildcard ? name.slice(2) : name);
      return normal === undefined ? [] : [wildcard ? `*.${normal}` : normal];
    });
    for (const [path, file] of Object.entries(PAGE_FILES)) {
      this.#files.set(path, { body: new TextEncoder().encode(file.text), type: file.type });
    }
    this.#server = Deno.serve({
      hostname: options.hostname,
      port: options.port,
      ...(options.tls ?? {}),
      onListen: () => {},
      onError: (error) => {
        options.log(`web error: ${errorMessage(error)}`);
        return new Response("Internal error", { status: 500 });
      },
    }, (request, info) => this.#handle(request, info.remoteAddr));
  }

  /** The address listened on (useful with port 0). */
  get addr(): Deno.NetAddr {
    return this.#server.addr;
  }

  /** Whether the page is served over HTTPS. */
  get tls(): boolean {
    return this.#options.tls !== undefined;
  }

  /** Refuses new WebSockets: the server is stopping. */
  stop(): void {
    this.#stopping = true;
  }

  /** Stops listening; resolves once the HTTP server has closed. */
  async closed(): Promise<void> {
    this.#stopping = true;
    await this.#server.shutdown();
  }

  #handle(request: Request, remoteAddr: Deno.NetAddr): Response {
    const url = new URL(request.url);
    // Over HTTP/2 the host may come only as :authority, which the URL holds.
    const host = request.headers.get("host") ?? url.host;
    if (!servesHost(host, this.#names)) return this.#misdirected(host, remoteAddr);
    if (url.pathname === SOCKET_PATH) return this.#upgrade(request, remoteAddr);
    if (request.method !== "GET" && request.method !== "HEAD") {
      return this.#plain(405, "Method not allowed", { allow: "GET, HEAD" });
    }
    const file = this.#files.get(url.pathname);
    if (!file) return this.#plain(404, "Not found");
    return new Response(request.method === "HEAD" ? null : file.body.slice(), {
      headers: { ...SECURITY_HEADERS, "content-type": file.type },
    });
  }

  #upgrade(request: Request, remoteAddr: Deno.NetAddr): Response {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return this.#plain(426, "This address takes a WebSocket", { upgrade: "websocket" });
    }
    const origin = request.headers.get("origin");
    if (!this.#sameOrigin(origin, request.headers.get("host"))) {
      this.#options.log(
        `refuse ${formatAddress(remoteAddr)}: a WebSocket from another origin (${
          origin ?? "none given"
        })`,
      );
      return this.#plain(403, "A WebSocket from another site's page is refused");
    }
    if (this.#stopping) return this.#plain(503, "The server is shutting down");
    const { socket, response } = Deno.upgradeWebSocket(request, { idleTimeout: 0 });
    const transport = new WebSocketTransport(socket, remoteAddr, this.#options.maxLineBytes);
    this.#options.pool.adopt(transport, speakJson);
    return response;
  }

  /**
   * Whether a WebSocket's `Origin` is this server's page, as the browser
   * reached it (`host`), or is not given (not a browser).
   */
  #sameOrigin(origin: string | null, host: string | null): boolean {
    if (origin === null) return true;
    if (host === null) return false;
    const scheme = this.tls ? "https" : "http";
    try {
      const url = new URL(origin);
      return url.protocol === `${scheme}:` && url.host === new URL(`${scheme}://${host}`).host;
    } catch {
      return false;
    }
  }

  /** Refuses a request for a name this server is not known by (DNS rebinding, or a name to add). */
  #misdirected(host: string, remoteAddr: Deno.NetAddr): Response {
    const name = hostName(host);
    const hint = name === undefined
      ? "a Host that is no host name"
      : `the name ${name}, not one of this server's (--web-name ${name} serves it)`;
    if (!this.#told.has(name ?? "") && this.#told.size < MAX_TOLD_NAMES) {
      this.#told.add(name ?? "");
      this.#options.log(
        `web page: refuse ${formatAddress(remoteAddr)} asking for ${hint}; said once per name`,
      );
    }
    return this.#plain(
      421,
      name === undefined
        ? "This server answers only to its own names and addresses"
        : `This server does not answer to the name ${name}: its operator can add it with --web-name ${name}`,
    );
  }

  #plain(status: number, text: string, headers: Record<string, string> = {}): Response {
    return new Response(`${text}\n`, {
      status,
      headers: { ...SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8", ...headers },
    });
  }
}
