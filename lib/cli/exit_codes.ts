/**
 * The exit codes of every subcommand, as the README documents them. Kept
 * apart from the command-line parser so that a subcommand can say how it
 * ended without loading the parser.
 *
 * @module
 */

/** Exit codes, documented in the README. */
export const ExitCode = {
  /** Success, including a clean shutdown after Ctrl+C. */
  Ok: 0,
  /** A failure at run time: cannot listen, lost the connection... */
  Failure: 1,
  /** The command line was wrong. */
  Usage: 2,
  /** `join`: the server could not be reached. */
  CannotConnect: 3,
  /** `join`: the server refused us (name taken or invalid, wrong password, room full, version). */
  Refused: 4,
} as const;
