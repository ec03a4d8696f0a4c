/**
 * The plain lines a server sends to a peer that picked the wrong side of TLS,
 * before closing: the chat client recognizes them and says what to do.
 *
 * @module
 */

/**
 * How {@link TLS_ONLY_MESSAGE} starts, in its every wording so far: what the
 * client recognizes, so that it understands older servers too.
 */
export const TLS_ONLY_PREFIX = "This chat server uses TLS:";

/**
 * What a peer that does not speak TLS is told, in one line, on a TLS server's
 * port before it is closed. The chat client recognizes it (SERVER_USES_TLS).
 * Neutral: a certificate from `chat cert` needs --ca, one from a public
 * authority only --tls.
 */
export const TLS_ONLY_MESSAGE =
  "This chat server uses TLS: join with 'chat join HOST --ca CERT' (CERT: a copy of its certificate), or with --tls when a public authority issued it";

/** What a TLS client on a plain server is told before it is closed; its TLS layer reports an error. */
export const NOT_TLS_MESSAGE = "This chat server does not use TLS; connect without --tls";
