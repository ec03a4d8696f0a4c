/**
 * What a person is told when the server's TLS and theirs do not match, in
 * one line that names the flag to give. A server made with `chat cert` has a
 * self-signed certificate: `--tls` alone fails for it, so when a plain
 * client meets a TLS server, a quick handshake with the system's trusted
 * roots tells whether `--tls` will do or `--ca` is needed.
 *
 * @module
 */

import { errorMessage } from "../core/errors.ts";

/** The file name `chat cert` writes the certificate to: what the operator hands out. */
const CERT_FILE = "chat-cert.pem";

/** How to give the server's own certificate, for a person who has no copy yet. */
const GIVE_CA =
  `join with --ca ${CERT_FILE}, a copy of the server's certificate from whoever runs it`;

/** What a plain client is told when the server's TLS certificate is one the system trusts. */
export const SERVER_USES_TLS = "the server uses TLS; try --tls";

/** What a plain client is told when the server's TLS certificate is its own (`chat cert`). */
export const SERVER_USES_OWN_CERT = `the server uses TLS with a certificate of its own; ${GIVE_CA}`;

/** What a plain client is told when the server speaks TLS but its certificate was not seen. */
export const SERVER_USES_TLS_MAYBE_OWN =
  `the server uses TLS; try --tls, or --ca ${CERT_FILE} if it has a certificate of its own`;

/** What a `--tls` client is told when the server's certificate chains to nothing it trusts. */
export const NOT_TRUSTED =
  `the server's certificate is not from an authority this computer trusts (one from 'chat cert' is not); ${GIVE_CA}`;

/** What a `--ca` client is told when the server's certificate is not the one given. */
export const NOT_THE_CA = "the server's certificate is not the one given with --ca; " +
  `get a copy of the server's own (${CERT_FILE}) from whoever runs it`;

/**
 * Whether a TLS error says that the certificate chains to no trusted root.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isUnknownIssuer } from "./tls_advice.ts";
 * assert.ok(isUnknownIssuer(new Error("invalid peer certificate: UnknownIssuer")));
 * assert.ok(!isUnknownIssuer(new Error("invalid peer certificate: Expired")));
 * ```
 */
export function isUnknownIssuer(error: unknown): boolean {
  return /UnknownIssuer|unknown ?ca\b/i.test(errorMessage(error));
}

/**
 * Whether a TLS error says that the certificate names a trusted issuer but is
 * signed by another key: against `--ca`, an old copy of a certificate that
 * `chat cert --force` made again for the same names.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isBadSignature } from "./tls_advice.ts";
 * assert.ok(isBadSignature(new Error("invalid peer certificate: BadSignature")));
 * assert.ok(!isBadSignature(new Error("invalid peer certificate: UnknownIssuer")));
 * ```
 */
export function isBadSignature(error: unknown): boolean {
  return /BadSignature/i.test(errorMessage(error));
}

/**
 * The advice for a plain client that reached a TLS server at `host:port`:
 * a handshake with the system's roots tells whether `--tls` is enough
 * ({@link SERVER_USES_TLS}) or the server has a certificate of its own
 * ({@link SERVER_USES_OWN_CERT}); when it tells neither within `timeoutMs`,
 * both flags are named.
 */
export async function plainOnTlsAdvice(
  host: string,
  port: number,
  timeoutMs: number,
): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let conn: Deno.TlsConn | null = null;
  let over = false;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  const attempt = (async () => {
    const opened = await Deno.connectTls({ hostname: host, port });
    if (over) return closeQuietly(opened);
    conn = opened;
    await opened.handshake();
  })();
  try {
    const outcome = await Promise.race([attempt.then(() => "trusted" as const), timeout]);
    return outcome === "trusted" ? SERVER_USES_TLS : SERVER_USES_TLS_MAYBE_OWN;
  } catch (error) {
    return isUnknownIssuer(error) ? SERVER_USES_OWN_CERT : SERVER_USES_TLS_MAYBE_OWN;
  } finally {
    over = true;
    clearTimeout(timer);
    if (conn) closeQuietly(conn);
    // A connection still opening at the timeout is closed once open, quietly.
    attempt.catch(() => {});
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Closed already.
  }
}
