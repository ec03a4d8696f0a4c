import assert from "node:assert/strict";
import { parseCommandLine, UsageError } from "../lib/cli/command_line.ts";
import type { Invocation, JoinSettings, ServeSettings } from "../lib/cli/settings.ts";
import { type ChatRun, runChat } from "./_chat_command.ts";

/** What `chat serve` runs with when nothing is said. */
const SERVE_DEFAULTS: ServeSettings = {
  host: "0.0.0.0",
  port: 7777,
  maxUsers: 100,
  motd: undefined,
  maxPerIp: 32,
  maxRooms: 1000,
  maxRoomsPerUser: 20,
  floodRate: 5,
  floodBurst: 20,
  pingInterval: 30,
  registerTimeout: 60,
  maxLine: 32768,
  queueLimit: 1048576,
  data: undefined,
  auth: "off",
  tlsCert: undefined,
  tlsKey: undefined,
  history: 0,
  keepDays: 365,
  keepMessages: 100000,
  webPort: 7778,
  webPortChosen: false,
  webNames: [],
};

/** What `chat join` runs with when nothing is said. */
const JOIN_DEFAULTS: JoinSettings = {
  host: "localhost",
  port: 7777,
  name: undefined,
  tls: false,
  ca: undefined,
  password: undefined,
};

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
      settings: { ...SERVE_DEFAULTS, port: 9000, maxUsers: 5, motd: "Hi", webPort: 9001 },
    }],
    [["serve"], { CHAT_PORT: "8000", CHAT_HOST: "127.0.0.1", CHAT_MAX_USERS: "7" }, {
      command: "serve",
      settings: { ...SERVE_DEFAULTS, host: "127.0.0.1", port: 8000, maxUsers: 7, webPort: 8001 },
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
      settings: { ...JOIN_DEFAULTS, name: "小明" },
    }],
    [["join", "10.0.0.5:9000"], { CHAT_NAME: "bot" }, {
      command: "join",
      settings: { ...JOIN_DEFAULTS, host: "10.0.0.5", port: 9000, name: "bot" },
    }],
    [["join", "[::1]:9000"], {}, {
      command: "join",
      settings: { ...JOIN_DEFAULTS, host: "::1", port: 9000 },
    }],
    [["join", "example.org", "--port", "1234"], {}, {
      command: "join",
      settings: { ...JOIN_DEFAULTS, host: "example.org", port: 1234 },
    }],
    // Accounts, history and TLS (issue 6).
    [["serve", "--data", "./data", "--auth", "names", "--history", "50"], {}, {
      command: "serve",
      settings: { ...SERVE_DEFAULTS, data: "./data", auth: "names", history: 50 },
    }],
    // Retention (issue 15): flags, variables, 0 for no limit.
    [["serve", "--keep-days", "0", "--keep-messages", "500", "--data", "d"], {
      CHAT_KEEP_DAYS: "30",
    }, {
      command: "serve",
      settings: { ...SERVE_DEFAULTS, data: "d", keepDays: 0, keepMessages: 500 },
    }],
    [["serve"], { CHAT_KEEP_DAYS: "30", CHAT_KEEP_MESSAGES: "0", CHAT_DATA: "d" }, {
      command: "serve",
      settings: { ...SERVE_DEFAULTS, data: "d", keepDays: 30, keepMessages: 0 },
    }],
    [["serve", "--tls-cert", "c.pem", "--tls-key", "k.pem"], { CHAT_HISTORY: "1000" }, {
      command: "serve",
      settings: { ...SERVE_DEFAULTS, tlsCert: "c.pem", tlsKey: "k.pem", history: 1000 },
    }],
    [["serve"], {
      CHAT_DATA: "/srv/chat",
      CHAT_AUTH: "required",
      CHAT_TLS_CERT: "c",
      CHAT_TLS_KEY: "k",
    }, {
      command: "serve",
      settings: {
        ...SERVE_DEFAULTS,
        data: "/srv/chat",
        auth: "required",
        tlsCert: "c",
        tlsKey: "k",
      },
    }],
    [["serve", "--auth", "off"], { CHAT_DATA: "" }, { command: "serve", settings: SERVE_DEFAULTS }],
    [["join", "chat.lan", "--tls"], { CHAT_PASSWORD: "s3cret pass" }, {
      command: "join",
      settings: { ...JOIN_DEFAULTS, host: "chat.lan", tls: true, password: "s3cret pass" },
    }],
    // A certificate to trust means TLS.
    [["join", "chat.lan"], { CHAT_CA: "chat-cert.pem" }, {
      command: "join",
      settings: { ...JOIN_DEFAULTS, host: "chat.lan", tls: true, ca: "chat-cert.pem" },
    }],
    [["user", "add", " Zoe\u0301 ", "--data", "d"], { CHAT_PASSWORD: "pw" }, {
      command: "user",
      settings: { action: "add", name: "Zoé", data: "d", password: "pw" },
    }],
    [["user", "list"], { CHAT_DATA: "d" }, {
      command: "user",
      settings: { action: "list", name: undefined, data: "d", password: undefined },
    }],
    // An account whose name today's rules refuse can still be deleted.
    [["user", "del", "admin", "--data", "d"], {}, {
      command: "user",
      settings: { action: "del", name: "admin", data: "d", password: undefined },
    }],
    [["user", "--help"], {}, { command: "help", topic: "user" }],
    [["help", "cert"], {}, { command: "help", topic: "cert" }],
    [["backup", "--data", "./data", "copy.db"], {}, {
      command: "backup",
      settings: { data: "./data", file: "copy.db" },
    }],
    [["backup", "copy.db"], { CHAT_DATA: "/srv/chat" }, {
      command: "backup",
      settings: { data: "/srv/chat", file: "copy.db" },
    }],
    [["cert", "chat.lan", "10.0.0.5"], {}, {
      command: "cert",
      settings: { names: ["chat.lan", "10.0.0.5"], out: ".", days: 365, force: false },
    }],
    [["cert", "chat.lan", "--out", "tls", "--days", "30", "--force"], {}, {
      command: "cert",
      settings: { names: ["chat.lan"], out: "tls", days: 30, force: true },
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
    // As nc takes them (`nc HOST 7777`, which chat serve prints beside chat join).
    [["join", "localhost", "7777"], "give the port after a colon: chat join localhost:7777"],
    [["join", "::1", "7777"], "give the port after a colon: chat join [::1]:7777"],
    [["join", "[::1]", "7777"], "give the port after a colon: chat join [::1]:7777"],
    [
      ["join", "127.0.0.1:7903:1"],
      "invalid address '127.0.0.1:7903:1': use HOST, HOST:PORT or [IPv6]:PORT",
    ],
    [
      ["join", "localhost:7908", "--port", "7000"],
      "two ports given: localhost:7908 and --port 7000; give one",
    ],
    [["join", "--port", "0"], "invalid port '0': use a number from 1 to 65535"],
    [["join", "--name", ""], "--name cannot be empty"],
    [
      ["serve", "--auth", "name"],
      "invalid --auth 'name': use off, names, required; did you mean 'names'?",
    ],
    [["serve", "--auth", "names"], "--auth names needs --data DIR, where the accounts are kept"],
    [
      ["serve", "--auth", "required"],
      "--auth required needs --data DIR, where the accounts are kept",
    ],
    [
      ["serve", "--tls-cert", "c.pem"],
      "--tls-cert and --tls-key go together: give both, or neither ('chat cert' makes the pair)",
    ],
    [
      ["serve", "--tls-key", "k.pem"],
      "--tls-cert and --tls-key go together: give both, or neither ('chat cert' makes the pair)",
    ],
    [["serve", "--history", "1001"], "invalid --history '1001': use a whole number from 0 to 1000"],
    [["serve", "--history=-1"], "invalid --history '-1': use a whole number from 0 to 1000"],
    [["serve", "--history", "lots"], "invalid --history 'lots': use a whole number from 0 to 1000"],
    [["serve", "--keep-days", "-1"], "invalid --keep-days '-1': use a whole number of 0 or more"],
    [["join", "--ca"], "option '--ca' needs a value"],
    [["usr", "list"], "unknown command 'usr'; did you mean 'user'?"],
    [["help", "crt"], "no help for 'crt'; did you mean 'cert'?"],
    [["help", "x"], "no help for 'x'; the commands are serve, join, user, cert and backup"],
    [["user", "list", "--data"], "option '--data' needs a value"],
    [["cert", "--days", "900", "a"], "invalid --days '900': use a whole number from 1 to 825"],
    [["cert", "--days", "0", "a"], "invalid --days '0': use a whole number from 1 to 825"],
    [
      ["cert", "--out", "d"],
      "name the host names or IP addresses clients will use, e.g. chat cert chat.lan 192.168.1.20",
    ],
  ];
  for (const [args, message] of cases) {
    assert.throws(() => parseCommandLine(args, {}), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.equal(error.message, message);
      return true;
    });
  }
});

Deno.test("parseCommandLine() names the CHAT_* variable a bad value came from", () => {
  const cases: [string[], Record<string, string>, string][] = [
    [["serve"], { CHAT_PORT: "abc" }, "invalid CHAT_PORT 'abc': use a number from 0 to 65535"],
    [["join"], { CHAT_PORT: "0" }, "invalid CHAT_PORT '0': use a number from 1 to 65535"],
    [
      ["serve"],
      { CHAT_MAX_USERS: "lots" },
      "invalid CHAT_MAX_USERS 'lots': use a whole number of 1 or more",
    ],
    [
      ["serve"],
      { CHAT_HISTORY: "5000" },
      "invalid CHAT_HISTORY '5000': use a whole number from 0 to 1000",
    ],
    [
      ["serve"],
      { CHAT_MAX_LINE: "2M" },
      "invalid CHAT_MAX_LINE '2M': use a whole number from 64 to 1M",
    ],
    [["serve"], { CHAT_WEB_PORT: "x" }, "invalid CHAT_WEB_PORT 'x': use a number from 0 to 65535"],
    [
      ["serve"],
      { CHAT_WEB_NAME: "a/b" },
      "invalid CHAT_WEB_NAME 'a/b': give a host name as typed in a browser, such as chat.school.lan",
    ],
    [["serve"], { CHAT_AUTH: "yes" }, "invalid CHAT_AUTH 'yes': use off, names, required"],
    [
      ["serve"],
      { CHAT_AUTH: "required" },
      "CHAT_AUTH=required needs --data DIR, where the accounts are kept",
    ],
    // The flag still beats the variable, and is what the error names.
    [
      ["serve", "--port", "x"],
      { CHAT_PORT: "1" },
      "invalid port 'x': use a number from 0 to 65535",
    ],
  ];
  for (const [args, env, message] of cases) {
    assert.throws(() => parseCommandLine(args, env), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.equal(error.message, message);
      return true;
    });
  }
});

Deno.test("parseCommandLine() refuses settings that would be ignored, and two hosts for one join", () => {
  const disk = "needs --data DIR: without it nothing is kept on disk (history stays in memory)";
  const cases: [string[], Record<string, string>, string][] = [
    [["serve", "--keep-days", "30"], {}, `--keep-days 30 ${disk}`],
    [["serve", "--keep-messages", "500"], {}, `--keep-messages 500 ${disk}`],
    [["serve"], { CHAT_KEEP_DAYS: "7" }, `CHAT_KEEP_DAYS=7 ${disk}`],
    [
      ["join", "localhost", "--host", "127.0.0.1"],
      {},
      "two hosts given: localhost and --host 127.0.0.1; give one",
    ],
  ];
  for (const [args, env, message] of cases) {
    assert.throws(() => parseCommandLine(args, env), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.equal(error.message, message);
      return true;
    });
  }
});

Deno.test("chat serve with a bad CHAT_PORT names the variable, with exit code 2", async () => {
  const { code, stderr } = await runChat(["serve"], { env: { CHAT_PORT: "abc" } });
  assert.equal(code, 2);
  assert.equal(
    stderr,
    "chat: invalid CHAT_PORT 'abc': use a number from 0 to 65535\n" +
      "Run 'chat serve --help' for usage.\n",
  );
});

Deno.test("parseCommandLine() says what is wrong with a negative number, for every numeric flag", () => {
  // parseArgs alone reads "-5" as an option and calls the flag "ambiguous".
  const cases: [string[], string][] = [
    [["serve", "--port", "-5"], "invalid port '-5': use a number from 0 to 65535"],
    [["serve", "--max-users", "-5"], "invalid --max-users '-5': use a whole number of 1 or more"],
    [["serve", "--max-per-ip", "-5"], "invalid --max-per-ip '-5': use a whole number of 0 or more"],
    [["serve", "--flood-rate", "-0.5"], "invalid --flood-rate '-0.5': use a number of 0 or more"],
    [
      ["serve", "--flood-burst", "-5"],
      "invalid --flood-burst '-5': use a whole number of 1 or more",
    ],
    [
      ["serve", "--ping-interval", "-5"],
      "invalid --ping-interval '-5': use a whole number of 0 or more",
    ],
    [
      ["serve", "--register-timeout", "-5"],
      "invalid --register-timeout '-5': use a whole number of 1 or more",
    ],
    [["serve", "--max-line", "-1K"], "invalid --max-line '-1K': use a whole number from 64 to 1M"],
    [
      ["serve", "--queue-limit", "-5"],
      "invalid --queue-limit '-5': use a whole number from 1024 to 1024M",
    ],
    [["serve", "--history", "-5"], "invalid --history '-5': use a whole number from 0 to 1000"],
    [["join", "--port", "-5"], "invalid port '-5': use a number from 1 to 65535"],
    [["cert", "a", "--days", "-5"], "invalid --days '-5': use a whole number from 1 to 825"],
    [["cert", "--days", "-.5", "a"], "invalid --days '-.5': use a whole number from 1 to 825"],
    // A flag followed by another flag still lacks its value.
    [["serve", "--port", "--host", "x"], "option '--port' needs a value"],
    [
      ["serve", "--motd", "-x-"],
      "option '--motd' needs a value; to give one that starts with '-', write --motd=-x-",
    ],
  ];
  for (const [args, message] of cases) {
    assert.throws(() => parseCommandLine(args, {}), (error: unknown) => {
      assert.ok(error instanceof UsageError, args.join(" "));
      assert.equal(error.message, message, args.join(" "));
      return true;
    });
  }
});

Deno.test("chat serve --port -5 says what is wrong with the value, with exit code 2", async () => {
  const { code, stderr } = await chat("serve", "--port", "-5");
  assert.equal(code, 2);
  assert.equal(
    stderr,
    "chat: invalid port '-5': use a number from 0 to 65535\nRun 'chat serve --help' for usage.\n",
  );
});

function chat(...args: string[]): Promise<ChatRun> {
  return runChat(args);
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
    .concat(["--queue-limit", "--data", "--auth", "--history", "--tls-cert", "--tls-key"])
    .concat(["--keep-days", "--keep-messages"])
    .concat(["CHAT_MAX_USERS", "Examples:", "--auth names"]);
  for (const flag of flags) {
    assert.ok(stdout.includes(flag), flag);
  }
});

Deno.test("chat help user, chat help cert and chat join --help document their options", async () => {
  const want: [string[], string[]][] = [
    [["help", "user"], ["add", "passwd", "del", "list", "--data", "CHAT_DATA", "CHAT_PASSWORD"]],
    [["help", "backup"], ["--data DIR FILE", "CHAT_DATA", "To restore", "Exit codes"]],
    [["cert", "--help"], ["NAME...", "--out", "--days", "--force", "chat-key.pem", "Example:"]],
    [["join", "--help"], ["--tls", "--ca", "CHAT_CA", "CHAT_PASSWORD"]],
  ];
  for (const [args, words] of want) {
    const { code, stdout } = await chat(...args);
    assert.equal(code, 0, args.join(" "));
    for (const word of words) assert.ok(stdout.includes(word), `${args.join(" ")}: ${word}`);
  }
});

Deno.test("parseCommandLine() reads help and version the same way wherever they are asked for", () => {
  const cases: [string[], Invocation][] = [
    [["-v"], { command: "version" }],
    [["-V"], { command: "version" }],
    [["--help", "join"], { command: "help", topic: "join" }],
    [["-h", "serve"], { command: "help", topic: "serve" }],
    [["help", "help"], { command: "help" }],
    [["help", "--help"], { command: "help" }],
    [["help", "-h"], { command: "help" }],
    [["help", "version"], { command: "help" }],
    [["join", "-h"], { command: "help", topic: "join" }],
  ];
  for (const [args, want] of cases) {
    assert.deepEqual(parseCommandLine(args, {}), want, args.join(" "));
  }
});

Deno.test("parseCommandLine() says why a name cannot start with '-', and what -v and short flags are", () => {
  const names = "a name must start with a letter or digit";
  const version = "'chat --version' prints the version";
  const cases: [string[], Record<string, string>, string][] = [
    // parseArgs alone calls --name "ambiguous".
    [["join", "--name", "-dash"], {}, `invalid --name '-dash': ${names}`],
    [["join", "--name=-dash"], {}, `invalid --name '-dash': ${names}`],
    [["join", "--name", "-5"], {}, `invalid --name '-5': ${names}`],
    [["join"], { CHAT_NAME: "-dash" }, `invalid CHAT_NAME '-dash': ${names}`],
    [["join", "--name", "-h"], {}, "option '--name' needs a value"],
    [["join", "-v"], {}, `unknown option '-v'; ${version}`],
    [["serve", "--version"], {}, `unknown option '--version'; ${version}`],
    [["cert", "-V", "a"], {}, `unknown option '-V'; ${version}`],
    // A short flag is matched to a long one by its letter, not by spelling distance.
    [["join", "-n", "Bob"], {}, "unknown option '-n'; did you mean '--name'?"],
    [["join", "-x"], {}, "unknown option '-x'"],
    // parseArgs reads -name as -n -a -m -e.
    [["join", "-name", "Bob"], {}, "unknown option '-name'; did you mean '--name'?"],
    [["user", "add", "-dash", "--data", "d"], {}, "unknown option '-dash'"],
    [
      ["--port", "8000", "serve"],
      {},
      "unknown option '--port': options go after the command, as in chat serve --port",
    ],
    [
      ["--name", "Bob", "join"],
      {},
      "unknown option '--name': options go after the command, as in chat join --name",
    ],
    [["-x"], {}, "unknown option '-x'"],
  ];
  for (const [args, env, message] of cases) {
    assert.throws(() => parseCommandLine(args, env), (error: unknown) => {
      assert.ok(error instanceof UsageError, args.join(" "));
      assert.equal(error.message, message, args.join(" "));
      return true;
    });
  }
});

Deno.test("chat join --name -dash says that names start with a letter or digit, with exit code 2", async () => {
  const { code, stdout, stderr } = await chat("join", "--name", "-dash");
  assert.equal(code, 2);
  assert.equal(stdout, "");
  assert.equal(
    stderr,
    "chat: invalid --name '-dash': a name must start with a letter or digit\n" +
      "Run 'chat join --help' for usage.\n",
  );
});
