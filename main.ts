/**
 * chat: a terminal chat room. `chat serve` runs a room server, `chat join`
 * joins one. See README.md for the commands and docs/PROTOCOL.md for the wire
 * protocol.
 *
 * Exit codes: 0 success, 1 failure, 2 usage error, 3 cannot connect,
 * 4 refused by the server.
 *
 * @module
 */

import {
  ExitCode,
  JOIN_USAGE,
  parseCommandLine,
  SERVE_USAGE,
  USAGE,
  UsageError,
} from "./lib/cli.ts";
import { VERSION } from "./lib/version.ts";

/** Runs the command line `args`; resolves to the process exit code. */
export async function main(args: string[]): Promise<number> {
  let call;
  try {
    call = parseCommandLine(args, Deno.env.toObject());
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const help = error.command ? `chat ${error.command} --help` : "chat --help";
    console.error(`chat: ${error.message}\nRun '${help}' for usage.`);
    return ExitCode.Usage;
  }
  switch (call.command) {
    case "help":
      console.log(
        (call.topic === "serve" ? SERVE_USAGE : call.topic === "join" ? JOIN_USAGE : USAGE)
          .trimEnd(),
      );
      return ExitCode.Ok;
    case "version":
      console.log(`chat ${VERSION}`);
      return ExitCode.Ok;
    case "serve": {
      const { serve } = await import("./lib/serve.ts");
      return await serve(call.settings);
    }
    case "join": {
      const { join } = await import("./lib/join.ts");
      return await join(call.settings);
    }
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
