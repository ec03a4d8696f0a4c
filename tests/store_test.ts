/**
 * Tests of lib/store.ts on real files in temporary directories: accounts,
 * history, private messages, ids across restarts, the one-server lock, the
 * errors for bad databases, and durability under `kill -9` (a real child
 * process, tests/_store_writer.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  APPLICATION_ID,
  DATABASE_FILE,
  MAX_PAGE,
  MIGRATIONS,
  SCHEMA_VERSION,
  Store,
  StoreError,
} from "../lib/store/sqlite_store.ts";
import { VERSION } from "../lib/version.ts";
import { withDir, within } from "./_helpers.ts";

const WRITER = new URL("./_store_writer.ts", import.meta.url).pathname;

/** Opens a store, runs `body`, closes it. */
async function withStore(
  dir: string,
  body: (store: Store) => Promise<void> | void,
  options = {},
): Promise<void> {
  const store = Store.open(dir, options);
  try {
    await body(store);
  } finally {
    store.close();
  }
}

/** Asserts that opening `dir` fails with exactly `message`. */
function assertOpenFails(dir: string, message: string | RegExp, options = {}): void {
  assert.throws(() => Store.open(dir, options), (error: unknown) => {
    assert.ok(error instanceof StoreError, String(error));
    if (typeof message === "string") assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

const message = (text: string, room = "lobby") => ({ time: 1000, room, from: "Ann", text });

// ---- opening --------------------------------------------------------------------

Deno.test("Store.open() creates the directory and database, private to their owner, at the current schema", async () => {
  await withDir(async (root) => {
    const dir = `${root}/a/b/data`;
    await withStore(dir, (store) => {
      assert.equal(store.schemaVersion, SCHEMA_VERSION);
      assert.equal(store.path, `${dir}/${DATABASE_FILE}`);
      assert.equal(store.lastId, 0);
    });
    if (Deno.build.os !== "windows") {
      assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
      assert.equal((await Deno.stat(`${dir}/${DATABASE_FILE}`)).mode! & 0o777, 0o600);
    }
    const db = new DatabaseSync(`${dir}/${DATABASE_FILE}`);
    try {
      assert.equal(db.prepare("PRAGMA application_id").get()?.application_id, APPLICATION_ID);
      assert.equal(db.prepare("PRAGMA journal_mode").get()?.journal_mode, "wal");
      const history = db.prepare("SELECT version, program FROM schema_migrations").all();
      assert.deepEqual(
        history.map((row) => ({ ...row })),
        MIGRATIONS.map((_, i) => ({ version: i + 1, program: `chat ${VERSION}` })),
      );
    } finally {
      db.close();
    }
    // Opening again migrates nothing.
    await withStore(dir, (store) => assert.equal(store.schemaVersion, SCHEMA_VERSION));
  });
});

Deno.test("Store.open() without create refuses a directory with no data, so a typo is not an empty store", async () => {
  await withDir(async (dir) => {
    assertOpenFails(
      `${dir}/typo`,
      `the data directory ${dir}/typo does not exist; check --data`,
      { create: false },
    );
    assertOpenFails(dir, `there is no chat data in ${dir} (no chat.db); check --data`, {
      create: false,
    });
    await assert.rejects(Deno.stat(`${dir}/typo`), Deno.errors.NotFound);
  });
});

Deno.test("Store.open() explains a data path that is a file or cannot be created", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/file`, "not a directory\n");
    assertOpenFails(
      `${dir}/file`,
      `${dir}/file is a file, not a directory; --data needs a directory`,
    );
    assertOpenFails(
      `${dir}/file/data`,
      /^cannot (use|create) the data directory .*\/file\/data \(not a directory\)$/,
    );
  });
});

Deno.test("Store.open() refuses a file that is not a database, and leaves it alone", async () => {
  await withDir(async (dir) => {
    const text = "these are my notes, not a database\n".repeat(200);
    await Deno.writeTextFile(`${dir}/${DATABASE_FILE}`, text);
    assertOpenFails(
      dir,
      `${dir}/chat.db is not a chat database (file is not a database); ` +
        `move it away or use another --data`,
    );
    assert.equal(await Deno.readTextFile(`${dir}/${DATABASE_FILE}`), text);
  });
});

Deno.test("Store.open() refuses a damaged database at start, not at the first query", async () => {
  await withDir(async (dir) => {
    await withStore(dir, (store) => {
      for (let i = 0; i < 300; i++) store.appendMessage(message(`message ${i} ${"x".repeat(200)}`));
    });
    const path = `${dir}/${DATABASE_FILE}`;
    const bytes = await Deno.readFile(path);
    assert.ok(bytes.length > 8 * 4096, `only ${bytes.length} bytes`);
    // Scribble over pages in the middle, as a bad disk or a stray write would.
    for (let i = 4 * 4096; i < 7 * 4096; i++) bytes[i] = (i * 7) & 0xff;
    await Deno.writeFile(path, bytes);
    assertOpenFails(
      dir,
      /^.*\/chat\.db is damaged \(.+\); restore it from a backup, or move it away to start afresh$/,
    );
  });
});

Deno.test("Store.open() refuses another program's SQLite database", async () => {
  await withDir((dir) => {
    const db = new DatabaseSync(`${dir}/${DATABASE_FILE}`);
    db.exec("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)");
    db.close();
    assertOpenFails(
      dir,
      `${dir}/chat.db is a database of another program, not chat's; move it away or use another --data`,
    );
  });
});

Deno.test("Store.open() refuses a database from a newer chat, and leaves it unchanged", async () => {
  await withDir(async (dir) => {
    await withStore(dir, () => {});
    const db = new DatabaseSync(`${dir}/${DATABASE_FILE}`);
    db.prepare(
      "INSERT INTO schema_migrations (version, applied, program, description) VALUES (?, 0, ?, ?)",
    ).run(SCHEMA_VERSION + 7, "chat 9.0.0", "from the future");
    db.close();
    assertOpenFails(
      dir,
      `${dir}/chat.db was written by a newer chat (schema ${SCHEMA_VERSION + 7}, by chat 9.0.0); ` +
        `this is chat ${VERSION}, which knows schema ${SCHEMA_VERSION} and older: upgrade chat`,
    );
  });
});

// ---- the one-server lock ----------------------------------------------------------

Deno.test("a second chat serve on the same directory is refused, while chat user may still write", async () => {
  await withDir(async (dir) => {
    const server = Store.open(dir, { exclusive: true });
    try {
      assertOpenFails(
        dir,
        `${dir} is in use by another chat server (process ${Deno.pid}); ` +
          `stop that one first, or give each server its own --data`,
        { exclusive: true },
      );
      // chat user, meanwhile, adds an account the server can see at once.
      await withStore(dir, (tool) => assert.ok(tool.addUser("Bob", "$hash", 1)));
      assert.equal(server.getUser("bob")?.name, "Bob");
    } finally {
      server.close();
    }
    // Once the first has stopped, the directory is free.
    await withStore(dir, () => {}, { exclusive: true });
  });
});

Deno.test("the lock of a server killed with SIGKILL is released by the OS: no stale lock", async () => {
  await withDir(async (dir) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-write", WRITER, dir, "hold"],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    try {
      const first = await within(reader.read(), () => "the holder never said ready");
      assert.equal(first.value?.trim(), "ready");
      assertOpenFails(
        dir,
        `${dir} is in use by another chat server (process ${child.pid}); ` +
          `stop that one first, or give each server its own --data`,
        { exclusive: true },
      );
    } finally {
      child.kill("SIGKILL");
      await child.status;
      await reader.cancel();
    }
    await withStore(dir, () => {}, { exclusive: true });
  });
});

// ---- accounts ----------------------------------------------------------------------

Deno.test("accounts are added, found by any spelling of their name, re-passworded, listed and deleted", async () => {
  await withDir(async (dir) => {
    await withStore(dir, (store) => {
      assert.ok(store.addUser("Bob", "$h1", 100));
      assert.ok(store.addUser("小明", "$h2", 200));
      assert.ok(store.addUser("alice", "$h3", 300));
      // Names are unique as the hub compares them: case, width, look-alikes.
      assert.ok(!store.addUser("BOB", "$other", 400));
      assert.ok(!store.addUser("ｂｏｂ", "$other", 400));
      assert.deepEqual(store.getUser("bOb"), {
        name: "Bob",
        key: "bob",
        hash: "$h1",
        created: 100,
      });
      assert.equal(store.getUser("nobody"), undefined);
      assert.deepEqual(store.listUsers().map((u) => u.name), ["Bob", "alice", "小明"]);

      assert.ok(store.setPassword("BOB", "$h4"));
      assert.equal(store.getUser("Bob")?.hash, "$h4");
      assert.ok(!store.setPassword("nobody", "$h5"));

      assert.ok(store.deleteUser("bob"));
      assert.ok(!store.deleteUser("bob"));
      assert.deepEqual(store.listUsers().map((u) => u.name), ["alice", "小明"]);
    });
    // And all of it is still there after a restart.
    await withStore(dir, (store) => {
      assert.deepEqual(store.listUsers().map((u) => u.name), ["alice", "小明"]);
    });
  });
});

Deno.test("stored name keys follow a change of the name rules, and collisions are reported", async () => {
  await withDir(async (dir) => {
    await withStore(dir, (store) => {
      store.addUser("Carol", "$h1", 1);
      store.addUser("dave", "$h2", 2);
    });
    // As if written by an older chat whose keys were plain lower case and
    // which had no look-alike rule: "Dаve" with a Cyrillic а was its own name.
    const db = new DatabaseSync(`${dir}/${DATABASE_FILE}`);
    db.exec("UPDATE users SET key = 'CAROL-old' WHERE name = 'Carol'");
    db.prepare("INSERT INTO users (key, name, hash, created) VALUES (?, ?, '$h3', 3)")
      .run("d\u0430ve-old", "D\u0430ve");
    db.close();
    await withStore(dir, (store) => {
      assert.equal(store.getUser("carol")?.name, "Carol");
      assert.deepEqual(store.warnings, [
        "the accounts dave and D\u0430ve now count as the same name; " +
        "D\u0430ve cannot log in until one is deleted (chat user del)",
      ]);
    });
  });
});

// ---- history -----------------------------------------------------------------------

Deno.test("recentMessages() returns a room's last N, oldest first, and pages back with before", async () => {
  await withDir(async (dir) => {
    await withStore(dir, (store) => {
      for (let i = 1; i <= 10; i++) store.appendMessage(message(`lobby ${i}`));
      store.appendMessage({ ...message("waves", "lobby"), action: true });
      store.appendMessage(message("elsewhere", "other"));
      const last3 = store.recentMessages("lobby", 3);
      assert.deepEqual(last3.map((m) => m.text), ["lobby 9", "lobby 10", "waves"]);
      assert.deepEqual(last3[2], {
        id: 11,
        time: 1000,
        room: "lobby",
        from: "Ann",
        text: "waves",
        action: true,
      });
      assert.equal(last3[0].action, false);
      const before = store.recentMessages("lobby", 3, last3[0].id);
      assert.deepEqual(before.map((m) => m.text), ["lobby 6", "lobby 7", "lobby 8"]);
      assert.deepEqual(store.recentMessages("other", 5).map((m) => m.text), ["elsewhere"]);
      assert.deepEqual(store.recentMessages("nowhere", 5), []);
      assert.deepEqual(store.recentMessages("lobby", 5, 1), []);
    });
  });
});

Deno.test("recentMessages() caps oversized requests and refuses hostile ones", async () => {
  await withDir(async (dir) => {
    await withStore(dir, (store) => {
      // One transaction would be faster; appending one by one is what the server does.
      for (let i = 0; i < MAX_PAGE + 5; i++) store.appendMessage(message(`m${i}`));
      assert.equal(store.recentMessages("lobby", 1e9).length, MAX_PAGE);
      assert.equal(store.recentMessages("lobby", Number.MAX_SAFE_INTEGER).length, MAX_PAGE);
      assert.deepEqual(store.recentMessages("lobby", 0), []);
      assert.deepEqual(store.recentMessages("lobby", -5), []);
      for (const bad of [NaN, Infinity, 2.5]) {
        assert.throws(() => store.recentMessages("lobby", bad), RangeError, String(bad));
      }
      assert.throws(() => store.recentMessages("lobby", 5, NaN), RangeError);
      // Text that looks like SQL is only text.
      const id = store.appendMessage(message("'); DROP TABLE messages; --"));
      assert.equal(store.recentMessages("lobby", 1)[0].id, id);
      assert.equal(store.recentMessages("' OR 1=1 --", 10).length, 0);
    });
  });
});

Deno.test("message ids continue across restarts and never go back, shared with private messages", async () => {
  await withDir(async (dir) => {
    await withStore(dir, (store) => {
      assert.equal(store.appendMessage(message("one")), 1);
      assert.equal(
        store.appendPrivate({ time: 1, from: "Ann", to: "Bob", text: "psst", delivered: true }),
        2,
      );
      assert.equal(store.appendMessage({ ...message("given"), id: 10 }), 10);
      assert.throws(() => store.appendMessage({ ...message("stale"), id: 10 }), RangeError);
      assert.throws(() => store.appendMessage({ ...message("older"), id: 3 }), RangeError);
    });
    await withStore(dir, (store) => {
      assert.equal(store.lastId, 10);
      assert.equal(store.appendMessage(message("after a restart")), 11);
      // A private message to an account that is then deleted takes its id with it...
      store.addUser("Carol", "$h", 1);
      store.appendPrivate({ time: 1, from: "Ann", to: "Carol", text: "hi", delivered: false });
      assert.ok(store.deleteUser("Carol"));
    });
    // ...but the id is not given out again.
    await withStore(dir, (store) => {
      assert.equal(store.lastId, 12);
      assert.equal(store.appendMessage(message("next")), 13);
    });
  });
});

Deno.test("a group commit's messages, however many, are all stored, in order, with the private ones between them", async () => {
  await withDir(async (dir) => {
    await withStore(dir, (store) => {
      // 150 room messages (a few multi-row inserts: 64 + 64 + 16 + 4 + 1 + 1) and privates between them.
      const answers: number[] = [];
      for (let i = 0; i < 150; i++) {
        const room = i % 2 ? "lobby" : "team";
        store.commitSoon!(
          () => store.appendMessage(message(`m${i}`, room)),
          (id) => answers.push(id),
          () => {},
        );
        if (i % 50 === 0) {
          const whisper = { time: 1, from: "Ann", to: "Bob", text: `p${i}`, delivered: false };
          store.commitSoon!(() => store.appendPrivate(whisper), (id) => answers.push(id), () => {});
        }
      }
      store.commitNow();
      assert.deepEqual(answers, Array.from({ length: 153 }, (_, i) => i + 1), "ids in order");
    });
    await withStore(dir, (store) => {
      const texts = (room: string) => store.recentMessages(room, 100).map((m) => m.text);
      const sent = (odd: number) => Array.from({ length: 75 }, (_, i) => `m${2 * i + odd}`);
      assert.deepEqual(texts("team"), sent(0));
      assert.deepEqual(texts("lobby"), sent(1));
      assert.deepEqual(store.undelivered("Bob").map((p) => p.text), ["p0", "p50", "p100"]);
      const ids = store.recentMessages("lobby", 100).map((m) => m.id);
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b), "each room's ids rise");
      assert.equal(store.lastId, 153);
    });
  });
});

// ---- private messages --------------------------------------------------------------

Deno.test("undelivered() gives each user their own waiting messages only, until marked delivered", async () => {
  await withDir(async (dir) => {
    await withStore(dir, (store) => {
      const send = (to: string, text: string, delivered = false) =>
        store.appendPrivate({ time: 5, from: "Ann", to, text, delivered });
      const b1 = send("Bob", "for bob 1");
      send("Carol", "for carol");
      const b2 = send("BOB", "for bob 2");
      send("Bob", "seen at once", true);
      send("Rob", "for someone else");
      const waiting = store.undelivered("bob");
      assert.deepEqual(waiting.map((p) => [p.id, p.text, p.to]), [
        [b1, "for bob 1", "Bob"],
        [b2, "for bob 2", "BOB"],
      ]);
      assert.deepEqual(store.undelivered("carol").map((p) => p.text), ["for carol"]);
      assert.deepEqual(store.undelivered("nobody"), []);
      assert.deepEqual(store.undelivered("bob", 1).map((p) => p.id), [b1]);

      assert.equal(store.markDelivered("Bob", b1), 1);
      assert.deepEqual(store.undelivered("bob").map((p) => p.id), [b2]);
      // A message that arrives after the ones being delivered stays waiting.
      const b3 = send("bob", "for bob 3");
      assert.equal(store.markDelivered("bob", b2), 1);
      assert.deepEqual(store.undelivered("bob").map((p) => p.id), [b3]);
      assert.deepEqual(store.undelivered("carol").map((p) => p.text), ["for carol"]);
    });
  });
});

Deno.test("a name deleted and registered again does not inherit the old owner's waiting messages", async () => {
  await withDir(async (dir) => {
    await withStore(dir, (store) => {
      store.addUser("Bob", "$h", 1);
      store.appendPrivate({ time: 1, from: "Ann", to: "Bob", text: "old", delivered: false });
      store.deleteUser("Bob");
      // Mail left for a name while nobody owned it is not the next owner's either.
      store.appendPrivate({ time: 2, from: "Ann", to: "Bob", text: "limbo", delivered: false });
      store.addUser("bob", "$h", 3);
      assert.deepEqual(store.undelivered("bob"), []);
    });
  });
});

Deno.test("a database of schema 1 is migrated: its waiting mail knows which senders had accounts", async () => {
  await withDir(async (dir) => {
    // As chat wrote it before mailbox shares: schema 1, with mail waiting for Bob.
    const db = new DatabaseSync(`${dir}/${DATABASE_FILE}`);
    db.exec(MIGRATIONS[0].sql);
    db.exec(
      `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied INTEGER NOT NULL,
         program TEXT NOT NULL, description TEXT NOT NULL);
       INSERT INTO schema_migrations VALUES (1, 0, 'chat 0.1.0', 'accounts, history, privates');
       INSERT INTO users VALUES ('bob', 'Bob', '$h', 1), ('dave', 'Dave', '$h', 1);
       INSERT INTO privates (time, sender, recipient, recipient_key, text) VALUES
         (1, 'Dave', 'Bob', 'bob', 'from an account'), (2, 'mallory', 'bob', 'bob', 'é');
       PRAGMA application_id = ${APPLICATION_ID};`,
    );
    db.close();
    await withStore(dir, (store) => {
      assert.equal(store.schemaVersion, SCHEMA_VERSION);
      assert.deepEqual(store.waiting("Bob", "Dave"), {
        messages: 2,
        bytes: 17,
        fromSender: 1,
        bytesFromSender: 15,
        fromStrangers: 1,
        bytesFromStrangers: 2,
      });
      // New mail is marked by whether its sender has an account now.
      store.appendPrivate({ time: 3, from: "DAVE", to: "Bob", text: "x", delivered: false });
      store.appendPrivate({ time: 4, from: "eve", to: "Bob", text: "y", delivered: false });
      assert.equal(store.waiting("Bob", "").fromStrangers, 2);
      store.countRefused("bob", "mallory");
      store.countRefused("Bob", "mallory");
      assert.deepEqual(store.takeRefused("BOB"), [{ from: "mallory", messages: 2 }]);
      assert.deepEqual(store.takeRefused("Bob"), []);
      // Refusals go with the account.
      store.countRefused("Bob", "mallory");
      store.deleteUser("Bob");
      assert.deepEqual(store.takeRefused("Bob"), []);
    });
  });
});

// ---- durability --------------------------------------------------------------------

Deno.test("every append that returned survives kill -9 of the process that made it", async () => {
  await withDir(async (dir) => {
    for (let round = 0; round < 3; round++) {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-read", "--allow-write", WRITER, dir, "append"],
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const acked = new Map<number, string>();
      let buffer = "";
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      const readAcks = async (until: () => boolean) => {
        while (!until()) {
          const { value, done } = await reader.read();
          if (done) return;
          buffer += value;
          let end;
          while ((end = buffer.indexOf("\n")) >= 0) {
            const [, id, text] = /^ack (\d+) (.*)$/.exec(buffer.slice(0, end)) ?? [];
            if (id) acked.set(Number(id), text);
            buffer = buffer.slice(end + 1);
          }
        }
      };
      try {
        await within(readAcks(() => acked.size >= 200), () => `only ${acked.size} acks`);
      } finally {
        child.kill("SIGKILL");
      }
      // Acks already written to the pipe when it died count too.
      await readAcks(() => false);
      assert.equal((await child.status).signal, "SIGKILL");

      await withStore(dir, (store) => {
        assert.ok(store.lastId >= Math.max(...acked.keys()), `round ${round}: ids went back`);
      }, { exclusive: true });
      const db = new DatabaseSync(`${dir}/${DATABASE_FILE}`, { readOnly: true });
      const stored = new Map<number, string>();
      try {
        for (const table of ["messages", "privates"]) {
          for (const row of db.prepare(`SELECT id, text FROM ${table}`).all()) {
            stored.set(Number(row.id), String(row.text));
          }
        }
      } finally {
        db.close();
      }
      const lost = [...acked].filter(([id, text]) => stored.get(id) !== text);
      assert.deepEqual(lost, [], `round ${round}: acknowledged but lost`);
    }
  });
});
