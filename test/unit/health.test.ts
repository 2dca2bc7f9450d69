import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseModelText } from "../../src/model/load.js";
import { validateModel } from "../../src/model/validate.js";
import { buildPlan } from "../../src/plan/plan.js";
import { ModelError } from "../../src/errors.js";
import { hostStatus, type IpRunner } from "../../src/host/status.js";
import { renderTemplate as render } from "../../src/render/engine.js";

const model = (text: string) => validateModel(parseModelText(text, "m.yaml"));
const plan = (text: string) => buildPlan(model(text));

const two = (mode: string, check1: string, more = "") => `version: 1
mode: ${mode}
uplinks:
  - name: fibre
    interface: eth1
    address: 198.51.100.2/24
    gateway: 198.51.100.1
    destinations: [100.127.0.53]
    users: [1001]
    mark: 0x1
${check1}
  - name: cable
    interface: eth2
    address: 203.0.113.2/24
    gateway: 203.0.113.1
${more}`;

const issue = (text: string): string => {
  try {
    model(text);
  } catch (e) {
    if (e instanceof ModelError) return e.message;
    throw e;
  }
  return "accepted";
};

describe("health checks: model", () => {
  it("fills the defaults: 0.2 s, 4 probes down, 4 up, a hold of 3 s", () => {
    const m = model(two("failover", "    check:\n      targets: [198.18.0.1]"));
    expect(m.uplinks[0].check).toEqual({ targets: ["198.18.0.1"], intervalMs: 200, down: 4, up: 4, lossDown: 100, lossUp: 99, hold: 3 });
    expect(m.uplinks[1].check).toBeUndefined();
  });

  it.each([
    ["an IPv6 target", "[2001:db8::1]", /check\.targets\[0\]: '2001:db8::1' is not an IPv4 address; lsm probes IPv4 targets only/],
    ["a prefix", "[198.18.0.0/24]", /'198.18.0.0\/24' is not an IPv4 address/],
    ["a target twice", "[198.18.0.1, 198.18.0.1]", /check\.targets\[1\]: target 198.18.0.1 is given twice/],
    ["no target", "[]", /check\.targets/],
    ["nine targets", `[${Array.from({ length: 9 }, (_, i) => `198.18.0.${i + 1}`).join(", ")}]`, /check\.targets/],
  ])("refuses %s at its position", (_, targets, message) => {
    expect(issue(two("failover", `    check:\n      targets: ${targets}`))).toMatch(message);
  });

  it("refuses an interval, down or up out of range, and a check on an uplink without IPv4", () => {
    expect(issue(two("failover", "    check:\n      targets: [198.18.0.1]\n      interval: 0.01"))).toMatch(/m.yaml:\d+:\d+: uplinks\[0\]\.check\.interval: .*from 0.05 to 60/);
    expect(issue(two("failover", "    check:\n      targets: [198.18.0.1]\n      down: 0"))).toMatch(/check\.down: .*from 1 to 100/);
    expect(issue(two("failover", "    check:\n      targets: [198.18.0.1]\n      loss-down: 0\n      loss-up: 0"))).toMatch(/check\.loss-down: .*from 1 to 100/);
    expect(issue(two("failover", "    check:\n      targets: [198.18.0.1]\n      loss-down: 20\n      loss-up: 100"))).toMatch(/check\.loss-up: .*from 0 to 99/);
    expect(issue(two("failover", "    check:\n      targets: [198.18.0.1]\n      hold: -1"))).toMatch(/check\.hold: .*from 0 to 3600/);
    expect(model(two("failover", "    check:\n      targets: [198.18.0.1]\n      hold: 0.5")).uplinks[0].check!.hold).toBe(0.5);
    const v6 = `version: 1
uplinks:
  - name: v6
    interface: eth1
    address: 2001:db8:1::2/64
    gateway: 2001:db8:1::1
    check:
      targets: [198.18.0.1]
`;
    expect(issue(v6)).toMatch(/uplinks\[0\]\.check: uplink 'v6' has no IPv4 address/);
  });
});

describe("health checks: loss thresholds", () => {
  const check = (more: string) => two("failover", `    check:\n      targets: [198.18.0.1]\n${more}`);
  it("takes loss-down and loss-up as percentages of the prober's window", () => {
    expect(model(check("      loss-down: 20\n      loss-up: 5")).uplinks[0].check).toMatchObject({ lossDown: 20, lossUp: 5 });
    expect(model(check("      loss-up: 10")).uplinks[0].check, "loss-up alone: loss never takes it out").toMatchObject({ lossDown: 100, lossUp: 10 });
  });

  it.each([
    ["loss-up at loss-down", "      loss-down: 20\n      loss-up: 20", /m\.yaml:\d+:\d+: uplinks\[0\]\.check\.loss-up: loss-up 20 % must be below loss-down 20 %/],
    ["loss-up above loss-down", "      loss-down: 20\n      loss-up: 40", /check\.loss-up: loss-up 40 % must be below loss-down 20 %/],
    ["loss-down without loss-up (its default, 99, is above)", "      loss-down: 20", /check\.loss-down: loss-up 99 % must be below loss-down 20 % .*give loss-up too/],
  ])("refuses %s, once, at its line", (_, more, message) => {
    const m = issue(check(more));
    expect(m).toMatch(message);
    expect(m.split("\n").filter((l) => l.includes("loss-")).length).toBe(1);
  });

  it("sets lsm's loss counts on every connection of the uplink; the defaults keep them out of the way", () => {
    const conf = (more: string) => render("health/lsm.conf.hbs", { model: "m.yaml", plan: plan(check(more)) });
    expect(conf("      loss-down: 20\n      loss-up: 5")).toContain("  min_successive_pkts_rcvd=3\n  max_packet_loss=20\n  min_packet_loss=5\n}");
    expect(conf("")).toContain("  min_successive_pkts_rcvd=3\n  max_packet_loss=100\n  min_packet_loss=99\n}");
  });
});

describe("health checks: plan", () => {
  it("jumps past each of the uplink's rules but its replies rule, landing in the slot after it", () => {
    const p = plan(two("failover", "    check:\n      targets: [198.18.0.1, 198.18.1.1]\n      interval: 0.5\n      up: 2"));
    const [c] = p.health!.checks;
    expect(c.skips.map((k) => `${k.skip}${k.selector} goto ${k.land}`)).toEqual(["1000 goto 1002", "2000 fwmark 0x1 goto 2002", "4000 uidrange 1001-1001 goto 4002"]);
    expect(p.rules.filter((r) => r.uplink === "fibre").map((r) => r.priority)).toEqual([1001, 2001, 3001, 4001]);
    expect(c.lands.map((l) => l.priority)).toEqual([1002, 2002, 4002]);
    // the slots are free: no planned rule sits there
    for (const k of c.skips) expect(p.rules.some((r) => r.priority === k.skip || r.priority === k.land)).toBe(false);
    expect([c.intervalMs, c.timeoutMs, c.down, c.upAfter]).toEqual([500, 500, 4, 1]);
    expect(c.targets).toEqual([
      { name: "fibre.1", address: "198.18.0.1" },
      { name: "fibre.2", address: "198.18.1.1" },
    ]);
    expect(c.addresses).toEqual(["198.51.100.2"]);
  });

  it("failover: main-table traffic goes to the uplinks' tables in metric order; balance: to the healthy table", () => {
    const f = plan(two("failover", "    metric: 300\n    check:\n      targets: [198.18.0.1]"));
    expect(f.health!.bypass.map((b) => b.lookups.map((l) => `${l.priority} ${l.tableName} ${l.checked}`))).toEqual([["32001 cable false", "32002 fibre true"]]);
    const b = plan(two("balance", "    check:\n      targets: [198.18.0.1]"));
    expect(b.health!.bypass[0].balance).toMatchObject({ priority: 32001, table: 100, tableName: "gen-hooks-healthy" });
    expect(b.health!.bypass[0].lookups, "balance needs no failover lookups").toEqual([]);
    expect(b.tables.find((t) => t.kind === "health")).toEqual({ id: 100, name: "gen-hooks-healthy", uplink: "", kind: "health" });
    expect(plan(two("failover", "")).health).toBeUndefined();
  });

  it("renders lsm's configuration: a connection per target bound to the interface, a group per uplink", () => {
    const p = plan(two("failover", "    check:\n      targets: [198.18.0.1, 198.18.1.1]"));
    const conf = render("health/lsm.conf.hbs", { model: "m.yaml", plan: p });
    expect(conf).toContain("connection {\n  name=fibre.2\n  checkip=198.18.1.1\n  device=eth1\n  interval_ms=200\n  timeout_ms=400\n  max_successive_pkts_lost=4\n  min_successive_pkts_rcvd=3\n  max_packet_loss=100\n  min_packet_loss=99\n}");
    expect(conf).toContain("group {\n  name=fibre\n  eventscript=/etc/gen-hooks/uplink-event\n  logic=0\n  member-connection=fibre.1\n  member-connection=fibre.2\n}");
    // foolsm reads an empty sourceip= as 0.0.0.0 and never gets a reply
    expect(conf).not.toMatch(/sourceip/);
  });
});

describe("health checks: status", () => {
  it("an uplink whose provider is dead is down, and status says so", () => {
    const p = plan(two("failover", "    check:\n      targets: [198.18.0.1]"));
    const run: IpRunner = (args) => {
      const a = args.slice(1).join(" ");
      if (a === "link show") return JSON.stringify(["eth1", "eth2"].map((ifname) => ({ ifname, flags: ["UP", "LOWER_UP"] })));
      if (a === "addr show") return JSON.stringify([{ ifname: "eth1", addr_info: [{ local: "198.51.100.2", prefixlen: 24 }] }, { ifname: "eth2", addr_info: [{ local: "203.0.113.2", prefixlen: 24 }] }]);
      return "[]";
    };
    const state = mkdtempSync(join(tmpdir(), "gh-health-"));
    try {
      expect(hostStatus(p, run, state).uplinks.map((u) => u.health)).toEqual(["up", "not checked"]);
      writeFileSync(join(state, "fibre.down"), "");
      const s = hostStatus(p, run, state);
      expect(s.uplinks.map((u) => [u.health, u.state])).toEqual([["down", "down"], ["not checked", "incomplete"]]);
      expect(s.ok).toBe(false);
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });
});

describe("fallback: false (kill switch)", () => {
  const vpn = (extra: string) => `version: 1
uplinks:
  - name: isp
    interface: eth1
    address: 198.51.100.2/24
    gateway: 198.51.100.1
  - name: vpn
    interface: eth2
    address: 100.64.20.2/24
    gateway: 100.64.20.1
    fallback: false
${extra}`;

  it("refuses, in the slot after each of its rules, what that rule selects; pinned destinations through a table of unreachable routes", () => {
    const p = plan(vpn("    users: [1001]\n    mark: 0x5\n    destinations: [100.127.8.53]"));
    const ks = p.killSwitch!;
    expect(ks.rules.map((r) => `${r.family} ${r.priority}${r.selector} ${r.table === undefined ? "unreachable" : `lookup ${r.tableName}`}`)).toEqual([
      "4 1005 lookup vpn-kill",
      "4 2005 fwmark 0x5 unreachable",
      "4 4005 uidrange 1001-1001 unreachable",
    ]);
    // the replies rule (3004) keeps its table: no kill rule for it
    expect(p.rules.filter((r) => r.uplink === "vpn").map((r) => r.priority)).toEqual([1004, 2004, 3004, 4004]);
    expect(ks.tables).toEqual([{ uplink: "vpn", families: [4], table: 2102, tableName: "vpn-kill", prefixes: ["100.127.8.53/32"], file: "/etc/gen-hooks/vpn-kill.batch" }]);
    expect(p.keepForeign).toEqual({ rules: true, routes: true });
    expect(plan(vpn("    users: [1001]")).keepForeign).toEqual({ rules: true, routes: false });
  });

  it("a checked guarded uplink's health jump lands on the kill rule (no nop of its own)", () => {
    const p = plan(vpn("    users: [1001]\n    check:\n      targets: [198.18.4.1]"));
    const [c] = p.health!.checks;
    expect(c.skips.map((k) => `${k.skip} goto ${k.land}`)).toEqual(["4003 goto 4005"]);
    expect(c.lands).toEqual([]);
    expect(p.killSwitch!.rules.map((r) => r.priority)).toEqual([4005]);
  });

  it("is refused on an uplink that selects nothing, and absent by default", () => {
    expect(issue(vpn(""))).toMatch(/uplinks\[1\]\.fallback: fallback: false refuses the traffic uplink 'vpn' selects while it is down, and it selects none/);
    expect(plan(vpn("    users: [1001]").replace("    fallback: false\n", "")).killSwitch).toBeUndefined();
  });
});
