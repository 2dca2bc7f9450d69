// The loader's fast path for long one-line destination lists must give the
// same data as YAML itself and locate an item's error exactly as before.
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { parseModelText } from "../../src/model/load.js";
import { validateModel } from "../../src/model/validate.js";
import { ModelError } from "../../src/errors.js";

const items = (n: number) =>
  Array.from({ length: n }, (_, i) => (i % 7 === 3 ? `2001:db8:${(i % 65536).toString(16)}::/48` : i % 5 === 1 ? `198.18.${i >> 8}.${i & 255}` : `198.18.${i >> 8}.${i & 255}/32`));

function model(list: string): string {
  return `version: 1
uplinks:
  - name: vpn
    interface: eth1
    address: [198.51.100.2/24, 2001:db8:1::2/64]
    gateway: [198.51.100.1, 2001:db8:1::1]
    destinations: ${list}
  - destinations: [${items(300).join(", ")}]   # a comment
    name: isp
    interface: eth2
    address: 203.0.113.2/24
    gateway: 203.0.113.1
`;
}

describe("loader: long destination lists", () => {
  it("read as YAML reads them: spacing, a trailing comma, a comment, IPv6, the first key of an item", () => {
    for (const list of [`[${items(2000).join(", ")}]`, `[${items(500).join(",")},]`, `[ ${items(400).join(" ,  ")} ]  # pins`, "[198.18.0.1, 198.18.0.2]"]) {
      const text = model(list);
      expect(parseModelText(text, "m.yaml").data).toEqual(parse(text));
    }
  });

  it("an item's error is at its own line and column", () => {
    const list = items(1000);
    list[577] = "198.18.2.65/24"; // host bits: fast path taken, error from the validator
    const text = model(`[${list.join(", ")}]`);
    const col = text.split("\n")[6].indexOf("198.18.2.65/24") + 1;
    try {
      validateModel(parseModelText(text, "m.yaml"));
      expect.unreachable();
    } catch (e) {
      const issue = (e as ModelError).issues[0];
      expect(issue.pos).toEqual({ line: 7, col });
      expect(issue.path).toBe("uplinks[0].destinations[577]");
      expect(issue.message).toMatch(/host bits set; did you mean 198\.18\.2\.0\/24/);
    }
  });

  it("a list the fast path does not take (a hostname) is read by YAML and located the same way", () => {
    const list = items(1000);
    list[12] = "dns.example.net";
    const text = model(`[${list.join(", ")}]`);
    const col = text.split("\n")[6].indexOf("dns.example.net") + 1;
    expect(() => validateModel(parseModelText(text, "m.yaml"))).toThrow(`m.yaml:7:${col}: uplinks[0].destinations[12]: 'dns.example.net' is not an IPv4 or IPv6 address or prefix`);
  });
});
