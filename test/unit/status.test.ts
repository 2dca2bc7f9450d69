import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseModelText } from "../../src/model/load.js";
import { validateModel } from "../../src/model/validate.js";
import { buildPlan } from "../../src/plan/plan.js";
import { formatStatus, hostStatus, type IpRunner } from "../../src/host/status.js";

const MODEL = `version: 1
uplinks:
  - name: cable
    interface: eth1
    address: dhcp
    users: [1001]
  - name: dsl
    interface: eth2
    address: 198.51.100.2/24
    gateway: 198.51.100.1
`;
const planOf = (text: string) => buildPlan(validateModel(parseModelText(text, "m.yaml")));
const plan = planOf(MODEL);

/** A kernel as ip -j prints it: the planned state of both uplinks, less what a test takes away. */
function kernel(opts: { noCarrier?: string; dropRule?: number; lte?: { fwmask?: string } } = {}): IpRunner {
  const link = (ifname: string) => ({ ifname, flags: ifname === opts.noCarrier ? ["BROADCAST", "UP", "NO-CARRIER"] : ["BROADCAST", "UP", "LOWER_UP"] });
  const rules4 = [
    { priority: 0, src: "all", table: "local" },
    { priority: 3001, src: "100.64.110.100", srclen: 32, table: "101" },
    { priority: 3004, src: "198.51.100.2", srclen: 32, table: "dsl" },
    { priority: 4001, src: "all", uid_start: 1001, uid_end: 1001, table: "cable" },
    ...(opts.lte ? [{ priority: 2007, src: "all", fwmark: "0x80000000", ...(opts.lte.fwmask ? { fwmask: opts.lte.fwmask } : {}), table: "lte" }, { priority: 3007, src: "100.64.3.2", srclen: 32, table: "lte" }] : []),
    { priority: 32766, src: "all", table: "main" },
  ].filter((r) => r.priority !== opts.dropRule);
  const answers: Record<string, unknown> = {
    "link show": [link("lo"), link("eth1"), link("eth2"), link("eth3")],
    "addr show": [
      { ifname: "eth1", addr_info: [{ family: "inet", local: "100.64.110.100", prefixlen: 24 }] },
      { ifname: "eth2", addr_info: [{ family: "inet", local: "198.51.100.2", prefixlen: 24 }] },
      { ifname: "eth3", addr_info: [{ family: "inet", local: "100.64.3.2", prefixlen: 24 }] },
    ],
    "-4 rule show": rules4,
    "-6 rule show": [],
    "-4 route show table 101": [{ dst: "default", gateway: "100.64.110.1", dev: "eth1" }],
    "-4 route show table 102": [{ dst: "default", gateway: "198.51.100.1", dev: "eth2" }],
    "-4 route show table 103": [{ dst: "default", gateway: "100.64.3.1", dev: "eth3" }],
    "-4 route show table 254": [
      { dst: "default", gateway: "100.64.110.1", dev: "eth1", metric: 100 },
      { dst: "default", gateway: "198.51.100.1", dev: "eth2", metric: 101 },
      ...(opts.lte ? [{ dst: "default", gateway: "100.64.3.1", dev: "eth3", metric: 102 }] : []),
    ],
    "-4 route get 192.0.2.1": [{ dst: "192.0.2.1", gateway: "100.64.110.1", dev: "eth1" }],
    "-4 route show table main default": [],
  };
  return (args) => {
    expect(args[0]).toBe("-j"); // status only reads, and only JSON
    const a = answers[args.slice(1).join(" ")];
    return a === undefined ? undefined : JSON.stringify(a);
  };
}

describe("gen-hooks status", () => {
  const state = mkdtempSync(join(tmpdir(), "gh-status-"));
  writeFileSync(join(state, "cable-ipv4.lease"), "100.64.110.100 24 100.64.110.1\n");
  afterAll(() => rmSync(state, { recursive: true, force: true }));

  it("everything as planned: the lease read from the script's state, the failover default's uplink from the kernel's answer", () => {
    const s = hostStatus(plan, kernel(), state);
    expect(s.uplinks.map((u) => [u.name, u.link, u.state, u.held.map((h) => `${h.address} ${h.source} ${h.gateway}`)])).toEqual([
      ["cable", "up", "as planned", ["100.64.110.100/24 dhcp 100.64.110.1"]],
      ["dsl", "up", "as planned", ["198.51.100.2/24 static 198.51.100.1"]],
    ]);
    expect(s.mainDefault).toEqual([{ family: 4, uplinks: ["cable"] }]);
    expect(s.ok).toBe(true);
    expect(formatStatus(s)).toContain("cable: eth1 up; 100.64.110.100/24 (dhcp) via 100.64.110.1; health not checked; as planned\n");
  });

  it("a missing rule is named; a link without carrier is down; an uplink without a lease is down", () => {
    const missing = hostStatus(plan, kernel({ dropRule: 4001 }), state);
    expect([missing.ok, missing.uplinks[0].state, missing.uplinks[0].missing]).toEqual([false, "incomplete", ["rule 4001 uidrange 1001-1001 lookup cable"]]);
    const cut = hostStatus(plan, kernel({ noCarrier: "eth2" }), state);
    expect([cut.ok, cut.uplinks[1].link, cut.uplinks[1].state]).toEqual([false, "no carrier", "down"]);
    const empty = mkdtempSync(join(tmpdir(), "gh-status-"));
    try {
      const noLease = hostStatus(plan, kernel(), empty);
      expect([noLease.uplinks[0].state, noLease.uplinks[0].held]).toEqual(["down", []]);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it("a checked uplink: down while the event script marks it so, returning while its hold runs, up otherwise", () => {
    const checkedPlan = planOf(`${MODEL}    check: { targets: [198.18.0.1], hold: 10 }\n`);
    const dir = mkdtempSync(join(tmpdir(), "gh-status-"));
    try {
      writeFileSync(join(dir, "cable-ipv4.lease"), "100.64.110.100 24 100.64.110.1\n");
      const dsl = () => hostStatus(checkedPlan, kernel(), dir).uplinks[1];
      expect([dsl().health, dsl().state]).toEqual(["up", "as planned"]);
      writeFileSync(join(dir, "dsl.down"), "");
      expect([dsl().health, dsl().state]).toEqual(["down", "down"]);
      writeFileSync(join(dir, "dsl.rising"), "123.456\n");
      expect([dsl().health, dsl().state]).toEqual(["returning", "down"]);
      expect(formatStatus(hostStatus(checkedPlan, kernel(), dir))).toContain("health returning; down");
      // the metrics' figures, as the event script keeps them
      expect(dsl().metrics).toBeUndefined();
      writeFileSync(join(dir, "dsl.metric"), "0 3 1796000000\n");
      expect(dsl().metrics).toEqual({ up: 0, changes: 3, lastChange: 1796000000 });
      expect(formatStatus(hostStatus(checkedPlan, kernel(), dir))).toContain("health returning; down; 3 changes, last 2026-11-30T00:53:20Z");
      writeFileSync(join(dir, "dsl.metric"), "1 x 1796000000\n");
      expect(dsl().metrics, "a record it cannot read is left out").toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a backup that keeps its connections: its masked mark rule is as planned only with its mask", () => {
    const keepPlan = planOf(`${MODEL}  - name: lte\n    interface: eth3\n    address: 100.64.3.2/24\n    gateway: 100.64.3.1\n    backup: true\n    failback: keep\n`);
    const lte = (fwmask?: string) => hostStatus(keepPlan, kernel({ lte: { fwmask } }), state).uplinks[2];
    expect([lte().state, lte().missing], "without the mask the rule is another rule").toEqual(["incomplete", ["rule 2007 fwmark 0x80000000/0xff000000 lookup lte"]]);
    expect([lte("0xff000000").state, lte("0xff000000").missing]).toEqual(["as planned", []]);
  });
});
