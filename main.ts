/**
 * chat: a terminal chat room. `chat serve` runs a room server, `chat join`
 * joins one, `chat user` manages a server's accounts, `chat cert` makes a
 * TLS certificate for it and `chat backup` copies its data. See README.md for the commands and docs/PROTOCOL.md
 * for the wire protocol.
 *
 * Exit codes: 0 success, 1 failure, 2 usage error, 3 cannot connect,
 * 4 refused by the server.
 *
 * @module
 */

import { VERSION } from "./lib/version.ts";

/** First arguments that ask for the version, as `parseCommandLine` reads them. */
const VERSION_ARGS = ["--version", "-V", "-v", "version"];

/** Runs the command line `args`; resolves to the process exit code. */
export async function main(args: string[]): Promise<number> {
  // Scripts run `chat --version` often: it is answered before the command-line
  // parser loads, as loading it (node:util, and the server modules it takes
  // defaults from) cost 12 of the 33 ms `chat --version` took (bench/startup.sh).
  if (VERSION_ARGS.includes(args[0])) {
    console.log(`chat ${VERSION}`);
    return 0; // ExitCode.Ok, which lives in lib/cli/exit_codes.ts
  }
  const [{ ExitCode }, { parseCommandLine, UsageError }] = await Promise.all([
    import("./lib/cli/exit_codes.ts"),
    import("./lib/cli/command_line.ts"),
  ]);
  let call;
  try {
    call = parseCommandLine(args, chatVariables());
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const help = error.command ? `chat ${error.command} --help` : "chat --help";
    console.error(`chat: ${error.message}\nRun '${help}' for usage.`);
    return ExitCode.Usage;
  }
  switch (call.command) {
    case "help": {
      const { HELP, USAGE } = await import("./lib/cli/usage.ts");
      console.log((call.topic ? HELP[call.topic] : USAGE).trimEnd());
      return ExitCode.Ok;
    }
    case "version":
      console.log(`chat ${VERSION}`);
      return ExitCode.Ok;
    case "serve": {
      const { serve } = await import("./lib/serve/serve.ts");
      return await serve(call.settings);
    }
    case "join": {
      const { join } = await import("./lib/client/join.ts");
      return await join(call.settings);
    }
    case "user": {
      const { userCommand } = await import("./lib/cli/user_command.ts");
      return await userCommand(call.settings);
    }
    case "cert": {
      const { certCommand } = await import("./lib/cli/cert_command.ts");
      return await certCommand(call.settings);
    }
    case "backup": {
      const { backupCommand } = await import("./lib/cli/backup_command.ts");
      return await backupCommand(call.settings);
    }
  }
}

/**
 * The environment as the command line sees it: only `CHAT_*` variables, each
 * read when asked for, so the program needs no access to the rest of the
 * environment (see the "chat" permission set in deno.json).
 */
function chatVariables(): Record<string, string | undefined> {
  return new Proxy({}, {
    get: (_, key) =>
      typeof key === "string" && key.startsWith("CHAT_") ? Deno.env.get(key) : undefined,
  });
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
