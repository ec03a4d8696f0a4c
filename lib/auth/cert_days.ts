/**
 * How long a certificate from `chat cert` is valid. Apart from certs.ts so
 * that the command line reads them for its help text without loading the
 * certificate code (and node-forge) on every start.
 *
 * @module
 */

/** Days a certificate from `chat cert` is valid by default: a school year. */
export const DEFAULT_CERT_DAYS = 365;

/** Most days `chat cert --days` allows: Apple's clients refuse server certificates valid longer. */
export const MAX_CERT_DAYS = 825;
