/**
 * What a certificate is for: the names the join lines of a TLS server are
 * checked against (tests/serve_join_hints_test.ts runs them for real).
 *
 * @module
 */

import assert from "node:assert/strict";
import { runChat } from "./_chat_command.ts";
import { withDir } from "./_helpers.ts";
import { certificateNames, coveredBy } from "../lib/serve/cert_names.ts";

Deno.test("a certificate covers its DNS names, its addresses and one label under a wildcard", () => {
  const names = { dns: ["classroom.lan", "*.school.example"], ip: ["192.168.1.20", "::1"] };
  const cases: [string, boolean][] = [
    ["classroom.lan", true],
    ["CLASSROOM.lan", true],
    ["lan", false],
    ["room1.school.example", true],
    ["school.example", false],
    ["a.room1.school.example", false],
    ["192.168.1.20", true],
    ["192.168.1.2", false],
    ["0:0:0:0:0:0:0:1", true],
    ["localhost", false],
  ];
  for (const [host, covered] of cases) assert.equal(coveredBy(names, host), covered, host);
});

Deno.test("certificateNames() reads the subject alternative names of a PEM certificate", async () => {
  await withDir(async (dir) => {
    assert.equal((await runChat(["cert", "chat.lan", "10.0.0.7", "::1"], { cwd: dir })).code, 0);
    assert.deepEqual(certificateNames(await Deno.readTextFile(`${dir}/chat-cert.pem`)), {
      dns: ["chat.lan"],
      ip: ["10.0.0.7", "::1"],
    });
    assert.equal(certificateNames("not a certificate"), undefined);
  });
});
