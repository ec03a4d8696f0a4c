import assert from "node:assert/strict";
import { addressKey } from "../lib/server/address.ts";

Deno.test("addressKey() counts IPv4 as itself and IPv6 by its /64", () => {
  const cases: [string, string][] = [
    ["192.168.1.20", "192.168.1.20"],
    ["::ffff:192.168.1.20", "192.168.1.20"],
    ["::FFFF:10.0.0.1", "10.0.0.1"],
    ["2001:db8:1:2::1", "2001:db8:1:2::/64"],
    ["2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"],
    ["2001:0db8:0001:0002:0:0:0:1", "2001:db8:1:2::/64"],
    ["::1", "0:0:0:0::/64"],
    ["fe80::1%eth0", "fe80:0:0:0::/64"],
    ["not:an:address::x", "not:an:address::x"],
  ];
  for (const [input, want] of cases) assert.equal(addressKey(input), want, input);
});
