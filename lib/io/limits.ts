/**
 * The bounds of the byte plumbing: how long a line may be, how much may wait
 * for a slow peer. In a module of their own so that the command line reads
 * them for its help text without loading the reader and the writer.
 *
 * @module
 */

/**
 * Longest line accepted, in bytes: a message of the longest length (2000
 * characters) fits in any script, even with every character escaped in JSON.
 */
export const MAX_LINE_BYTES = 32 * 1024;

/** Bytes queued for one peer before it is dropped: minutes of a busy room's traffic. */
export const DEFAULT_QUEUE_LIMIT = 1024 * 1024;
