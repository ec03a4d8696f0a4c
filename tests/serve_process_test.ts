import assert from "node:assert/strict";
import { JsonClient } from "./_helpers.ts";
import { ServeProcess } from "./_serve_process.ts";

Deno.test("chat serve logs the conversation and stops cleanly on SIGINT", async () => {
  const server = new ServeProcess(["--host", "127.0.0.1", "--port", "0", "--motd", "Hello class"]);
  const port = Number(
    (await server.waitFor(/listening on 127\.0\.0\.1:(\d+) \(at most 100 users\)/))[1],
  );
  await server.waitFor(/^Join with: chat join 127\.0\.0\.1:\d+ {3}\(or: nc 127\.0\.0\.1 \d+\)$/);

  const alice = await JsonClient.connect(port);
  await alice.send({ type: "hello", version: 1, name: "Alice" });
  const welcome = await alice.next();
  assert.equal(welcome.type, "welcome");
  assert.equal(welcome.motd, "Hello class");
  await server.waitFor(/^\[\d\d:\d\d:\d\d\] join Alice from 127\.0\.0\.1:\d+ \(1 user\)$/);
  await alice.send({ type: "say", text: "hi" });
  assert.equal((await alice.next()).text, "hi");
  await server.waitFor(/^\[\d\d:\d\d:\d\d\] <Alice> hi$/);

  server.child.kill("SIGINT");
  assert.deepEqual(await alice.next(), {
    type: "bye",
    code: "shutdown",
    reason: "The server is shutting down",
  });
  assert.equal(await alice.closed(), true, "the server closed the connection");
  await alice.close();
  const { code, stderr } = await server.finish();
  assert.equal(code, 0, stderr);
  assert.match(server.log.join("\n"), /\] stopped$/);
});

// A closed terminal (SIGHUP) or a service manager's stop must not reset users' connections.
for (const signal of ["SIGTERM", "SIGHUP", "SIGQUIT"] as const) {
  Deno.test(`chat serve shuts down cleanly on ${signal}: users get bye, the exit code is 0`, async () => {
    const server = new ServeProcess(["--host", "127.0.0.1", "--port", "0"]);
    const port = await server.port();
    const alice = await JsonClient.connect(port);
    try {
      await alice.send({ type: "hello", version: 1, name: "Alice" });
      assert.equal((await alice.next()).type, "welcome");
      server.child.kill(signal);
      assert.deepEqual(await alice.next(), {
        type: "bye",
        code: "shutdown",
        reason: "The server is shutting down",
      });
      assert.equal(await alice.closed(), true, "the server closed the connection");
    } finally {
      await alice.close();
      const { code, signal: killedBy, stderr } = await server.finish();
      assert.deepEqual({ code, killedBy }, { code: 0, killedBy: null }, stderr);
    }
    assert.ok(server.log.some((line) => line.endsWith(`] shutting down (${signal})`)), signal);
    assert.match(server.log.at(-1) ?? "", /\] stopped$/);
  });
}

Deno.test("chat serve on a port in use says so in one line and exits 1", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const server = new ServeProcess(["--host", "127.0.0.1", "--port", String(taken.addr.port)]);
  const { code, stderr } = await server.finish();
  taken.close();
  assert.equal(code, 1);
  assert.equal(
    stderr,
    `chat: cannot listen on 127.0.0.1:${taken.addr.port} (address already in use)\n`,
  );
});
