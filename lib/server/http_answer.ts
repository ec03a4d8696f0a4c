/**
 * What a web browser gets on the chat port. A person told "port 7777" who
 * opens `http://HOST:7777/` means the web page, which has a port of its own:
 * without this, the browser got the name prompt as text and said the answer
 * was invalid. A request line is recognized before any name is asked for;
 * once its headers are read, the browser is sent to the web page at the
 * name it asked for (its `Host`), or told what the port is for when the
 * server serves no page. Then the connection is closed.
 *
 * @module
 */

import type { ChatEvent } from "../core/events.ts";
import type { Connection, Protocol } from "./connection.ts";

/** The request line of HTTP/1.x: what a browser or curl sends first. */
const REQUEST_LINE = /^(?:GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH) \S+ HTTP\/1\.[01]$/;

/** Header lines read at most before answering: a browser sends a dozen or two. */
const MAX_HEADER_LINES = 100;

/** A host name or IPv4 address (`chat.school.lan`, `192.168.1.20`), or IPv6 in brackets. */
const SAFE_HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])$/;

const encoder = new TextEncoder();

/**
 * Whether a peer's first line is an HTTP request line; no chat name or JSON
 * frame can be one (names have no spaces, frames start with `{`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isHttpRequestLine } from "./http_answer.ts";
 * assert.ok(isHttpRequestLine("GET / HTTP/1.1"));
 * assert.ok(!isHttpRequestLine("Alice"));
 * ```
 */
export function isHttpRequestLine(line: string): boolean {
  return REQUEST_LINE.test(line);
}

/**
 * The host of a `Host` header without its port, or null when there is none
 * or it is not a plain name or address (it goes into a `Location` header).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hostOnly } from "./http_answer.ts";
 * assert.equal(hostOnly("chat.school.lan:7777"), "chat.school.lan");
 * assert.equal(hostOnly("[::1]:7777"), "[::1]");
 * assert.equal(hostOnly("evil\r\nSet-Cookie: x"), null);
 * ```
 */
export function hostOnly(header: string | null): string | null {
  if (header === null) return null;
  const host = header.startsWith("[")
    ? header.slice(0, header.indexOf("]") + 1)
    : header.replace(/:\d*$/, "");
  return SAFE_HOST.test(host) ? host : null;
}

/** The protocol of a peer that sent an HTTP request: it reads the headers, answers, and closes. */
export class HttpAnswer implements Protocol {
  #connection: Connection;
  #head: boolean;
  #host: string | null = null;
  #headerLines = 0;
  #answered = false;

  /** For `connection`, whose first line was `requestLine`. */
  constructor(connection: Connection, requestLine: string) {
    this.#connection = connection;
    this.#head = requestLine.startsWith("HEAD ");
  }

  /** A browser answers no ping. */
  get answersPings(): boolean {
    return false;
  }

  /** Already open: the request line came first. */
  opened(): void {}

  /** Every byte is data: headers are lines. */
  received(_buffer: Uint8Array, n: number): number {
    return n;
  }

  /** Takes a header line; the empty line that ends them is answered. */
  line(text: string): void {
    if (this.#answered) return;
    if (text === "" || ++this.#headerLines > MAX_HEADER_LINES) return this.#answer();
    const host = /^host:\s*(.*?)\s*$/i.exec(text);
    if (host) this.#host = host[1];
  }

  /** A header too long or not UTF-8 is skipped, as unknown headers are. */
  refuse(): void {}

  /** Nothing was asked. */
  retry(): void {}

  /** A browser never registers: no chat event is for it. */
  encode(_event: ChatEvent): Uint8Array | null {
    return null;
  }

  /** Never registered: never called. */
  ping(): void {}

  /** No timers of its own. */
  ended(): void {}

  #answer(): void {
    this.#answered = true;
    const connection = this.#connection;
    const webPort = connection.context.webPort?.() ?? null;
    const host = hostOnly(this.#host);
    let status: string;
    let location: string | null = null;
    let text: string;
    if (webPort !== null && host !== null) {
      location = `${connection.tls ? "https" : "http"}://${host}:${webPort}/`;
      status = "302 Found";
      text = `This is the chat port of a chat server; its web page is at ${location}`;
    } else if (webPort !== null) {
      status = "400 Bad Request";
      text = `This is the chat port of a chat server; its web page is on port ${webPort}`;
    } else {
      status = "400 Bad Request";
      text = "This is the chat port of a chat server, for chat join, nc and telnet; " +
        "it serves no web page";
    }
    connection.context.log(
      `answer ${connection.peer}: a web browser on the chat port; ` +
        (location ? `sent it to ${location}` : "told it where the chat is"),
    );
    const body = encoder.encode(`${text}\r\n`);
    const head = [
      `HTTP/1.1 ${status}`,
      ...(location ? [`Location: ${location}`] : []),
      "Content-Type: text/plain; charset=utf-8",
      `Content-Length: ${body.length}`,
      "Connection: close",
      "",
      "",
    ].join("\r\n");
    connection.write(encoder.encode(head));
    if (!this.#head) connection.write(body);
    void connection.end();
  }
}
