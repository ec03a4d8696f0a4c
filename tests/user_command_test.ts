/**
 * `chat user`, run as a user runs it (real processes, with the executables'
 * permission set), against real data directories: each action, the piped
 * and CHAT_PASSWORD ways of giving passwords, and every failure as its one
 * line and exit code. The hidden prompt on a terminal is tested in
 * prompt_secret_test.ts.
 *
 * @module
 */

import assert from "node:assert/strict";
import { verifyPassword } from "../lib/auth/passwords.ts";
import { Store } from "../lib/store/sqlite_store.ts";
import { CHAT_EXE, chatCommand, type ChatRun, ROOT, runChat } from "./_chat_command.ts";
import { withDir, within } from "./_helpers.ts";

/** Runs `chat <args>` with `input` piped in and `env` added; waits for it to exit. */
function chat(args: string[], input = "", env: Record<string, string> = {}): Promise<ChatRun> {
  return runChat(args, { input, env });
}

/** The stored hash of `name` in `data`. */
function storedHash(data: string, name: string): string | undefined {
  const store = Store.open(data, { create: false });
  try {
    return store.getUser(name)?.hash;
  } finally {
    store.close();
  }
}

Deno.test("chat user add, list, passwd and del manage the accounts of a data directory", async () => {
  await withDir(async (dir) => {
    const data = `${dir}/data`;
    const add = await chat(["user", "add", "Bob", "--data", data], "bob's secret\nbob's secret\n");
    assert.deepEqual(add, { code: 0, stdout: `added Bob to ${data}\n`, stderr: "" });
    assert.ok(await verifyPassword("bob's secret", storedHash(data, "bob")));

    const bot = await chat(["user", "add", "小明", "--data", data], "", {
      CHAT_PASSWORD: "a bot's password",
    });
    assert.deepEqual(bot, {
      code: 0,
      stdout: `added 小明 to ${data}\n`,
      stderr: "chat: using the password in CHAT_PASSWORD\n",
    });
    // CHAT_DATA stands for --data.
    const list = await chat(["user", "list"], "", { CHAT_DATA: data });
    assert.deepEqual(list, { code: 0, stdout: "Bob\n小明\n", stderr: "" });

    const passwd = await chat(
      ["user", "passwd", "BOB", "--data", data],
      "new secret\nnew secret\n",
    );
    assert.deepEqual(passwd, { code: 0, stdout: "changed the password of Bob\n", stderr: "" });
    assert.ok(await verifyPassword("new secret", storedHash(data, "bob")));
    assert.ok(!(await verifyPassword("bob's secret", storedHash(data, "bob"))));

    const del = await chat(["user", "del", "bob", "--data", data]);
    assert.deepEqual(del, { code: 0, stdout: `deleted Bob from ${data}\n`, stderr: "" });
    assert.equal((await chat(["user", "list", "--data", data])).stdout, "小明\n");
  });
});

Deno.test("chat user refuses what it cannot do in one line, with exit code 1, changing nothing", async () => {
  await withDir(async (dir) => {
    const data = `${dir}/data`;
    await chat(["user", "add", "Bob", "--data", data], "", { CHAT_PASSWORD: "bob's secret" });
    const before = storedHash(data, "bob");
    const cases: [string[], string, string][] = [
      [["add", "BOB"], "a password\na password\n", `there is already a user named Bob in ${data}`],
      [
        ["add", "Carol"],
        "carol's one\ncarol's two\n",
        "the two passwords differ; Carol was not added",
      ],
      [
        ["add", "Carol"],
        "short\nshort\n",
        "a password needs at least 8 characters; Carol was not added",
      ],
      [["add", "Carol"], "", "no password given; Carol was not added"],
      [["add", "Carol"], "only once\n", "the password was given once only; Carol was not added"],
      [
        ["passwd", "bob"],
        "new secret\nother secret\n",
        "the two passwords differ; the password of Bob is unchanged",
      ],
      [["passwd", "nobody"], "", `no user named nobody in ${data}`],
      [["del", "nobody"], "", `no user named nobody in ${data}`],
      [
        ["list", "--data", `${dir}/typo`],
        "",
        `the data directory ${dir}/typo does not exist; check --data`,
      ],
      [
        ["del", "bob", "--data", dir],
        "",
        `there is no chat data in ${dir} (no chat.db); check --data`,
      ],
    ];
    for (const [args, input, message] of cases) {
      const withData = args.includes("--data") ? args : [...args, "--data", data];
      const run = await chat(["user", ...withData], input);
      assert.deepEqual(run, { code: 1, stdout: "", stderr: `chat: ${message}\n` }, args.join(" "));
    }
    assert.equal((await chat(["user", "list", "--data", data])).stdout, "Bob\n");
    assert.equal(storedHash(data, "bob"), before);
  });
});

Deno.test("chat user explains misuse with exit code 2", async () => {
  await withDir(async (dir) => {
    const cases: [string[], string][] = [
      [["user"], "say what to do: chat user add|passwd|del|list"],
      [["user", "ad", "bob"], "unknown action 'ad'; did you mean 'add'?"],
      [["user", "remove", "bob"], "unknown action 'remove'; use add, passwd, del or list"],
      [["user", "add"], "name the account: chat user add NAME"],
      [["user", "add", "two words"], "cannot add 'two words': a name cannot contain spaces"],
      [["user", "add", "server"], "cannot add 'server': the name server is reserved"],
      [["user", "list", "extra"], "too many arguments: extra"],
    ];
    for (const [args, message] of cases) {
      const run = await chat([...args, "--data", dir]);
      assert.deepEqual(run, {
        code: 2,
        stdout: "",
        stderr: `chat: ${message}\nRun 'chat user --help' for usage.\n`,
      }, args.join(" "));
    }
    const noData = await chat(["user", "list"]);
    assert.equal(noData.code, 2);
    assert.match(noData.stderr, /^chat: chat user needs --data DIR \(or CHAT_DATA\)/);
  });
});

Deno.test("chat user refuses a data directory holding a file that is not a database", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/chat.db`, "my shopping list\n".repeat(100));
    for (const args of [["list"], ["add", "Bob"]]) {
      const run = await chat(["user", ...args, "--data", dir], "", { CHAT_PASSWORD: "a password" });
      assert.deepEqual(run, {
        code: 1,
        stdout: "",
        stderr: `chat: ${dir}/chat.db is not a chat database (file is not a database); ` +
          `move it away or use another --data\n`,
      });
    }
    assert.equal(await Deno.readTextFile(`${dir}/chat.db`), "my shopping list\n".repeat(100));
  });
});

Deno.test("chat user works while a server holds the data directory", async () => {
  await withDir(async (dir) => {
    // Holds the directory as chat serve will (an exclusive lock), until killed.
    const holder = new Deno.Command(Deno.execPath(), {
      args: ["run", "-RW", new URL("./_store_writer.ts", import.meta.url).pathname, dir, "hold"],
      stdout: "piped",
    }).spawn();
    const reader = holder.stdout.pipeThrough(new TextDecoderStream()).getReader();
    try {
      assert.equal((await within(reader.read(), () => "no ready")).value?.trim(), "ready");
      const add = await chat(["user", "add", "Dana", "--data", dir], "", {
        CHAT_PASSWORD: "dana's secret",
      });
      assert.equal(add.code, 0, add.stderr);
      assert.equal((await chat(["user", "list", "--data", dir])).stdout, "Dana\n");
    } finally {
      holder.kill("SIGKILL");
      await holder.status;
      await reader.cancel();
    }
  });
});

/** Whether this test process may run another as an unprivileged user (root, with setpriv). */
function canDropPrivileges(): boolean {
  if (Deno.build.os === "windows" || Deno.uid() !== 0) return false;
  try {
    Deno.statSync("/usr/bin/setpriv");
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "chat user says so when the data directory is not writable",
  // Root may write anywhere: the test runs chat as the unprivileged user 'nobody'.
  ignore: !canDropPrivileges(),
  async fn() {
    await withDir(async (dir) => {
      await Deno.chmod(dir, 0o755);
      const denoDir = `${dir}/deno-dir`;
      await Deno.mkdir(denoDir, { mode: 0o777 });
      await Deno.chmod(denoDir, 0o777);
      // A directory that exists, and one chat would have to create, both root's.
      const data = `${dir}/data`;
      const store = Store.open(data);
      store.close();
      await Deno.chmod(data, 0o755);
      const asNobody = async (args: string[]) => {
        const [program, ...rest] = chatCommand(args);
        const { code, stderr } = await new Deno.Command("/usr/bin/setpriv", {
          args: ["--reuid=65534", "--regid=65534", "--clear-groups", program, ...rest],
          cwd: CHAT_EXE ? dir : ROOT,
          env: { DENO_DIR: denoDir, HOME: dir, CHAT_PASSWORD: "a password" },
          stdin: "null",
        }).output();
        return { code, stderr: new TextDecoder().decode(stderr) };
      };
      const create = await asNobody(["user", "add", "Bob", "--data", `${dir}/new`]);
      assert.deepEqual(create, {
        code: 1,
        stderr: `chat: cannot create the data directory ${dir}/new (permission denied)\n`,
      });
      const write = await asNobody(["user", "add", "Bob", "--data", data]);
      assert.equal(write.code, 1);
      assert.match(
        write.stderr,
        new RegExp(
          `^chat: cannot write to ${data}/chat\\.db \\(.+\\); ` +
            `check that the directory and file are yours and writable\\n$`,
        ),
      );
    });
  },
});
