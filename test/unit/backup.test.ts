// backup: true: the plan (metrics after every other uplink, no
// balance share, the bypass's last lookups), the located refusals, and the
// rendered script handing traffic back, driven as its callers drive it with
// stubs for the commands that would change the kernel (event-host.ts).
import { describe, expect, it } from "vitest";
import { parseModelText } from "../../src/model/load.js";
import { validateModel } from "../../src/model/validate.js";
import { buildPlan } from "../../src/plan/plan.js";
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
    expect(p.failback).toEqual({ backups: ["lte"], primaries: ["fibre", "cable"], flush: [{ uplink: "lte", addresses: [], leases: ["lte-ipv4.lease"] }] });
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
    ["failback (not built: the kernel moves a NATed connection with its route)", model("failover", "\n    failback: keep"), /^16:5 uplinks\[1\]\.failback: unknown key 'failback'/],
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
