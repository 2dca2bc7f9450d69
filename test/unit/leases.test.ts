import { describe, expect, it } from "vitest";
import { parseModelText } from "../../src/model/load.js";
import { validateModel } from "../../src/model/validate.js";
import { buildPlan } from "../../src/plan/plan.js";
import type { Plan, PlanRoute } from "../../src/plan/types.js";

const plan = (text: string): Plan => buildPlan(validateModel(parseModelText(text, "m.yaml")));
const line = (r: PlanRoute) => `${r.to}${r.via ? ` via ${r.via}` : ""} dev ${r.dev}${r.src ? ` src ${r.src}` : ""}${r.metric !== undefined ? ` metric ${r.metric}` : ""} table ${r.table}`;

const failover = `version: 1
uplinks:
  - name: cable
    interface: eth1
    address: dhcp
    destinations: [100.127.0.53]
    users: [1001]
  - name: dsl
    interface: eth3
    address: 198.51.100.2/24
    gateway: 198.51.100.1
  - name: vpn
    interface: ppp0
    address: ppp
    sources: [192.168.0.77]
    nat: snat
lan:
  - interface: eth0
    address: 192.168.0.1/24
`;

describe("plan: learned addresses", () => {
  const p = plan(failover);
  const cable = p.leases.find((l) => l.uplink === "cable")!;
  const vpn = p.leases.find((l) => l.uplink === "vpn")!;

  it("a DHCP uplink's interface is the client's; its rules and routes are the lease's, none static", () => {
    const eth1 = p.interfaces.find((i) => i.name === "eth1")!;
    expect(eth1.dhcp).toBe(true);
    expect(eth1.families).toEqual([]);
    expect(p.interfaces.find((i) => i.name === "eth3")!.dhcp).toBe(false);
    expect(cable.routes.map(line)).toEqual(["$net dev eth1 src $addr table 101", "default via $gw dev eth1 src $addr table 101"]);
    expect(cable.mainDefault && line(cable.mainDefault)).toBe("default via $gw dev eth1 src $addr metric 100 table 254");
    expect(cable.rules.map((r) => `${r.priority} ${r.from ?? ""}${r.uidrange ?? ""} -> ${r.tableName}`)).toEqual([
      "1001  -> cable-dest",
      "3001 $host -> cable",
      "4001 1001-1001 -> cable",
    ]);
    expect(cable.destinations!.routes.map(line)).toEqual(["100.127.0.53/32 via $gw dev eth1 src $addr table 1101"]);
    expect(cable.state).toBe("cable-ipv4.lease");
  });

  it("the leased network goes into every other uplink table, unless that table has it; other networks reach the leased table statically", () => {
    expect(cable.shared.map(line)).toEqual(["$net dev eth1 src $addr table 102", "$net dev eth1 src $addr table 103"]);
    const eth3 = p.interfaces.find((i) => i.name === "eth3")!.families[0];
    expect(eth3.routes.filter((r) => r.to === "198.51.100.0/24").map((r) => r.table)).toEqual([101, 102, 103]);
    const lan = p.interfaces.find((i) => i.name === "eth0")!.families[0];
    expect(lan.routes.map((r) => r.table)).toEqual([101, 102, 103]);
  });

  it("a ppp uplink has no stanza: its link is pppd's; routes go through the link; rp_filter is set when it appears", () => {
    expect(p.interfaces.map((i) => i.name)).toEqual(["eth0", "eth1", "eth3"]);
    expect(vpn.routes.map(line)).toEqual(["default dev ppp0 src $addr table 103"]);
    expect(vpn.shared).toEqual([]);
    expect(vpn.sysctl).toEqual([{ proc: "/proc/sys/net/ipv4/conf/ppp0/rp_filter", value: "2", why: expect.any(String) }]);
    expect(p.sysctl.some((s) => s.key.includes("ppp0"))).toBe(false);
    expect(p.ifplugd, "no options.ifplugd: no ifplugd settings").toBeUndefined();
  });

  it("snat to a learned address is masquerade: the address the link holds now", () => {
    expect(p.nat).toEqual([{ uplink: "vpn", dev: "ppp0", kind: "masquerade", why: "snat to the address ppp gives (masquerade)" }]);
  });

  it("every rule counts, the lease's too; the script is installed only when something is learned", () => {
    expect(p.rules.filter((r) => r.from === "$host").map((r) => r.uplink)).toEqual(["cable", "vpn"]);
    expect(p.eventScript).toBe("/etc/gen-hooks/uplink-event");
    expect(plan(failover.replace(/  - name: cable[\s\S]*?(?=  - name: dsl)/, "").replace(/  - name: vpn[\s\S]*?(?=lan:)/, "")).eventScript).toBeUndefined();
  });

  it("balance: a multipath default with a learned member is rebuilt by the script, from static hooks and leases alike", () => {
    const b = plan(failover.replace("version: 1\n", "version: 1\nmode: balance\n"));
    expect(b.multipath).toHaveLength(1);
    const mp = b.multipath[0];
    expect(mp.byEvent).toBe(true);
    expect(mp.nexthops.map((n) => `${n.uplink} ${n.via ?? "-"} ${n.lease ?? n.probe}`)).toEqual([
      "cable - cable-ipv4.lease",
      "dsl 198.51.100.1 198.51.100.2/32",
      "vpn - vpn-ipv4.lease",
    ]);
    expect(b.interfaces.find((i) => i.name === "eth3")!.families[0].multipath).toBe(mp);
    expect(b.leases.every((l) => l.mainDefault === undefined)).toBe(true);
    expect(b.sysctl.find((s) => s.key === "net.ipv4.fib_multipath_hash_policy")?.value).toBe("1");
  });

  it("a learned family beside a static one: the static family keeps its hooks", () => {
    const d = plan(`version: 1
uplinks:
  - name: office
    interface: eth4
    address: [dhcp, 2001:db8:4::2/64]
    gateway: fe80::1
`);
    const eth4 = d.interfaces[0];
    expect(eth4.dhcp).toBe(true);
    expect(eth4.families.map((b) => b.family)).toEqual([6]);
    expect(eth4.families[0].routes.map(line)).toContain("default via fe80::1 dev eth4 src 2001:db8:4::2 table 101");
    expect(d.leases.map((l) => `${l.uplink} ${l.family} ${l.source}`)).toEqual(["office 4 dhcp"]);
    expect(d.families).toEqual([4, 6]);
  });
});

describe("explain: learned addresses", () => {
  it("answers for a leased uplink without inventing its address or gateway", async () => {
    const { explain, formatAnswer } = await import("../../src/plan/explain.js");
    const p = plan(failover);
    expect(formatAnswer(explain(p, { to: "100.127.0.53" }))).toBe(
      "to 100.127.0.53\n  rule 1001: from all lookup cable-dest (cable: pinned destinations first)\n  route: 100.127.0.53/32 via <dhcp gateway> dev eth1 src <dhcp address> in table cable-dest\n  uplink: cable\n",
    );
    expect(formatAnswer(explain(p, { to: "192.0.2.1" }))).toContain("route: default via <dhcp gateway> dev eth1 src <dhcp address> in table main\n  uplink: cable");
    expect(formatAnswer(explain(p, { to: "192.0.2.1", from: "192.168.0.77", iif: "eth0" }))).toContain("route: default dev ppp0 src 192.168.0.77 in table vpn");
    const b = explain(plan(failover.replace("version: 1\n", "version: 1\nmode: balance\n")), { to: "192.0.2.1" });
    expect("route" in b && b.route.nexthops?.map((n) => n.via)).toEqual(["<dhcp gateway>", "198.51.100.1", undefined]);
  });
});

describe("explain: a ppp link", () => {
  it("is an interface of the model although no stanza configures it", async () => {
    const { explain, formatAnswer } = await import("../../src/plan/explain.js");
    const p = plan(failover);
    expect(formatAnswer(explain(p, { to: "192.168.0.77", from: "198.18.0.1", iif: "ppp0" }))).toContain("route: 192.168.0.0/24 dev eth0");
  });
});

describe("plan: router advertisements (slaac)", () => {
  const text = `version: 1
uplinks:
  - name: cable
    interface: eth1
    address: [203.0.113.2/24, slaac]
    gateway: 203.0.113.1
    users: [1001]
  - name: fibre
    interface: eth2
    address: [198.51.100.2/24, 2001:db8:20::2/64]
    gateway: [198.51.100.1, 2001:db8:20::1]
`;
  const p = plan(text);
  const ra = p.leases.find((l) => l.family === 6)!;

  it("the stack takes the advertisements, with the uplink's failover metric; the script adds the table and rules for the whole prefix", () => {
    const eth1 = p.interfaces.find((i) => i.name === "eth1")!;
    expect([eth1.ra, eth1.raMetric, eth1.dhcp]).toEqual([true, 100, false]);
    expect(eth1.families.map((b) => b.family)).toEqual([4]);
    expect(p.interfaces.find((i) => i.name === "eth2")!.ra).toBe(false);
    expect(ra.source).toBe("slaac");
    expect(ra.routes.map(line)).toEqual(["$net dev eth1 src $addr table 101", "default via $gw dev eth1 src $addr table 101"]);
    expect(ra.shared.map(line)).toEqual(["$net dev eth1 src $addr table 102"]);
    // the main default is the stack's own (kernel ra_defrtr_metric, networkd RouteMetric=): the script leaves it alone
    expect(ra.mainDefault).toBeUndefined();
    expect(ra.stackDefault && line(ra.stackDefault)).toBe("default via $gw dev eth1 src $addr metric 100 table 254");
    expect(ra.rules.map((r) => `${r.priority} ${r.from ?? ""}${r.uidrange ?? ""}`)).toEqual(["3001 $net", "4001 1001-1001"]);
    expect(ra.state).toBe("cable-ipv6.lease");
    expect(p.sysctl.map((s) => `${s.key}=${s.value}`)).toContain("net.ipv6.conf.eth1.ra_defrtr_metric=100");
  });

  it("balance: no metric for the advertised router (the multipath default wins), and the multipath route takes the learned router", () => {
    const b = plan(text.replace("version: 1\n", "version: 1\nmode: balance\n"));
    expect(b.interfaces.find((i) => i.name === "eth1")!.raMetric).toBeUndefined();
    expect(b.sysctl.some((s) => s.key.endsWith("ra_defrtr_metric"))).toBe(false);
    const mp6 = b.multipath.find((m) => m.family === 6)!;
    expect([mp6.byEvent, mp6.nexthops.map((n) => n.lease ?? n.via)]).toEqual([true, ["cable-ipv6.lease", "2001:db8:20::1"]]);
  });

  it("explain names the advertised router and address instead of inventing them", async () => {
    const { explain, formatAnswer } = await import("../../src/plan/explain.js");
    expect(formatAnswer(explain(p, { to: "2001:db8:ff::1" }))).toContain("route: default via <slaac gateway> dev eth1 src <slaac address> in table main\n  uplink: cable");
    expect(formatAnswer(explain(p, { to: "2001:db8:ff::1", uid: 1001 }))).toContain("route: default via <slaac gateway> dev eth1 src <slaac address> in table cable");
  });
});

describe("plan: an uplink that learns both families", () => {
  it("[dhcp, slaac]: two leases with their own script functions and state files", () => {
    const p = plan("version: 1\nuplinks:\n  - name: cable\n    interface: eth1\n    address: [dhcp, slaac]\n  - name: dsl\n    interface: eth3\n    address: 198.51.100.2/24\n    gateway: 198.51.100.1\n");
    expect(p.leases.map((l) => [l.family, l.source, l.fn, l.state])).toEqual([
      [4, "dhcp", "u0_cable_ipv4", "cable-ipv4.lease"],
      [6, "slaac", "u0_cable_ipv6", "cable-ipv6.lease"],
    ]);
    expect(new Set(p.leases.map((l) => l.fn)).size).toBe(p.leases.length);
  });
});
