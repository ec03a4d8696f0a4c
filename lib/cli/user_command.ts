/**
 * `chat user add|passwd|del|list`: the accounts in a server's data directory.
 *
 * Works on the same database as `chat serve --data DIR`, and while it runs:
 * the store lets one writer in at a time and the server reads accounts at
 * each login, so a new account or password counts from the next login.
 *
 * Passwords come from CHAT_PASSWORD when it is set, else are asked for twice
 * (hidden on a terminal, or two lines of piped input; see prompt_secret.ts).
 * Every failure is one line on stderr: exit 1 for a failure (no such user,
 * passwords differ, unusable data directory); usage errors (exit 2) are
 * caught earlier, by the command line.
 *
 * @module
 */

import { ExitCode } from "./exit_codes.ts";
import type { UserSettings } from "./settings.ts";
import { hashPassword, passwordProblem } from "../auth/passwords.ts";
import { lowerFirst } from "../core/errors.ts";
import { PromptCancelled, SecretReader } from "../io/prompt_secret.ts";
import { Store, StoreError } from "../store/sqlite_store.ts";

/** What `chat user` talks to; the process's streams by default, stand-ins in tests. */
export interface UserIO {
  /** Prints a result line (stdout). */
  out(line: string): void;
  /** Prints an error or notice line (stderr). */
  err(line: string): void;
  /** Asks for a secret; null when there is no more input. */
  ask(prompt: string): Promise<string | null>;
  /** The time, in milliseconds since the epoch. */
  now(): number;
}

/** A failure to report as one line, exit code 1. */
class UserCommandError extends Error {}

function defaultIO(): UserIO {
  const reader = new SecretReader();
  return {
    out: (line) => console.log(line),
    err: (line) => console.error(line),
    ask: (prompt) => reader.ask(prompt),
    now: Date.now,
  };
}

/**
 * Runs `chat user` with `settings`; resolves to the exit code.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { userCommand } from "./user_command.ts";
 * const data = await Deno.makeTempDir();
 * const out: string[] = [];
 * const io = { out: (l: string) => out.push(l), err: () => {}, ask: () => Promise.resolve(null) };
 * const add = { action: "add", name: "Ann", data, password: "long enough" } as const;
 * assert.equal(await userCommand(add, { ...io, now: () => 0 }), 0);
 * const list = { action: "list", name: undefined, data, password: undefined } as const;
 * assert.equal(await userCommand(list, { ...io, now: () => 0 }), 0);
 * assert.equal(out.at(-1), "Ann");
 * await Deno.remove(data, { recursive: true });
 * ```
 */
export async function userCommand(
  settings: UserSettings,
  io: UserIO = defaultIO(),
): Promise<number> {
  let store: Store | undefined;
  try {
    // add creates the directory, and fails on an unusable one before any
    // password is typed; the others refuse a directory with no data, which is
    // most likely a mistyped --data.
    store = Store.open(settings.data, { create: settings.action === "add" });
    for (const warning of store.warnings) io.err(`chat: warning: ${warning}`);
    await run(store, settings, io);
    return ExitCode.Ok;
  } catch (error) {
    if (error instanceof PromptCancelled) {
      io.err("chat: cancelled; nothing was changed");
      return ExitCode.Failure;
    }
    if (error instanceof UserCommandError || error instanceof StoreError) {
      io.err(`chat: ${error.message}`);
      return ExitCode.Failure;
    }
    throw error;
  } finally {
    store?.close();
  }
}

async function run(store: Store, settings: UserSettings, io: UserIO): Promise<void> {
  const { action, data } = settings;
  if (action === "list") {
    for (const user of store.listUsers()) io.out(user.name);
    return;
  }
  const name = settings.name!;
  const existing = store.getUser(name);
  switch (action) {
    case "add": {
      if (existing) {
        throw new UserCommandError(`there is already a user named ${existing.name} in ${data}`);
      }
      const password = await newPassword(
        `Password for ${name}: `,
        settings,
        io,
        `${name} was not added`,
      );
      const hash = await hashPassword(password);
      if (!store.addUser(name, hash, io.now())) {
        // Someone else added the name while the password was being typed.
        throw new UserCommandError(`there is already a user named ${name} in ${data}`);
      }
      io.out(`added ${name} to ${data}`);
      return;
    }
    case "passwd": {
      if (!existing) throw new UserCommandError(`no user named ${name} in ${data}`);
      const password = await newPassword(
        `New password for ${existing.name}: `,
        settings,
        io,
        `the password of ${existing.name} is unchanged`,
      );
      const hash = await hashPassword(password);
      if (!store.setPassword(existing.name, hash)) {
        throw new UserCommandError(`no user named ${name} in ${data}`);
      }
      io.out(`changed the password of ${existing.name}`);
      return;
    }
    case "del": {
      if (!existing || !store.deleteUser(existing.name)) {
        throw new UserCommandError(`no user named ${name} in ${data}`);
      }
      io.out(`deleted ${existing.name} from ${data}`);
      return;
    }
  }
}

/**
 * The new password: CHAT_PASSWORD, or asked for twice; `unchanged` ends the
 * error messages, saying what did not happen.
 */
async function newPassword(
  prompt: string,
  settings: UserSettings,
  io: UserIO,
  unchanged: string,
): Promise<string> {
  const check = (password: string) => {
    const problem = passwordProblem(password);
    if (problem) throw new UserCommandError(`${lowerFirst(problem)}; ${unchanged}`);
    return password;
  };
  if (settings.password !== undefined) {
    // Said, so that a CHAT_PASSWORD left over from a bot's setup is not used by surprise.
    io.err("chat: using the password in CHAT_PASSWORD");
    return check(settings.password);
  }
  const first = await io.ask(prompt);
  if (first === null) throw new UserCommandError(`no password given; ${unchanged}`);
  check(first);
  const second = await io.ask("The same again: ");
  if (second === null) throw new UserCommandError(`the password was given once only; ${unchanged}`);
  if (first.normalize("NFC") !== second.normalize("NFC")) {
    throw new UserCommandError(`the two passwords differ; ${unchanged}`);
  }
  return first;
}
