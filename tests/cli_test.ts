import assert from "node:assert/strict";
import { type Invocation, parseCommandLine, type ServeSettings, UsageError } from "../lib/cli.ts";

/** What `chat serve` runs with when nothing is said. */
const SERVE_DEFAULTS: ServeSettings = {
  host: "0.0.0.0",
  port: 7777,
  maxUsers: 100,
  motd: undefined,
  maxPerIp: 32,
  floodRate: 5,
  floodBurst: 20,
  pingInterval: 30,
  registerTimeout: 60,
  maxLine: 32768,
  queueLimit: 1048576,
};

const MAIN = new URL("../main.ts", import.meta.url).pathname;

Deno.test("parseCommandLine() reads subcommands, flags, positionals and CHAT_* variables", () => {
  const cases: [string[], Record<string, string>, Invocation][] = [
    [[], {}, { command: "help" }],
    [["--version"], {}, { command: "version" }],
    [["help", "join"], {}, { command: "help", topic: "join" }],
    [["serve", "--help"], {}, { command: "help", topic: "serve" }],
    [["serve"], {}, {
      command: "serve",
      settings: SERVE_DEFAULTS,
    }],
    [["serve", "--port", "9000", "--max-users", "5", "--motd", "Hi"], { CHAT_PORT: "1" }, {
      command: "serve",
      settings: { ...SERVE_DEFAULTS, port: 9000, maxUsers: 5, motd: "Hi" },
    }],
    [["serve"], { CHAT_PORT: "8000", CHAT_HOST: "127.0.0.1", CHAT_MAX_USERS: "7" }, {
      command: "serve",
      settings: { ...SERVE_DEFAULTS, host: "127.0.0.1", port: 8000, maxUsers: 7 },
    }],
    [
      ["serve", "--flood-rate", "0.5", "--queue-limit", "64K", "--max-per-ip", "0"],
      { CHAT_PING_INTERVAL: "0", CHAT_MAX_LINE: "1M" },
      {
        command: "serve",
        settings: {
          ...SERVE_DEFAULTS,
          floodRate: 0.5,
          queueLimit: 65536,
          maxPerIp: 0,
          pingInterval: 0,
          maxLine: 1048576,
        },
      },
    ],
    [["join", "--name", "小明"], {}, {
      command: "join",
      settings: { host: "localhost", port: 7777, name: "小明" },
    }],
    [["join", "10.0.0.5:9000"], { CHAT_NAME: "bot" }, {
      command: "join",
      settings: { host: "10.0.0.5", port: 9000, name: "bot" },
    }],
    [["join", "[::1]:9000"], {}, {
      command: "join",
      settings: { host: "::1", port: 9000, name: undefined },
    }],
    [["join", "example.org", "--port", "1234"], {}, {
      command: "join",
      settings: { host: "example.org", port: 1234, name: undefined },
    }],
  ];
  for (const [args, env, want] of cases) {
    assert.deepEqual(parseCommandLine(args, env), want, args.join(" "));
  }
});

Deno.test("parseCommandLine() explains misuse and suggests the likely intent", () => {
  const cases: [string[], string][] = [
    [["srve"], "unknown command 'srve'; did you mean 'serve'?"],
    [["serve", "--prot", "1"], "unknown option '--prot'; did you mean '--port'?"],
    [["serve", "--port", "http"], "invalid port 'http': use a number from 0 to 65535"],
    [["serve", "--port", "70000"], "invalid port '70000': use a number from 0 to 65535"],
    [["serve", "--max-users", "0"], "invalid --max-users '0': use a whole number of 1 or more"],
    [
      ["serve", "--flood-burst", "2.5"],
      "invalid --flood-burst '2.5': use a whole number of 1 or more",
    ],
    [
      ["serve", "--queue-limit", "1G"],
      "invalid --queue-limit '1G': use a whole number from 1024 to 1024M",
    ],
    [["serve", "--max-line", "2M"], "invalid --max-line '2M': use a whole number from 64 to 1M"],
    [["serve", "--max-users", "2k"], "invalid --max-users '2k': use a whole number of 1 or more"],
    [["serve", "--port"], "option '--port' needs a value"],
    [["serve", "extra"], "unexpected argument: extra"],
    [["join", "a", "b"], "too many arguments: a b"],
  ];
  for (const [args, message] of cases) {
    assert.throws(() => parseCommandLine(args, {}), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.equal(error.message, message);
      return true;
    });
  }
});

async function chat(...args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", MAIN, ...args],
    env: { NO_COLOR: "1" },
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test("a usage error is one line plus a pointer to help, with exit code 2", async () => {
  const { code, stdout, stderr } = await chat("serve", "--prot", "80");
  assert.equal(code, 2);
  assert.equal(stdout, "");
  assert.equal(
    stderr,
    "chat: unknown option '--prot'; did you mean '--port'?\nRun 'chat serve --help' for usage.\n",
  );
});

Deno.test("chat serve --help documents every flag and the environment variables", async () => {
  const { code, stdout } = await chat("serve", "--help");
  assert.equal(code, 0);
  const flags = ["--host", "--port", "--max-users", "--motd", "--max-per-ip", "--flood-rate"]
    .concat(["--flood-burst", "--ping-interval", "--register-timeout", "--max-line"])
    .concat(["--queue-limit", "CHAT_MAX_USERS", "Example:"]);
  for (const flag of flags) {
    assert.ok(stdout.includes(flag), flag);
  }
});
