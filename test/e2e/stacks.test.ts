// Every shipped fixture applied by the real stacks in network namespaces:
// ifupdown (ifup -i --state-dir), systemd-networkd (private mount namespace),
// and ifupdown driven by ifplugd where the model leaves failover to it. The
// kernel and real packets are asked whether the model's promises hold.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadModelFile } from "../../src/model/load.js";
import { validateModel } from "../../src/model/validate.js";
import { buildPlan } from "../../src/plan/plan.js";
import type { Plan } from "../../src/plan/types.js";
import type { Family, Model } from "../../src/model/types.js";
import { runBin } from "../helpers/bin.js";
import { scenarios } from "../helpers/fixtures.js";
import { Lab, labUnavailable, waitFor } from "./lab.js";
import { REMOTE4, REMOTE6, type Topology } from "./topology.js";
import { Ifplugd, Ifupdown, Networkd, settle, withHost } from "./stacks.js";
import { behaviourChecks, explainChecks, kernelRules, preferredUplink, sample, type Check } from "./checks.js";
import { countFlows } from "./flows.js";

const unavailable = labUnavailable();
if (unavailable && process.env.CI === "true") throw new Error(`real-stack tests cannot run under CI: ${unavailable}`);
if (unavailable) console.warn(`SKIPPING real-stack tests: ${unavailable}`);

const tally = { checks: 0, switches: [] as string[], flows: [] as string[] };
afterAll(() => {
  if (unavailable) return;
  console.log(`real-stack: ${tally.checks} kernel/packet checks passed`);
  console.log(`switch times (carrier cut or restored -> traffic on the expected uplink):\n  ${tally.switches.join("\n  ")}`);
  if (tally.flows.length) console.log(`balanced flows:\n  ${tally.flows.join("\n  ")}`);
});

function render(name: string, modelPath: string): string {
  const root = mkdtempSync(join(tmpdir(), `gh-e2e-${name}-`));
  const r = runBin(["--target", "all", "--model", modelPath, "--root", root]);
  if (r.status !== 0) throw new Error(r.stderr);
  return root;
}

const ruleLine = (r: Plan["rules"][number]) =>
  `${r.priority}${r.from ? ` from ${r.from}` : ""}${r.fwmark ? ` fwmark ${r.fwmark}` : ""}${r.uidrange ? ` uidrange ${r.uidrange}` : ""} table ${r.table}`;
const planRules = (plan: Plan, f: Family) => plan.rules.filter((r) => r.family === f).map(ruleLine).sort();
const rulesMatch = (topo: Topology, plan: Plan) => ([4, 6] as Family[]).every((f) => JSON.stringify(kernelRules(topo, f)) === JSON.stringify(planRules(plan, f)));
const remote = (f: Family) => (f === 4 ? REMOTE4 : REMOTE6);

/** Planned rules present, a default for every family, no address still in DAD. */
const ready = (topo: Topology, plan: Plan) =>
  rulesMatch(topo, plan) &&
  plan.families.every((f) => topo.lab.routeGet("host", [remote(f)]) !== undefined) &&
  topo.lab.run("host", ["ip", "-6", "addr", "show", "tentative"]).trim() === "";

function expectRules(topo: Topology, plan: Plan): void {
  for (const f of [4, 6] as Family[]) expect(kernelRules(topo, f), `IPv${f} rules in the kernel`).toEqual(planRules(plan, f));
}

function expectChecks(checks: Check[]): void {
  const failed = checks.filter((c) => !c.ok);
  expect(failed.map((c) => `${c.what}: ${c.detail}`), "failed checks").toEqual([]);
  tally.checks += checks.length;
}

const ifaceOrder = (model: Model): string[] => {
  const sorted = model.mode === "failover" ? [...model.uplinks].sort((a, b) => (a.metric ?? 100 + a.index) - (b.metric ?? 100 + b.index)) : model.uplinks;
  return [...new Set(sorted.filter((u) => u.addresses.some((a) => a.family === 4)).map((u) => u.interface))];
};

/** Which devices the main default uses now: one (failover) or all hashed flows (balance). */
function devicesInUse(topo: Topology): Set<string> {
  const seen = new Set<string>();
  if (topo.model.mode === "failover") {
    const dev = topo.lab.routeGet("host", [REMOTE4])?.dev;
    if (dev) seen.add(dev);
    return seen;
  }
  for (let sport = 40000; sport < 40032; sport++) {
    const dev = topo.lab.routeGet("host", [REMOTE4, "ipproto", "tcp", "sport", String(sport), "dport", "443"])?.dev;
    if (dev) seen.add(dev);
  }
  return seen;
}

function expectedInUse(topo: Topology, down: string[]): Set<string> {
  if (topo.model.mode === "failover") return new Set([preferredUplink(topo, 4, down)!.interface]);
  return new Set(ifaceOrder(topo.model).filter((i) => !down.includes(i)));
}

const sameSet = (a: Set<string>, b: Set<string>) => a.size === b.size && [...a].every((x) => b.has(x));

/**
 * Cut the carrier of the uplinks one by one in preference order until one is
 * left, then restore them in reverse: after every step traffic must be on
 * the expected uplink(s) within limitMs. Records each switch time.
 */
async function failoverCascade(topo: Topology, label: string, limitMs: number): Promise<void> {
  const order = ifaceOrder(topo.model);
  if (order.length < 2) return;
  const down: string[] = [];
  const step = async (what: string, change: () => void) => {
    const want = expectedInUse(topo, down);
    const t0 = Date.now();
    change();
    const ok = await waitFor(() => sameSet(devicesInUse(topo), want), limitMs + 3000, 20);
    const ms = Date.now() - t0;
    expect(ok, `${label}: after ${what}, traffic uses ${[...want].join(",")} (uses ${[...devicesInUse(topo)].join(",") || "nothing"})`).toBe(true);
    expect(ms, `${label}: switch time after ${what}`).toBeLessThanOrEqual(limitMs);
    expect(topo.lab.ping("host", REMOTE4, { count: 3, waitS: 2 }), `${label}: the internet answers after ${what}`).toBe(true);
    // Every destination set is whole again once its link is back.
    for (const set of topo.plan.destinationSets.filter((d) => !down.includes(d.dev))) {
      const held = topo.lab.run("host", ["ip", "-o", `-${set.family}`, "route", "show", "table", String(set.table)]).trim().split("\n").filter(Boolean).length;
      expect(held, `${label}: after ${what}, table ${set.table} holds the ${set.count} pinned destinations of ${set.uplink}`).toBe(set.count);
    }
    // Pinned destinations of a cut uplink fall through to the others, and come back.
    for (const u of topo.model.uplinks.filter((u) => u.destinations.length > 0)) {
      for (const d of sample(u.destinations, 3)) {
        const dev = topo.lab.routeGet("host", [d.text.split("/")[0]])?.dev;
        const fallback = topo.model.uplinks.some((o) => !down.includes(o.interface) && o.addresses.some((a) => a.family === d.family));
        // through a live uplink of its family if there is one; never through the dead link
        const ok = down.includes(u.interface) ? dev !== u.interface && (dev !== undefined || !fallback) : dev === u.interface;
        expect(ok, `${label}: after ${what}, pinned ${d.text} of ${u.name} goes by ${dev ?? "nothing"}`).toBe(true);
      }
    }
    tally.switches.push(`${label}: ${what} -> ${[...want].join(",")} in ${ms} ms`);
  };
  for (const iface of order.slice(0, -1)) {
    down.push(iface);
    const wire = topo.wire.get(iface)!;
    await step(`cutting ${iface}`, () => topo.lab.run(wire.role, ["ip", "link", "set", wire.peer, "down"]));
  }
  while (down.length > 0) {
    const iface = down.pop()!;
    const wire = topo.wire.get(iface)!;
    await step(`restoring ${iface}`, () => topo.lab.run(wire.role, ["ip", "link", "set", wire.peer, "up"]));
  }
}

/** Each NAT uplink alone carries the LAN's traffic: cut every other uplink in turn. */
async function natThroughEachUplink(topo: Topology, label: string, afterRestore: () => Promise<void>): Promise<void> {
  const { model, lab } = topo;
  const lan = topo.lans.find((l) => l.generic);
  if (!lan) return;
  const natted = model.uplinks.filter((u) => u.nat !== "none" && u.addresses.some((a) => a.family === 4));
  if (natted.length < 2) return;
  for (const u of natted) {
    const others = [...new Set(model.uplinks.map((o) => o.interface))].filter((i) => i !== u.interface);
    for (const i of others) lab.run(topo.wire.get(i)!.role, ["ip", "link", "set", topo.wire.get(i)!.peer, "down"]);
    try {
      expect(await waitFor(() => sameSet(devicesInUse(topo), new Set([u.interface])), 5000, 20), `${label}: only ${u.name} left`).toBe(true);
      const isp = topo.ispOf.get(u.name)!;
      const before = lab.rxPackets("net", isp.netDev);
      // up to 3 tries: right after a carrier flap, proxy ARP may answer late
      const ok = lab.ping(lan.role, REMOTE4, { from: lan.generic, count: 3, waitS: 2 });
      const carried = lab.rxPackets("net", isp.netDev) - before;
      expect(ok && carried > 0, `${label}: LAN host ${lan.generic} reaches the internet through ${u.name} (${u.nat}); ${carried} packets from ${isp.role}`).toBe(true);
      tally.checks++;
    } finally {
      for (const i of others) lab.run(topo.wire.get(i)!.role, ["ip", "link", "set", topo.wire.get(i)!.peer, "up"]);
    }
    await afterRestore();
  }
}

/**
 * Real TCP flows spread over the uplinks by weight. 256 rather than 64: with
 * 64 a 4-sigma band could not tell weights 1:2 from 1:1.
 */
async function flowsByWeight(topo: Topology, root: string, label: string): Promise<void> {
  const { model } = topo;
  if (model.mode !== "balance") return;
  const n = 256;
  const { bySource, failed } = await countFlows(topo, root, REMOTE4, n);
  expect(failed, `${label}: flows that failed`).toBe(0);
  const members = model.uplinks.filter((u) => u.addresses.some((a) => a.family === 4));
  const total = members.reduce((s, u) => s + u.weight, 0);
  const report: string[] = [];
  for (const u of members) {
    const addr = u.addresses.find((a) => a.family === 4)!.address;
    const got = bySource.get(addr) ?? 0;
    const want = (n * u.weight) / total;
    report.push(`${u.name} (weight ${u.weight}) ${got}/${n}, expected ~${want.toFixed(1)}`);
    // within 4 standard deviations of a binomial share (a flake once in ~15,000 runs)
    const sd = Math.sqrt(n * (u.weight / total) * (1 - u.weight / total));
    expect(Math.abs(got - want), `${label}: flows through ${u.name}: ${report.join("; ")}`).toBeLessThanOrEqual(4 * sd);
  }
  expect([...bySource.values()].reduce((a, b) => a + b, 0)).toBe(n);
  tally.flows.push(`${label}: ${report.join("; ")}`);
  tally.checks += members.length;
}

/** Destination pins win over the balanced hash: every flow to a pinned address takes its uplink. */
function pinsWinOverHash(topo: Topology): Check[] {
  const out: Check[] = [];
  if (topo.model.mode !== "balance") return out;
  for (const u of topo.model.uplinks)
    for (const d of sample(u.destinations)) {
      const target = d.text.split("/")[0];
      const devs = new Set<string>();
      for (let sport = 41000; sport < 41032; sport++) devs.add(topo.lab.routeGet("host", [target, "ipproto", "tcp", "sport", String(sport), "dport", "53"])?.dev ?? "none");
      out.push({ what: `${u.name}: 32 flows to pinned ${target} all use ${u.interface}`, ok: sameSet(devs, new Set([u.interface])), detail: `used ${[...devs].join(",")}` });
    }
  return out;
}

describe.skipIf(!!unavailable)("fixtures on real stacks", () => {
  for (const scenario of scenarios()) {
    const modelPath = `fixtures/${scenario}/model.yaml`;
    const model = validateModel(loadModelFile(modelPath));
    const plan = buildPlan(model);
    const kernelFailover = model.options.linkdownFailover;

    it(`${scenario}: ifupdown`, async () => {
      const root = render(scenario, modelPath);
      try {
        await withHost(model, root, async (topo) => {
          const { lab } = topo;
          const ifupdown = new Ifupdown(topo, root);
          const up = ifupdown.up();
          expect(up.status, `ifup -a: ${up.stderr}`).toBe(0);
          expectRules(topo, plan);
          expectChecks([...behaviourChecks(topo), ...pinsWinOverHash(topo), ...explainChecks(topo, plan)]);
          await flowsByWeight(topo, root, `${scenario}/ifupdown`);
          const intended = lab.snapshot("host");

          // Idempotence: a second ifup, ten cycles, an ifup over leftovers.
          const again = ifupdown.up();
          expect(again.status, `second ifup -a: ${again.stderr}`).toBe(0);
          expect(lab.snapshot("host"), "state after a second ifup").toBe(intended);
          for (let i = 0; i < 10; i++) {
            const d = ifupdown.down();
            expect(d.status, `ifdown -a, cycle ${i + 1}: ${d.stderr}`).toBe(0);
            const u = ifupdown.up();
            expect(u.status, `ifup -a, cycle ${i + 1}: ${u.stderr}`).toBe(0);
          }
          expect(lab.snapshot("host"), "state after 10 ifdown/ifup cycles").toBe(intended);
          ifupdown.loseState();
          const unclean = ifupdown.up();
          expect(unclean.status, `ifup over leftovers: ${unclean.stderr}`).toBe(0);
          expect(lab.snapshot("host"), "state after ifup over leftovers").toBe(intended);

          // ifdown of one uplink interface: its rules go, every other rule stays.
          const last = model.uplinks[model.uplinks.length - 1];
          if (model.uplinks.some((u) => u.interface !== last.interface)) {
            const single = ifupdown.down([last.interface]);
            expect(single.status, `ifdown ${last.interface}: ${single.stderr}`).toBe(0);
            const gone = new Set(model.uplinks.filter((u) => u.interface === last.interface).map((u) => u.name));
            expectRules(topo, { ...plan, rules: plan.rules.filter((r) => !gone.has(r.uplink)) });
            expect(lab.run("host", ["ip", "route", "show", "table", "all", "dev", last.interface]).trim(), `routes through ${last.interface} after its ifdown`).toBe("");
            for (const u of model.uplinks.filter((u) => !gone.has(u.name)))
              for (const a of u.addresses) expect(lab.ping("net", a.address, { waitS: 2 }), `${a.address} still answers while ${last.interface} is down`).toBe(true);
            expect(ifupdown.up([last.interface]).status).toBe(0);
            expect(lab.snapshot("host"), `state after ifup ${last.interface}`).toBe(intended);
          }

          if (kernelFailover) {
            await failoverCascade(topo, `${scenario}/ifupdown (kernel linkdown)`, 1000);
            await natThroughEachUplink(topo, `${scenario}/ifupdown`, async () => {
              await waitFor(() => lab.snapshot("host") === intended, 3000, 50);
            });
            expect(lab.snapshot("host"), "state after the carrier came back").toBe(intended);
            expectChecks(behaviourChecks(topo));
          }

          const down = ifupdown.down();
          expect(down.status, `ifdown -a: ${down.stderr}`).toBe(0);
          for (const f of [4, 6] as Family[]) expect(kernelRules(topo, f), `IPv${f} rules left after ifdown -a`).toEqual([]);
          expect(lab.run("host", ["ip", "route", "show", "table", "all", "proto", "static"]).trim(), "static routes left after ifdown -a").toBe("");
        });
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });

    it(`${scenario}: systemd-networkd`, async () => {
      const root = render(scenario, modelPath);
      try {
        await withHost(model, root, async (topo) => {
          const { lab } = topo;
          const networkd = new Networkd(topo, root);
          networkd.start();
          const settled = await settle(topo, () => ready(topo, plan));
          expect(networkd.complaints(), "networkd log lines that skip or fail a setting").toEqual([]);
          expect(settled, `networkd settles with the planned rules\n${networkd.logText()}`).toBe(true);
          expect(networkd.units().length, "destination services").toBe(plan.destinationSets.filter((d) => !d.networkdInline).length);
          expect(networkd.runUnits("ExecStart"), "destination services start").toEqual([]);
          expectRules(topo, plan);
          expectChecks([...behaviourChecks(topo), ...pinsWinOverHash(topo), ...explainChecks(topo, plan)]);
          await flowsByWeight(topo, root, `${scenario}/networkd`);
          const intended = lab.snapshot("host");

          networkd.stop();
          for (const set of plan.destinationSets.filter((d) => !d.networkdInline))
            expect(lab.run("host", ["ip", `-${set.family}`, "route", "show", "table", String(set.table)]).trim(), `${set.unit} removed its set when stopped`).toBe("");
          networkd.start();
          expect(await settle(topo, () => ready(topo, plan)), "networkd settles again after a restart").toBe(true);
          expect(networkd.runUnits("ExecStart"), "destination services start again").toEqual([]);
          expect(lab.snapshot("host"), "state after a networkd restart").toBe(intended);

          const how = model.mode === "balance" ? "kernel linkdown" : "networkd carrier handling";
          await failoverCascade(topo, `${scenario}/networkd (${how})`, 1000);
          const restored = async () => {
            expect(await settle(topo, () => ready(topo, plan)), "networkd restores the rules and routes").toBe(true);
          };
          await restored();
          await natThroughEachUplink(topo, `${scenario}/networkd`, restored);
          expect(lab.snapshot("host"), "state after the carrier came back").toBe(intended);
          expectChecks(behaviourChecks(topo));
          expect(networkd.complaints(), "networkd log lines that skip or fail a setting").toEqual([]);
        });
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });

    // ifplugd is the failover mechanism only where the model turns the kernel's off.
    if (!kernelFailover && plan.ifplugd.interfaces.length > 0)
    it(`${scenario}: ifupdown + ifplugd`, async () => {
      const root = render(scenario, modelPath);
      try {
        await withHost(model, root, async (topo) => {
          const { lab } = topo;
          const ifupdown = new Ifupdown(topo, root);
          expect(ifupdown.up().status).toBe(0); // boot: networking brings up every auto interface
          const ifplugd = new Ifplugd(topo, root, ifupdown);
          expect(ifplugd.interfaces).toEqual(plan.ifplugd.interfaces);
          ifplugd.start();
          expect(await waitFor(() => ifplugd.actions().length >= ifplugd.interfaces.length, 5000, 50), `ifplugd runs its action for every interface at start\n${ifplugd.actions().join("\n")}`).toBe(true);
          expectRules(topo, plan);
          expectChecks(behaviourChecks(topo));
          const intended = lab.snapshot("host");

          // ifplugd's delay-down plus its 1 s poll bound the switch.
          const limit = (model.options.ifplugd.delayDown + 2) * 1000;
          await failoverCascade(topo, `${scenario}/ifplugd (-d${model.options.ifplugd.delayDown})`, limit);
          expect(await waitFor(() => lab.snapshot("host") === intended, 5000, 100), `state after ifplugd brought every link back\n${ifplugd.actions().join("\n")}`).toBe(true);
          expect(ifplugd.actions().filter((a) => a.endsWith(" down")).length, "ifplugd ran ifdown for each cut").toBeGreaterThan(0);
          expectChecks(behaviourChecks(topo));
          ifplugd.stop();
        });
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });
  }
});

describe.skipIf(!!unavailable)("sysctl keys for interface names with a dot", () => {
  it("net.ipv4.conf.eth0/2.* reaches the interface eth0.2", () => {
    const dir = mkdtempSync(join(tmpdir(), "gh-e2e-dot-"));
    const lab = new Lab();
    try {
      const model = join(dir, "m.yaml");
      writeFileSync(model, "version: 1\nuplinks:\n  - {name: a, interface: eth0.2, address: 198.51.100.2/24, gateway: 198.51.100.1}\n");
      const root = render("dot", model);
      lab.addNs("host");
      lab.addNs("peer");
      lab.veth("host", "eth0.2", "peer", "p0");
      lab.run("host", ["sysctl", "-q", "-p", join(root, "etc/sysctl.d/60-gen-hooks.conf")]);
      expect(lab.readFile("host", "/proc/sys/net/ipv4/conf/eth0.2/rp_filter")).toBe("2");
      expect(lab.readFile("host", "/proc/sys/net/ipv4/conf/eth0.2/ignore_routes_with_linkdown")).toBe("1");
      tally.checks += 2;
      rmSync(root, { recursive: true, force: true });
    } finally {
      lab.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
