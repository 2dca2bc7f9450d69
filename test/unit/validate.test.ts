import { describe, expect, it } from "vitest";
import { parseModelText } from "../../src/model/load.js";
import { validateModel } from "../../src/model/validate.js";
import { ModelError } from "../../src/errors.js";

function issues(text: string) {
  try {
    validateModel(parseModelText(text, "m.yaml"));
  } catch (err) {
    if (err instanceof ModelError) return err.issues;
    throw err;
  }
  return [];
}

const two = (extra = "", extra2 = "") => `version: 1
uplinks:
  - name: a
    interface: eth1
    address: 198.51.100.2/24
    gateway: 198.51.100.1${extra}
  - name: b
    interface: eth2
    address: 203.0.113.2/24
    gateway: 203.0.113.1${extra2}
`;

type Case = [title: string, text: string, line: number, col: number, path: string, words: RegExp];

const cases: Case[] = [
  ["version missing", "uplinks: []\n", 1, 1, "", /missing required key 'version'/],
  ["version 2", "version: 2\nuplinks:\n  - {name: a, interface: e, address: 10.0.0.1/8}\n", 1, 10, "version", /must be 1, got 2/],
  ["misspelt key", two("\n    metrc: 5"), 7, 5, "uplinks[0].metrc", /unknown key 'metrc'; did you mean 'metric'\? Allowed: name, interface/],
  ["mode", "version: 1\nmode: balanced\nuplinks:\n  - {name: a, interface: e, address: 10.0.0.1/8}\n", 2, 7, "mode", /must be one of failover, balance; got "balanced"/],
  ["no uplinks", "version: 1\nuplinks: []\n", 2, 10, "uplinks", /at least 1 item/],
  ["address without prefix", "version: 1\nuplinks:\n  - name: a\n    interface: e\n    address: 198.51.100.2\n", 5, 14, "uplinks[0].address", /address\/prefix form/],
  ["address not an ip", "version: 1\nuplinks:\n  - name: a\n    interface: e\n    address: [198.51.100.2/24, 300.1.1.1/24]\n", 5, 32, "uplinks[0].address[1]", /'300.1.1.1' is not an IPv4 or IPv6 address/],
  ["gateway outside", two().replace("gateway: 198.51.100.1", "gateway: 198.51.101.1"), 6, 14, "uplinks[0].gateway", /outside 198.51.100.0\/24; .*onlink: true/],
  ["gateway family", two().replace("gateway: 198.51.100.1", "gateway: 2001:db8::1"), 6, 14, "uplinks[0].gateway", /IPv6 gateway 2001:db8::1 but the uplink has no IPv6 address/],
  ["gateway with prefix", two().replace("gateway: 198.51.100.1", "gateway: 198.51.100.1/24"), 6, 14, "uplinks[0].gateway", /not an IPv4 or IPv6 address \(a gateway has no prefix length\)/],
  ["duplicate name", two().replace("name: b", "name: a"), 7, 11, "uplinks[1].name", /duplicate uplink name 'a'/],
  ["reserved name", two().replace("name: b", "name: main"), 7, 11, "uplinks[1].name", /reserved routing table name/],
  ["reserved table", two("\n    table: 254"), 7, 12, "uplinks[0].table", /table 254 is reserved by the kernel/],
  ["table clash", two("\n    table: 7", "\n    table: 7"), 12, 12, "uplinks[1].table", /table 7 is already used by uplink 'a'/],
  ["weight", two("\n    weight: 300"), 7, 13, "uplinks[0].weight", /must be a nexthop weight from 1 to 256; got 300/],
  ["long interface", two().replace("interface: eth1", "interface: averyveryverylong0"), 4, 16, "uplinks[0].interface", /Linux interface name: 1 to 15 characters/],
  ["uid reversed", two("\n    users: [2000-1000]"), 7, 13, "uplinks[0].users[0]", /uid range 2000-1000 is reversed; write 1000-2000/],
  ["uid overlap", two("\n    users: [500]", "\n    users: [400-600]"), 12, 13, "uplinks[1].users[0]", /uids 400-600 overlap 500 of uplink 'a'/],
  ["mark 0", two("\n    mark: 0"), 7, 11, "uplinks[0].mark", /must be a fwmark from 1 to 4294967295 \(0 is the mark of unmarked packets\); got 0/],
  ["mark clash", two("\n    mark: 0x1", "\n    mark: 1"), 12, 11, "uplinks[1].mark", /mark 0x1 is already used by uplink 'a'/],
  ["metric clash", two("\n    metric: 5", "\n    metric: 5"), 12, 13, "uplinks[1].metric", /metric 5 is already used by uplink 'a'/],
  ["duplicate address", two().replace("203.0.113.2/24", "198.51.100.2/24").replace("203.0.113.1", "198.51.100.1"), 9, 14, "uplinks[1].address", /address 198.51.100.2 is already used by uplink 'a'/],
  ["uplink and lan", two() + "lan:\n  - interface: eth1\n    address: 192.168.0.1/24\n", 12, 16, "lan[0].interface", /already an uplink/],
  ["lan overlaps", two() + "lan:\n  - interface: eth0\n    address: 198.51.100.200/25\n", 13, 14, "lan[0].address", /overlaps 198.51.100.0\/24 of uplink 'a'/],
  ["host bits", two("\n    destinations: [100.127.0.53/24]"), 7, 20, "uplinks[0].destinations[0]", /has host bits set; did you mean 100.127.0.0\/24\?/],
  ["destination family", two("\n    destinations: [2001:db8::53]"), 7, 20, "uplinks[0].destinations[0]", /IPv6 destination 2001:db8::53\/128 but the uplink has no IPv6 address/],
  ["snat without v4", "version: 1\nuplinks:\n  - name: a\n    interface: e\n    address: 2001:db8::2/64\n    nat: snat\n", 6, 10, "uplinks[0].nat", /snat needs an IPv4 address on the uplink \(static, dhcp or ppp\)/],
  ["nat value", two("\n    nat: yes"), 7, 10, "uplinks[0].nat", /must be one of none, masquerade, snat; got "yes"/],
  ["yaml syntax", "version: 1\nuplinks:\n  - name: [a\n", 4, 1, "", /YAML syntax: Flow sequence .* end with a \]/],
  ["duplicate yaml key", "version: 1\nversion: 1\nuplinks: []\n", 2, 1, "", /YAML syntax: Map keys must be unique/],
  ["ifplugd delay", two() + "options:\n  ifplugd: {delay-down: -1}\n", 12, 25, "options.ifplugd.delay-down", /between 0 and 3600; got -1/],
  ["a gateway for a leased family", "version: 1\nuplinks:\n  - name: a\n    interface: e\n    address: dhcp\n    gateway: 198.51.100.1\n", 6, 14, "uplinks[0].gateway", /the IPv4 gateway is learned with the address \(dhcp\); remove it/],
  ["a gateway on a ppp link", "version: 1\nuplinks:\n  - name: a\n    interface: ppp0\n    address: ppp\n    gateway: 198.51.100.1\n", 6, 14, "uplinks[0].gateway", /a ppp link has no IPv4 gateway/],
  ["two IPv4 sources", "version: 1\nuplinks:\n  - name: a\n    interface: e\n    address: [198.51.100.2/24, dhcp]\n", 5, 32, "uplinks[0].address[1]", /IPv4 comes from static addresses already; give one source per family: static addresses, or one of dhcp or ppp/],
  ["dhcp and ppp", "version: 1\nuplinks:\n  - name: a\n    interface: e\n    address: [dhcp, ppp]\n", 5, 21, "uplinks[0].address[1]", /IPv4 comes from dhcp already/],
  ["a misspelt source", "version: 1\nuplinks:\n  - name: a\n    interface: e\n    address: dchp\n", 5, 14, "uplinks[0].address", /'dchp' is not in address\/prefix form.*or one of dhcp, slaac, ppp/],
  ["dhcp in a LAN", "version: 1\nuplinks:\n  - name: a\n    interface: e\n    address: dhcp\nlan:\n  - interface: br0\n    address: dhcp\n", 8, 14, "lan[0].address", /'dhcp' is not in address\/prefix form; expected an address with its prefix length/],
  ["a leased uplink sharing its interface", "version: 1\nuplinks:\n  - name: a\n    interface: e\n    address: dhcp\n  - name: b\n    interface: e\n    address: 198.51.100.2/24\n", 4, 16, "uplinks[0].interface", /uplink 'a' learns its address \(dhcp\) on e, which uplink 'b' uses too/],
  ["ppp beside a static address", "version: 1\nuplinks:\n  - name: a\n    interface: ppp0\n    address: [ppp, 2001:db8::2/64]\n", 5, 14, "uplinks[0].address", /pppd configures every address of a ppp link; give 'ppp' alone/],
  ["slaac and a static IPv6 address", "version: 1\nuplinks:\n  - name: a\n    interface: e\n    address: [2001:db8::2/64, slaac]\n", 5, 31, "uplinks[0].address[1]", /IPv6 comes from static addresses already; give one source per family/],
  ["metric 0 on a slaac uplink", "version: 1\nuplinks:\n  - name: a\n    interface: e\n    address: slaac\n    metric: 0\n", 6, 13, "uplinks[0].metric", /metric 0 cannot be given to a router learned from advertisements/],
  ["an IPv6 gateway beside slaac", "version: 1\nuplinks:\n  - name: a\n    interface: e\n    address: [dhcp, slaac]\n    gateway: fe80::1\n", 6, 14, "uplinks[0].gateway", /IPv6.*(learned|slaac)/],
];

describe("validation: each rule names file, line, column, key and what is allowed", () => {
  for (const [title, text, line, col, path, words] of cases) {
    it(title, () => {
      const found = issues(text);
      expect(found.length, JSON.stringify(found)).toBeGreaterThan(0);
      const hit = found.find((i) => words.test(i.message));
      expect(hit, `no issue matching ${words}; got ${JSON.stringify(found)}`).toBeDefined();
      expect({ line: hit!.pos.line, col: hit!.pos.col, path: hit!.path, file: hit!.file }).toEqual({ line, col, path, file: "m.yaml" });
    });
  }

  it("reports several errors in one run", () => {
    const found = issues(two("\n    weight: 0\n    nat: maybe", "\n    table: 0"));
    expect(found.map((i) => i.path)).toEqual(["uplinks[0].weight", "uplinks[0].nat", "uplinks[1].table"]);
    const semantic = issues(two("\n    table: 255", "\n    table: 253"));
    expect(semantic.map((i) => i.path)).toEqual(["uplinks[0].table", "uplinks[1].table"]);
  });

  it("accepts the valid example and fills defaults", () => {
    const m = validateModel(parseModelText(two(), "m.yaml"));
    expect(m.mode).toBe("failover");
    expect(m.options).toStrictEqual({ stack: "ifupdown", rpFilter: "loose", linkdownFailover: true, ifplugd: undefined });
    expect(m.uplinks[0]).toMatchObject({ weight: 1, nat: "none", watch: true, onlink: false, gateways: [{ family: 4, address: "198.51.100.1" }] });
  });

  it("allows an on-link gateway outside the subnet when the model says so", () => {
    expect(issues(two("\n    onlink: true").replace("gateway: 198.51.100.1", "gateway: 198.51.101.1"))).toEqual([]);
  });

  it("refuses a forgotten gateway on a broadcast link, and allows none where routes 'dev IF' are right", () => {
    const noGateway = (iface: string, address: string, extra = "") => `version: 1\nuplinks:\n  - name: a\n    interface: ${iface}\n    address: ${address}${extra}\n`;
    const refused = issues(noGateway("eth1", "198.51.100.2/24"));
    expect(refused.map((i) => [i.path, i.pos.line, i.pos.col])).toEqual([["uplinks[0].address", 5, 14]]);
    expect(refused[0].message).toMatch(/no gateway: eth1 is not a point-to-point link and 198\.51\.100\.0\/24 has neighbours/);
    expect(issues(noGateway("eth1", "[dhcp, 2001:db8:4::2/64]")).map((i) => i.message)).toEqual([expect.stringMatching(/2001:db8:4::\/64 has neighbours/)]);
    for (const fine of [noGateway("ppp0", "100.100.0.5/24"), noGateway("wg0", "10.9.0.2/24"), noGateway("tun0", "[10.8.0.2/24, 2001:db8:8::2/64]"), noGateway("eth1", "100.100.0.5/32"), noGateway("eth1", "198.51.100.2/24", "\n    onlink: true"), noGateway("eth1", "dhcp"), noGateway("ppp0", "ppp")])
      expect([fine, issues(fine)]).toEqual([fine, []]);
  });

  it("allows two uplinks on one interface", () => {
    expect(issues(two().replace("interface: eth2", "interface: eth1"))).toEqual([]);
  });

  it("renders the offending line with a caret", () => {
    try {
      validateModel(parseModelText(two("\n    weight: 300"), "m.yaml"));
    } catch (err) {
      expect((err as ModelError).render()).toBe("m.yaml:7:13: uplinks[0].weight: must be a nexthop weight from 1 to 256; got 300\n      weight: 300\n              ^");
    }
  });
});

describe("stricter input", () => {
  it("an IPv6 link-local gateway needs no onlink, and IPv4 routes stay without onlink", () => {
    const text = two().replace("address: 198.51.100.2/24\n    gateway: 198.51.100.1", "address: [198.51.100.2/24, 2001:db8:1::2/64]\n    gateway: [198.51.100.1, fe80::1]");
    expect(issues(text)).toEqual([]);
    expect(validateModel(parseModelText(text, "m.yaml")).uplinks[0].onlink).toBe(false);
  });

  it("a 5 MB value is cut in the message and in the source line shown", () => {
    const huge = "9".repeat(5_000_000);
    for (const text of [two().replace("gateway: 198.51.100.1", `gateway: ${huge}.1`), two().replace("address: 198.51.100.2/24", `address: 198.51.100.2/24${huge}`)]) {
      try {
        validateModel(parseModelText(text, "m.yaml"));
        expect.unreachable();
      } catch (err) {
        const out = (err as ModelError).render();
        expect(out.length, out.slice(0, 400)).toBeLessThan(600);
        expect(out).toMatch(/\(5000\d{3} characters\)|got a number too large to hold/);
      }
    }
  });

  it("the shipped schema (what editors use) rejects what is not an address", async () => {
    const { Ajv } = await import("ajv");
    const { readFileSync } = await import("node:fs");
    const schema = JSON.parse(readFileSync(new URL("../../schema/model.schema.json", import.meta.url), "utf8"));
    const validate = new Ajv({ strict: false }).compile(schema);
    const model = (address: unknown, gateway: unknown, destination: unknown) => ({ version: 1, uplinks: [{ name: "a", interface: "eth1", address, gateway, destinations: [destination] }] });
    expect(validate(model("198.51.100.2/24", "198.51.100.1", "198.18.0.0/15"))).toBe(true);
    expect(validate(model("hello", "198.51.100.1", "198.18.0.0/15"))).toBe(false);
    expect(validate(model("198.51.100.2", "198.51.100.1", "198.18.0.0/15")), "an address without its prefix length").toBe(false);
    expect(validate(model("198.51.100.2/24", "198.51.100.1/24", "198.18.0.0/15")), "a gateway with a prefix length").toBe(false);
    expect(validate(model("198.51.100.2/24", "198.51.100.1", "dns.example.net"))).toBe(false);
  });
});
