import { describe, expect, it } from "vitest";
import { parseModelText } from "../../src/model/load.js";
import { validateModel } from "../../src/model/validate.js";
import { buildPlan, PRIORITY } from "../../src/plan/plan.js";
import type { Plan, PlanRoute } from "../../src/plan/types.js";
import { renderTargets } from "../../src/pipeline.js";

const plan = (text: string): Plan => buildPlan(validateModel(parseModelText(text, "m.yaml")));
const routesOf = (p: Plan, dev: string, family = 4): PlanRoute[] => p.interfaces.find((i) => i.name === dev)!.families.find((b) => b.family === family)?.routes ?? [];
const line = (r: PlanRoute) => `${r.to}${r.via ? ` via ${r.via}` : ""} dev ${r.dev}${r.src ? ` src ${r.src}` : ""}${r.metric !== undefined ? ` metric ${r.metric}` : ""} table ${r.table}`;

const base = `version: 1
uplinks:
  - name: dsl
    interface: eth1
    address: 198.51.100.2/24
    gateway: 198.51.100.1
  - name: cable
    interface: eth2
    address: 203.0.113.2/24
    gateway: 203.0.113.1
    table: 102
  - name: lte
    interface: wwan0
    address: 100.64.5.2/24
    gateway: 100.64.5.1
    metric: 50
lan:
  - interface: eth0
    address: 192.168.0.1/24
`;

describe("plan: tables, metrics, priorities", () => {
  const p = plan(base);
  it("allocates table ids from 101 around explicit ones", () => {
    expect(p.uplinks.map((u) => [u.name, u.table])).toEqual([["dsl", 101], ["cable", 102], ["lte", 103]]);
  });
  it("gives failover metrics 100 + position unless explicit", () => {
    expect(p.uplinks.map((u) => u.metric)).toEqual([100, 101, 50]);
  });
  it("orders LAN interfaces before uplinks", () => {
    expect(p.interfaces.map((i) => `${i.role}:${i.name}`)).toEqual(["lan:eth0", "uplink:eth1", "uplink:eth2", "uplink:wwan0"]);
  });
  it("puts destination tables at table+1000 (next free id on a clash)", () => {
    const q = plan(base.replace("    table: 102\n", "    table: 1101\n    destinations: [100.127.0.53]\n").replace("    gateway: 198.51.100.1\n", "    gateway: 198.51.100.1\n    destinations: [100.127.1.53]\n"));
    expect(q.tables.map((t) => `${t.id} ${t.name}`)).toEqual(["101 dsl", "1102 dsl-dest", "1101 cable", "2101 cable-dest", "102 lte"]);
  });
  it("bands rule priorities: destinations, marks, source address, uids, LAN sources", () => {
    const q = plan(`version: 1
uplinks:
  - name: a
    interface: eth1
    address: 198.51.100.2/24
    gateway: 198.51.100.1
    destinations: [100.127.0.53]
    mark: 7
    users: [500, 1000-1999]
    sources: [192.168.0.20]
lan:
  - interface: eth0
    address: 192.168.0.1/24
`);
    expect(q.rules.map((r) => `${r.priority} ${r.from ?? ""}${r.fwmark ?? ""}${r.uidrange ?? ""} -> ${r.tableName}`)).toEqual([
      `${PRIORITY.destinations + 1}  -> a-dest`,
      `${PRIORITY.mark + 1} 0x7 -> a`,
      `${PRIORITY.from + 1} 198.51.100.2/32 -> a`,
      `${PRIORITY.users + 1} 500-500 -> a`,
      `${PRIORITY.users + 1} 1000-1999 -> a`,
      `${PRIORITY.sources + 1} 192.168.0.20/32 -> a`,
    ]);
    expect(PRIORITY.destinations).toBeLessThan(PRIORITY.mark);
    expect(PRIORITY.mark).toBeLessThan(PRIORITY.from);
  });
});

describe("plan: which routes go in which table, added by which interface", () => {
  const p = plan(base);
  it("an uplink's interface adds its network to every uplink table, and its defaults", () => {
    expect(routesOf(p, "eth1").map(line)).toEqual([
      "198.51.100.0/24 dev eth1 src 198.51.100.2 table 101",
      "198.51.100.0/24 dev eth1 src 198.51.100.2 table 102",
      "198.51.100.0/24 dev eth1 src 198.51.100.2 table 103",
      "default via 198.51.100.1 dev eth1 src 198.51.100.2 table 101",
      "default via 198.51.100.1 dev eth1 src 198.51.100.2 metric 100 table 254",
    ]);
  });
  it("the LAN interface adds the LAN network to every uplink table, without src", () => {
    expect(routesOf(p, "eth0").map(line)).toEqual(["192.168.0.0/24 dev eth0 table 101", "192.168.0.0/24 dev eth0 table 102", "192.168.0.0/24 dev eth0 table 103"]);
  });
  it("skips another uplink's network in a table whose own link already reaches it", () => {
    const q = plan(`version: 1
uplinks:
  - {name: rt1, interface: eth0, address: 100.64.10.99/24, gateway: 100.64.10.1}
  - {name: rt2, interface: wlan0, address: 100.64.10.97/24, gateway: 100.64.10.1}
`);
    expect(routesOf(q, "wlan0").filter((r) => r.to !== "default").map(line)).toEqual(["100.64.10.0/24 dev wlan0 src 100.64.10.97 table 102"]);
  });
  it("a point-to-point uplink routes by device and has no network route", () => {
    const q = plan(`version: 1
uplinks:
  - {name: vpn, interface: ppp0, address: 100.100.0.5/32}
`);
    expect(routesOf(q, "ppp0").map((r) => `${line(r)}${r.scopeLink ? " scope link" : ""}`)).toEqual([
      "default dev ppp0 src 100.100.0.5 table 101 scope link",
      "default dev ppp0 src 100.100.0.5 metric 100 table 254 scope link",
    ]);
  });
  it("dual stack: separate IPv6 routes and rules, and DAD wait", () => {
    const q = plan(`version: 1
uplinks:
  - name: a
    interface: eth1
    address: [198.51.100.2/24, 2001:db8:1::2/64]
    gateway: [198.51.100.1, 2001:db8:1::1]
`);
    const v6 = q.interfaces[0].families.find((b) => b.family === 6)!;
    expect(v6.waitDad).toBe(true);
    expect(v6.routes.map(line)).toEqual([
      "2001:db8:1::/64 dev eth1 src 2001:db8:1::2 table 101",
      "default via 2001:db8:1::1 dev eth1 src 2001:db8:1::2 table 101",
      "default via 2001:db8:1::1 dev eth1 src 2001:db8:1::2 metric 100 table 254",
    ]);
    expect(v6.rules.map((r) => r.from)).toEqual(["2001:db8:1::2/128"]);
  });
  it("pinned destinations go in the destination table through the uplink", () => {
    const q = plan(base.replace("    gateway: 198.51.100.1\n", "    gateway: 198.51.100.1\n    destinations: [100.127.0.53]\n"));
    const sets = q.interfaces.find((i) => i.name === "eth1")!.families[0].destinationSets;
    expect(sets.map((d) => [d.uplink, d.table, d.count, d.ifupdownInline, d.networkdInline, d.file])).toEqual([["dsl", 1101, 1, true, true, "/etc/gen-hooks/dsl-ipv4.routes"]]);
    expect(sets[0].routes.map(line)).toEqual(["100.127.0.53/32 via 198.51.100.1 dev eth1 src 198.51.100.2 table 1101"]);
    expect(routesOf(q, "eth1").filter((r) => r.table === 1101)).toEqual([]);
  });
  it("large destination sets are loaded with ip -batch: above 64 routes for ifupdown, above 1000 for networkd", () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => `198.18.${i >> 8}.${i & 255}`).join(", ");
    for (const [n, ifupdownInline, networkdInline] of [[64, true, true], [65, false, true], [1000, false, true], [1001, false, false]] as const) {
      const q = plan(base.replace("    gateway: 198.51.100.1\n", `    gateway: 198.51.100.1\n    destinations: [${many(n)}]\n`));
      expect(q.destinationSets.map((d) => [d.count, d.ifupdownInline, d.networkdInline])).toEqual([[n, ifupdownInline, networkdInline]]);
    }
  });
});

describe("plan: balance", () => {
  const p = plan(base.replace("version: 1\n", "version: 1\nmode: balance\n").replace("    metric: 50\n", "    weight: 3\n"));
  it("one multipath default with weights, rebuilt by every member interface; no failover defaults", () => {
    expect(p.multipath).toEqual([
      {
        family: 4,
        metric: 100,
        nexthops: [
          { via: "198.51.100.1", dev: "eth1", weight: 1, uplink: "dsl", probe: "198.51.100.2/32" },
          { via: "203.0.113.1", dev: "eth2", weight: 1, uplink: "cable", probe: "203.0.113.2/32" },
          { via: "100.64.5.1", dev: "wwan0", weight: 3, uplink: "lte", probe: "100.64.5.2/32" },
        ],
        byEvent: false,
      },
    ]);
    for (const dev of ["eth1", "eth2", "wwan0"]) {
      const b = p.interfaces.find((i) => i.name === dev)!.families[0];
      expect(b.multipath).toBe(p.multipath[0]);
      expect(b.routes.filter((r) => r.table === 254)).toEqual([]);
    }
    expect(p.interfaces.filter((i) => i.keepOnCarrierLoss).map((i) => i.name)).toEqual(["eth1", "eth2", "wwan0"]);
  });
  it("hashes flows on L4", () => {
    expect(p.sysctl.filter((s) => s.key.includes("multipath"))).toMatchObject([{ key: "net.ipv4.fib_multipath_hash_policy", value: "1" }]);
  });
});

describe("plan: sysctl, nat, ifplugd", () => {
  it("writes a dot in an interface name as '/' and sets forwarding for a LAN", () => {
    const q = plan(`version: 1
uplinks:
  - {name: a, interface: eth0.2, address: 198.51.100.2/24, gateway: 198.51.100.1}
lan:
  - {interface: br-lan, address: 192.168.1.1/24}
options: {rp-filter: off, linkdown-failover: true}
`);
    expect(q.sysctl.map((s) => `${s.key} = ${s.value}`)).toEqual([
      "net.ipv4.ip_forward = 1",
      "net.ipv4.conf.all.rp_filter = 0",
      "net.ipv4.conf.eth0/2.rp_filter = 0",
      "net.ipv4.conf.eth0/2.arp_ignore = 1",
      "net.ipv4.conf.eth0/2.arp_announce = 2",
      "net.ipv4.conf.eth0/2.ignore_routes_with_linkdown = 1",
    ]);
    // the keys of an interface that may appear after boot: marked, and the interface's own list for its stanza
    expect(q.sysctl.filter((s) => s.iface).map((s) => s.iface)).toEqual(["eth0.2", "eth0.2", "eth0.2", "eth0.2"]);
    expect(q.interfaces.find((i) => i.name === "eth0.2")!.sysctl.map((s) => s.key)).toEqual(q.sysctl.filter((s) => s.iface).map((s) => s.key));
    expect(q.interfaces.find((i) => i.name === "br-lan")!.sysctl).toEqual([]);
  });
  it("snat on a shared interface matches the uplink's next hop", () => {
    const q = plan(`version: 1
uplinks:
  - {name: a, interface: eth0, address: 198.51.100.2/24, gateway: 198.51.100.1, nat: snat}
  - {name: b, interface: eth0, address: 203.0.113.2/24, gateway: 203.0.113.1, nat: masquerade}
  - {name: c, interface: eth1, address: 100.64.3.2/24, gateway: 100.64.3.1, nat: snat}
`);
    expect(q.nat).toEqual([
      { uplink: "a", dev: "eth0", kind: "snat", why: "snat", to: "198.51.100.2", nexthop: "198.51.100.1" },
      { uplink: "b", dev: "eth0", kind: "masquerade", why: "masquerade", to: undefined, nexthop: undefined },
      { uplink: "c", dev: "eth1", kind: "snat", why: "snat", to: "100.64.3.2", nexthop: undefined },
    ]);
  });
  it("watches uplink interfaces once each, unless an uplink says watch: false", () => {
    const q = plan(`version: 1
uplinks:
  - {name: a, interface: eth0, address: 198.51.100.2/24, gateway: 198.51.100.1}
  - {name: b, interface: eth0, address: 203.0.113.2/24, gateway: 203.0.113.1}
  - {name: c, interface: eth1, address: 100.64.3.2/24, gateway: 100.64.3.1, watch: false}
  - {name: d, interface: eth2, address: 100.64.4.2/24, gateway: 100.64.4.1}
options: {ifplugd: {delay-up: 2, delay-down: 5}}
`);
    expect(q.ifplugd).toEqual({ interfaces: ["eth0", "eth2"], args: "-q -f -u2 -d5 -w -I" });
    expect(plan(`version: 1\nuplinks:\n  - {name: a, interface: eth0, address: 198.51.100.2/24, gateway: 198.51.100.1}\noptions: {ifplugd: {}}\n`).ifplugd).toEqual({ interfaces: ["eth0"], args: "-q -f -u0 -d10 -w -I" });
  });
});

describe("plan: rule priorities never collide between uplinks", () => {
  it("300 uplinks with every selector: each priority belongs to one uplink", () => {
    const lines = ["version: 1", "uplinks:"];
    for (let i = 0; i < 300; i++)
      lines.push(`  - {name: u${i}, interface: e${i}, address: 100.${64 + (i >> 8)}.${i & 255}.2/24, gateway: 100.${64 + (i >> 8)}.${i & 255}.1, mark: ${i + 1}, users: [${10000 + i}], destinations: [198.18.${i >> 8}.${i & 255}], sources: [192.168.${i >> 8}.${i & 255}]}`);
    const p = plan(lines.join("\n") + "\n");
    const owner = new Map<string, string>();
    for (const r of p.rules) {
      const key = `${r.family}/${r.priority}`;
      expect(owner.get(key) ?? r.uplink, key).toBe(r.uplink);
      owner.set(key, r.uplink);
    }
    expect(p.rules.length).toBe(300 * 5);
  });
});

describe("plan: VLAN interfaces", () => {
  it("eth0.2 is VLAN 2 on eth0; its parent carries VLAN= lines, in its own file when the model does not configure it", async () => {
    const { vlanOf } = await import("../../src/plan/vlan.js");
    expect([vlanOf("eth0.2"), vlanOf("bond0.4094"), vlanOf("eth0.0"), vlanOf("eth0.4095"), vlanOf("wan0"), vlanOf("a.b")]).toEqual([
      { parent: "eth0", id: 2 },
      { parent: "bond0", id: 4094 },
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    const p = plan(`version: 1
uplinks:
  - name: a
    interface: eth0.2
    address: 198.51.100.2/24
    gateway: 198.51.100.1
  - name: b
    interface: br0.3
    address: 203.0.113.2/24
    gateway: 203.0.113.1
lan:
  - interface: br0
    address: 192.168.0.1/24
`);
    expect(p.interfaces.map((i) => [i.name, i.vlan?.id, i.vlans])).toEqual([
      ["br0", undefined, ["br0.3"]],
      ["eth0.2", 2, []],
      ["br0.3", 3, []],
    ]);
    expect(p.vlanParents).toEqual([{ name: "eth0", vlans: ["eth0.2"] }]);
  });
});

describe("plan: selector-only uplinks (default: false)", () => {
  const model = (mode: string, modem: string) => `version: 1
mode: ${mode}
uplinks:
  - {name: isp, interface: eth1, address: 198.51.100.2/24, gateway: 198.51.100.1}
  - {name: isp2, interface: eth2, address: 203.0.113.2/24, gateway: 203.0.113.1}
  - {name: modem, interface: ppp0, ${modem}, users: [1000], default: false, check: {targets: [198.18.0.1]}}
`;
  const mainDefaults = (p: Plan) => [...p.interfaces.flatMap((i) => i.families.flatMap((b) => b.routes)), ...p.leases.flatMap((l) => [l.mainDefault, l.stackDefault].filter((r) => r !== undefined))].filter((r) => r!.table === 254 && r!.to === "default").map((r) => r!.dev);
  it("failover: never main's default, static or ppp; its own table and selector stay", () => {
    for (const modem of ["address: 100.100.0.5/32", "address: ppp"]) {
      const p = plan(model("failover", modem));
      expect(mainDefaults(p), modem).toEqual(["eth1", "eth2"]);
      const rules = [...p.rules, ...p.leases.flatMap((l) => l.rules)].filter((r) => r.uplink === "modem");
      expect(rules.some((r) => r.uidrange === "1000-1000"), modem).toBe(true);
      // a dead provider's traffic is looked up in the default uplinks' tables only
      expect(p.health!.bypass[0].lookups.map((l) => l.uplink)).toEqual(["isp", "isp2"]);
    }
  });
  it("balance: no share of the multipath default", () => {
    const p = plan(model("balance", "address: 100.100.0.5/32"));
    expect(p.multipath.map((m) => m.nexthops.map((n) => n.uplink))).toEqual([["isp", "isp2"]]);
  });
  it("refused where it cannot hold: no selector, or a stack that puts its own default into main", () => {
    expect(() => plan("version: 1\nuplinks:\n  - {name: a, interface: ppp0, address: ppp, default: false}\n")).toThrow(/m\.yaml:3:46: uplinks\[0\]\.default: default: false leaves uplink 'a' only the traffic its selectors choose, and it has none/);
    expect(() => plan("version: 1\nuplinks:\n  - {name: a, interface: eth1, address: dhcp, users: [1000], default: false}\n")).toThrow(/uplinks\[0\]\.default: default: false is not supported yet with dhcp: the DHCP client puts its own default route/);
  });
});

describe("plan: an uplink whose link may appear after boot (hotplug: true)", () => {
  const text = (hotplug: string) => `version: 1\nuplinks:\n  - {name: isp, interface: eth1, address: 198.51.100.2/24, gateway: 198.51.100.1}\n  - {name: usb, interface: eth9, address: 192.0.2.2/24, gateway: 192.0.2.1${hotplug}}\n  - {name: usb2, interface: eth9, address: 203.0.113.2/24, gateway: 203.0.113.1}\n`;
  it("ifupdown: allow-hotplug for its link (shared with another uplink, still once), auto for the others; networkd unchanged", () => {
    const p = plan(text(", hotplug: true"));
    expect(p.interfaces.map((i) => [i.name, i.hotplug])).toEqual([["eth1", false], ["eth9", true]]);
    const stanzas = renderTargets(p, "ifupdown", "ifupdown")[0].content;
    expect(stanzas.split("\n").filter((l) => /^(auto|allow-hotplug) /.test(l))).toEqual(["auto eth1", "allow-hotplug eth9"]);
    const without = plan(text(""));
    expect(renderTargets(p, "networkd", "networkd").map((f) => f.content.split("\n").slice(1).join("\n"))).toEqual(renderTargets(without, "networkd", "networkd").map((f) => f.content.split("\n").slice(1).join("\n")));
  });
  it("refused when not a boolean", () => {
    expect(() => plan(text(", hotplug: yes"))).toThrow(/m\.yaml:4:\d+: uplinks\[1\]\.hotplug: must be/);
  });
});
