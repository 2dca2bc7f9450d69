// backup: true: the plan (metrics after every other uplink, no
// balance share, the bypass's last lookups), the located refusals, and the
// rendered script handing traffic back, driven as its callers drive it with
// stubs for the commands that would change the kernel (event-host.ts).
import { describe, expect, it } from "vitest";
import { parseModelText } from "../../src/model/load.js";
import { validateModel } from "../../src/model/validate.js";
import { buildPlan } from "../../src/plan/plan.js";
import { explain } from "../../src/plan/explain.js";
import { ModelError } from "../../src/errors.js";
import { eventHost } from "../helpers/event-host.js";

const model = (mode: string, lte = "") => `version: 1
mode: ${mode}
uplinks:
  - name: fibre
    interface: eth1
    address: 198.51.100.2/24
    gateway: 198.51.100.1
    metric: 300
    check:
      targets: [198.18.0.1]
      hold: 0
  - name: lte
    interface: wwan0
    address: dhcp
    backup: true${lte}
  - name: cable
    interface: eth2
    address: 203.0.113.2/24
    gateway: 203.0.113.1
    check:
      targets: [198.18.1.1]
      hold: 0
lan:
  - interface: eth0
    address: 192.168.0.1/24
`;
const plan = (text: string) => buildPlan(validateModel(parseModelText(text, "m.yaml")));
const messages = (text: string): string[] => {
  try {
    validateModel(parseModelText(text, "m.yaml"));
  } catch (err) {
    if (err instanceof ModelError) return err.issues.map((i) => `${i.pos.line}:${i.pos.col} ${i.path ? `${i.path}: ` : ""}${i.message}`);
    throw err;
  }
  return [];
};

describe("backup uplinks in the plan", () => {
  it("failover: the backup's main default comes after every other uplink's, whatever the list order", () => {
    const p = plan(model("failover"));
    expect(p.uplinks.map((u) => [u.name, u.metric, u.backup])).toEqual([["fibre", 300, false], ["lte", 301, true], ["cable", 102, false]]);
    const lease = p.leases.find((l) => l.uplink === "lte")!;
    expect(lease.mainDefault?.metric).toBe(301);
    expect(p.interfaces.find((i) => i.name === "wwan0")!.dhcpMetric, "the DHCP client's own default has the same key").toBe(301);
    // the bypass while a checked uplink is down: cable, fibre, then lte
    expect(p.health!.bypass[0].lookups.map((l) => [l.uplink, l.priority])).toEqual([["cable", 32001], ["fibre", 32002], ["lte", 32003]]);
  });

  it("balance: no share of the multipath; a main default after it; the bypass looks it up after the healthy uplinks", () => {
    const p = plan(model("balance"));
    expect(p.multipath[0].nexthops.map((n) => n.uplink)).toEqual(["fibre", "cable"]);
    expect(p.health!.bypass[0].balance!.route.nexthops.map((n) => n.uplink)).toEqual(["fibre", "cable"]);
    expect(p.leases.find((l) => l.uplink === "lte")!.mainDefault?.metric).toBe(301);
    expect(p.interfaces.find((i) => i.name === "wwan0")!.dhcpMetric).toBe(301);
    expect(p.health!.bypass[0].lookups.map((l) => [l.uplink, l.priority])).toEqual([["lte", 32002]]);
    expect(p.failback).toEqual({ primaries: ["fibre", "cable"], flush: [{ uplink: "lte", addresses: [], leases: ["lte-ipv4.lease"] }] });
    expect(p.keep, "failback: flush (the default) marks nothing").toEqual([]);
  });

  it("balance without backups: no main default but the multipath, as before", () => {
    const p = plan(model("balance").replace("    backup: true\n", ""));
    expect(p.multipath[0].nexthops.map((n) => n.uplink)).toEqual(["fibre", "lte", "cable"]);
    expect(p.leases.find((l) => l.uplink === "lte")!.mainDefault).toBeUndefined();
    expect(p.failback).toBeUndefined();
  });
});

describe("backup uplinks refused where they cannot mean what they say", () => {
  it.each([
    ["selectors", model("failover", "\n    users: [1000]"), /^15:5 uplinks\[1\]\.backup: backup uplink 'lte' has users: a backup carries nothing while another uplink can/],
    ["a metric", model("failover", "\n    metric: 5"), /^16:5 uplinks\[1\]\.metric: backup uplink 'lte' takes its metric after every other uplink's/],
    ["failback on an uplink that is not a backup", model("failover", "").replace("    metric: 300\n", "    metric: 300\n    failback: keep\n"), /^9:5 uplinks\[0\].failback: failback is what happens to a backup's connections when an uplink that is not a backup is back, and uplink 'fibre' is not a backup/],
    ["failback: other than flush or keep", model("failover", "\n    failback: stay"), /^16:15 uplinks\[1\]\.failback: /],
    ["a mark in keep's range", model("failover", "\n    failback: keep").replace("    metric: 300\n", "    metric: 300\n    mark: 0x80000001\n"), /^9:11 uplinks\[0\].mark: mark 0x80000001 is in the range failback: keep of uplink 'lte' marks its connections with \(0x80000000 and up\)/],
  ])("%s", (_, text, want) => {
    const got = messages(text);
    expect(got.length, got.join("\n")).toBe(1);
    expect(got[0]).toMatch(want);
  });

  it("default: false", () => {
    const text = model("failover", "\n    default: false").replace("address: dhcp", "address: 100.64.7.9/24\n    gateway: 100.64.7.1");
    expect(messages(text)).toContain("16:5 uplinks[1].backup: backup: true gives uplink 'lte' the traffic while no other uplink can carry it, and default: false takes all but its selectors' away; remove one of them");
  });

  it("every uplink a backup", () => {
    const text = model("failover").replace(/(interface: eth[12]\n)/g, "$1    backup: true\n").replace(/    metric: 300\n/, "");
    expect(messages(text)).toEqual([expect.stringMatching(/no uplink but a backup carries the main default/)]);
  });
});

describe("failback: keep", () => {
  const keep = (text: string) => text.replace("    backup: true\n", "    backup: true\n    failback: keep\n");
  it("marks the backup's connections and routes their packets by that mark, in its slot of the mark band; nothing is flushed", () => {
    for (const mode of ["failover", "balance"]) {
      const p = plan(keep(model(mode)));
      expect(p.keep).toEqual([{ uplink: "lte", dev: "wwan0", mark: "0x80000000", mask: "0xff000000", rest: "0x00ffffff" }]);
      // a leased backup: the lease's rules carry it (the script adds them)
      const lease = p.leases.find((l) => l.uplink === "lte")!;
      expect(lease.rules.filter((r) => r.fwmark).map((r) => [r.priority, r.fwmark, r.fwmask, r.tableName])).toEqual([[2004, "0x80000000", "0xff000000", "lte"]]);
      expect(p.failback, `${mode}: no backup's connections go`).toEqual({ primaries: ["fibre", "cable"], flush: [] });
    }
  });

  it("a static backup's rule is the stack's; the n-th keeper's mark is the next top byte; the model's own marks below are fine", () => {
    const text = keep(model("failover"))
      .replace("address: dhcp", "address: 100.64.7.9/24\n    gateway: 100.64.7.1")
      .replace("lan:", "  - name: sat\n    interface: eth5\n    address: 100.64.8.9/24\n    gateway: 100.64.8.1\n    backup: true\n    failback: keep\nlan:")
      .replace("    metric: 300\n", "    metric: 300\n    mark: 0x7fffffff\n");
    const p = plan(text);
    expect(p.keep.map((k) => [k.uplink, k.mark])).toEqual([["lte", "0x80000000"], ["sat", "0x81000000"]]);
    expect(p.rules.filter((r) => r.fwmask).map((r) => `${r.priority} fwmark ${r.fwmark}/${r.fwmask} table ${r.tableName}`)).toEqual(["2004 fwmark 0x80000000/0xff000000 table lte", "2010 fwmark 0x81000000/0xff000000 table sat"]);
  });

  it("explain follows the mark: a packet of a connection kept on the backup, and one of the admin's marks beside it", () => {
    const p = plan(keep(model("failover")).replace("address: dhcp", "address: 100.64.7.9/24\n    gateway: 100.64.7.1"));
    const kept = explain(p, { to: "192.0.2.7", mark: 0x80000000, iif: "eth0", from: "192.168.0.9" });
    expect(["rule" in kept ? kept.rule.selector : undefined, "uplink" in kept ? kept.uplink : undefined]).toEqual(["from all fwmark 0x80000000/0xff000000", "lte"]);
    const admins = explain(p, { to: "192.0.2.7", mark: 0x80000007, iif: "eth0", from: "192.168.0.9" });
    expect("uplink" in admins ? admins.uplink : undefined, "the keep byte decides, whatever the admin's bits").toBe("lte");
    const plain = explain(p, { to: "192.0.2.7", mark: 0x7, iif: "eth0", from: "192.168.0.9" });
    expect("uplink" in plain ? plain.uplink : undefined).toBe("cable");
  });
});

describe("failback in the rendered script", () => {
  const UP = "2: eth1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500";
  const setup = () => {
    const h = eventHost(model("balance"));
    for (const i of ["eth1", "eth2", "wwan0"]) h.link(i, UP.replace("eth1", i));
    h.event("lease", "wwan0", "100.64.7.9", "24", "100.64.7.1");
    return h;
  };
  // (the stub deletes nothing, so the script asks ten times: once each here)
  const flushes = (h: ReturnType<typeof setup>) => [...new Set(h.commands().split("\n").filter((l) => l.startsWith("conntrack -D")))];

  it("a primary back while none was: the backup's tracked connections go; not while another primary carried", () => {
    const h = setup();
    h.event("down", "fibre", "198.18.0.1", "eth1");
    expect(flushes(h), "fibre's own flows go when it fails").toEqual(["conntrack -D -f ipv4 --reply-dst 198.51.100.2"]);
    h.event("up", "fibre", "198.18.0.1", "eth1");
    expect(flushes(h), "cable carried all along: lte's flows stay").toHaveLength(1);
    h.event("down", "fibre", "198.18.0.1", "eth1");
    h.event("down", "cable", "198.18.1.1", "eth2");
    const before = flushes(h).length;
    h.event("up", "cable", "198.18.1.1", "eth2");
    expect(flushes(h).slice(before)).toEqual(["conntrack -D -f ipv4 --reply-dst 100.64.7.9"]);
    expect(h.journal().at(-1)).toContain("lte: an uplink that is not a backup is back; the connections tracked through lte go");
  });

  it("a primary's carrier back (the metrics' link watch) ends the backup's turn too", () => {
    const h = setup();
    for (const i of ["eth1", "eth2"]) h.link(i, UP.replace("eth1", i).replace(",LOWER_UP", ""));
    h.event("metrics");
    expect(flushes(h)).toEqual([]);
    h.link("eth2", UP.replace("eth1", "eth2"));
    h.event("metrics");
    expect(flushes(h)).toEqual(["conntrack -D -f ipv4 --reply-dst 100.64.7.9"]);
  });
});
