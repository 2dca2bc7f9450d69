import { describe, expect, it } from "vitest";
import { loadModelFile } from "../../src/model/load.js";
import { validateModel } from "../../src/model/validate.js";
import { buildPlan } from "../../src/plan/plan.js";
import { explain, formatAnswer, type Answer, type Query } from "../../src/plan/explain.js";

const planOf = (scenario: string) => buildPlan(validateModel(loadModelFile(`fixtures/${scenario}/model.yaml`)));
const ask = (scenario: string, q: Query) => {
  const a = explain(planOf(scenario), q);
  if ("unreachable" in a) throw new Error("unreachable");
  return a as Answer;
};
const brief = (a: Answer) => `${a.rule.priority} ${a.rule.tableName} ${a.route.via ?? "-"} ${a.route.dev ?? "-"} ${a.uplink ?? "-"}`;

describe("explain", () => {
  it("failover: the main default of the lowest metric", () => {
    expect(brief(ask("three-nics-one-subnet", { to: "198.19.255.1" }))).toBe("32766 main 100.64.10.1 eth0 rt1");
  });
  it("replies from an address use its uplink's table, also on a shared NIC", () => {
    expect(brief(ask("shared-nic", { to: "198.19.255.1", from: "203.0.113.2" }))).toBe("3004 wan2 203.0.113.1 eth0 wan2");
    expect(brief(ask("shared-nic", { to: "2001:db8:ff::1", from: "2001:db8:1::2" }))).toBe("3001 wan1 2001:db8:1::1 eth0 wan1");
  });
  it("a pinned destination wins over a mark and a uid of another uplink", () => {
    const plan = planOf("balance-two-isps");
    for (const q of [{ to: "100.127.1.53" }, { to: "100.127.1.53", from: "198.51.100.2" }]) {
      const a = explain(plan, q) as Answer;
      expect(brief(a)).toBe("1004 cable-dest 203.0.113.1 eth2 cable");
    }
  });
  it("marks and uid ranges pick their uplink; uid 0 is the default as in ip route get", () => {
    expect(brief(ask("per-user-and-mark", { to: "198.19.255.1", mark: 2 }))).toBe("2004 connection2 203.0.113.1 eth2 connection2");
    expect(brief(ask("per-user-and-mark", { to: "198.19.255.1", uid: 1999 }))).toBe("4004 connection2 203.0.113.1 eth2 connection2");
    expect(brief(ask("per-user-and-mark", { to: "198.19.255.1", uid: 2000 }))).toBe("32766 main 198.51.100.1 eth1 connection1");
    expect(brief(ask("per-user-and-mark", { to: "198.19.255.1" }))).toBe("32766 main 198.51.100.1 eth1 connection1");
  });
  it("a LAN source is routed by its rule; the LAN is reached from every uplink table", () => {
    expect(brief(ask("lan-host-via-ppp", { to: "198.19.255.1", from: "192.168.1.206", iif: "br-lan" }))).toBe("5004 fast - ppp0 fast");
    expect(brief(ask("lan-host-via-ppp", { to: "192.168.1.50", from: "100.100.0.5" }))).toBe("3004 fast - br-lan -");
  });
  it("balance: one of the weighted nexthops; local addresses are local", () => {
    const a = ask("balance-two-isps", { to: "198.19.255.1" });
    expect(a.route.nexthops?.map((n) => `${n.dev}:${n.weight}`)).toEqual(["eth1:1", "eth2:2"]);
    expect(a.uplink).toBeUndefined();
    expect(ask("balance-two-isps", { to: "198.51.100.2" }).route.type).toBe("local");
  });
  it("formats an answer for people", () => {
    expect(formatAnswer(ask("per-user-and-mark", { to: "198.19.255.1", uid: 500 }))).toBe(
      "to 198.19.255.1 uid 500\n  rule 4001: from all uidrange 500-500 lookup connection1 (connection1: sockets of these uids)\n  route: default via 198.51.100.1 dev eth1 src 198.51.100.2 in table connection1\n  uplink: connection1\n",
    );
  });

  it("refuses what the kernel refuses: an unknown --iif, a foreign --from without --iif, mixed families", () => {
    const plan = planOf("balance-two-isps");
    expect(() => explain(plan, { to: "198.19.255.1", iif: "eth7" })).toThrow(/--iif eth7 is not an interface of the model \(eth0, eth1, eth2\)/);
    expect(() => explain(plan, { to: "198.19.255.1", from: "192.0.2.77" })).toThrow(/--from 192\.0\.2\.77 is not an address of this host; .* give --iif/);
    expect(() => explain(plan, { to: "2001:db8:ff::1", from: "198.51.100.2" })).toThrow(/different address families/);
    expect(() => explain(plan, { to: "198.19.255.1", from: "192.168.0.50", iif: "eth0" })).not.toThrow();
  });
  it("a multipath answer names its uplinks, and its JSON carries no internal field", () => {
    const a = ask("balance-two-isps", { to: "198.19.255.1" });
    expect(a.uplink).toBeUndefined();
    expect(a.uplinks).toEqual(["dsl", "cable"]);
    expect(a.route.nexthops?.map((n) => Object.keys(n).sort())).toEqual([["dev", "uplink", "via", "weight"], ["dev", "uplink", "via", "weight"]]);
    expect(JSON.stringify(a)).not.toMatch(/probe/);
    expect(ask("three-nics-one-subnet", { to: "198.19.255.1" }).uplinks).toEqual(["rt1"]);
  });
});
