// Every shipped scenario applied by real ifupdown and real systemd-networkd
// in network namespaces, then asked of the kernel and of real packets.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadModelFile } from "../../src/model/load.js";
import { validateModel } from "../../src/model/validate.js";
import { buildPlan } from "../../src/plan/plan.js";
import type { Plan } from "../../src/plan/types.js";
import type { Family } from "../../src/model/types.js";
import { runBin } from "../helpers/bin.js";
import { scenarios } from "../helpers/fixtures.js";
import { Lab, labUnavailable, waitFor } from "./lab.js";
import { buildTopology, REMOTE4, REMOTE6, type Topology } from "./topology.js";
import { applyKernelFiles, Ifupdown, Networkd, settle } from "./stacks.js";
import { behaviourChecks, kernelRules, preferredUplink, type Check } from "./checks.js";

const unavailable = labUnavailable();
if (unavailable && process.env.CI === "true") throw new Error(`real-stack tests cannot run under CI: ${unavailable}`);
if (unavailable) console.warn(`SKIPPING real-stack tests: ${unavailable}`);

const tally = { checks: 0, failovers: [] as string[] };
afterAll(() => {
  if (!unavailable) console.log(`real-stack seeds: ${tally.checks} kernel/packet checks passed; failover times: ${tally.failovers.join("; ")}`);
});

function render(scenario: string): string {
  const root = mkdtempSync(join(tmpdir(), `gh-e2e-${scenario}-`));
  const r = runBin(["--target", "all", "--model", `fixtures/${scenario}/model.yaml`, "--root", root]);
  if (r.status !== 0) throw new Error(r.stderr);
  return root;
}

function planRules(plan: Plan, family: Family): string[] {
  return plan.rules
    .filter((r) => r.family === family)
    .map((r) => `${r.priority}${r.from ? ` from ${r.from}` : ""}${r.fwmark ? ` fwmark ${r.fwmark}` : ""}${r.uidrange ? ` uidrange ${r.uidrange}` : ""} table ${r.table}`)
    .sort();
}

const rulesMatch = (topo: Topology, plan: Plan) => ([4, 6] as Family[]).every((f) => JSON.stringify(kernelRules(topo, f)) === JSON.stringify(planRules(plan, f)));

/** networkd is done: planned rules present, a default for every family, no address still in DAD. */
const ready = (topo: Topology, plan: Plan) =>
  rulesMatch(topo, plan) &&
  plan.families.every((f) => topo.lab.routeGet("host", [f === 4 ? REMOTE4 : REMOTE6]) !== undefined) &&
  topo.lab.run("host", ["ip", "-6", "addr", "show", "tentative"]).trim() === "";

function expectRules(topo: Topology, plan: Plan): void {
  for (const f of [4, 6] as Family[]) expect(kernelRules(topo, f), `IPv${f} rules in the kernel`).toEqual(planRules(plan, f));
}

function expectChecks(checks: Check[]): void {
  const failed = checks.filter((c) => !c.ok);
  expect(failed.map((c) => `${c.what}: ${c.detail}`), "failed checks").toEqual([]);
  tally.checks += checks.length;
}

/** Cut the preferred uplink's carrier; traffic must move, then come back. */
async function failoverRoundTrip(topo: Topology, stack: string, scenario: string): Promise<void> {
  const { lab, model } = topo;
  const preferred = preferredUplink(topo, 4)!;
  const wire = topo.wire.get(preferred.interface)!;
  const next = preferredUplink(topo, 4, [preferred.interface]);
  if (!next) return;
  const members = model.uplinks.filter((u) => u.interface !== preferred.interface).map((u) => u.interface);
  const movedAway = () => {
    if (model.mode === "failover") return lab.routeGet("host", [REMOTE4])?.dev === next.interface;
    for (let sport = 40000; sport < 40032; sport++) {
      const dev = lab.routeGet("host", [REMOTE4, "ipproto", "tcp", "sport", String(sport), "dport", "443"])?.dev;
      if (!dev || !members.includes(dev)) return false;
    }
    return true;
  };
  const t0 = Date.now();
  lab.run(wire.role, ["ip", "link", "set", wire.peer, "down"]);
  const moved = await waitFor(movedAway, 5000, 20);
  const away = Date.now() - t0;
  expect(moved, `after cutting ${preferred.interface}, traffic moves to ${model.mode === "failover" ? next.interface : members.join(",")}`).toBe(true);
  expect(lab.ping("host", REMOTE4, { waitS: 2 }), "the internet is reachable through the next uplink").toBe(true);
  const t1 = Date.now();
  lab.run(wire.role, ["ip", "link", "set", wire.peer, "up"]);
  const back = await waitFor(() => (model.mode === "failover" ? lab.routeGet("host", [REMOTE4])?.dev === preferred.interface : !movedAway()), 10000, 20);
  const returned = Date.now() - t1;
  expect(back, `after restoring ${preferred.interface}, traffic returns`).toBe(true);
  tally.failovers.push(`${scenario}/${stack} away ${away} ms, back ${returned} ms`);
}

describe.skipIf(!!unavailable)("seed scenarios on real stacks", () => {
  for (const scenario of scenarios()) {
    const model = validateModel(loadModelFile(`fixtures/${scenario}/model.yaml`));
    const plan = buildPlan(model);

    it(`${scenario}: ifupdown`, async () => {
      const root = render(scenario);
      const lab = new Lab();
      try {
        const topo = buildTopology(lab, model);
        applyKernelFiles(topo, root);
        const ifupdown = new Ifupdown(topo, root);
        const up = ifupdown.up();
        expect(up.status, `ifup -a: ${up.stderr}`).toBe(0);
        expectRules(topo, plan);
        expectChecks(behaviourChecks(topo));
        const intended = lab.snapshot("host");

        // Idempotence: a second ifup, cycles, an ifup over leftovers.
        const again = ifupdown.up();
        expect(again.status, `second ifup -a: ${again.stderr}`).toBe(0);
        expect(lab.snapshot("host"), "state after a second ifup").toBe(intended);
        for (let i = 0; i < 3; i++) {
          expect(ifupdown.down().status).toBe(0);
          expect(ifupdown.up().status).toBe(0);
        }
        expect(lab.snapshot("host"), "state after ifdown/ifup cycles").toBe(intended);
        ifupdown.loseState();
        const unclean = ifupdown.up();
        expect(unclean.status, `ifup over leftovers: ${unclean.stderr}`).toBe(0);
        expect(lab.snapshot("host"), "state after ifup over leftovers").toBe(intended);

        // ifdown of one uplink interface: its rules go, every other rule stays; ifup restores all.
        const last = model.uplinks[model.uplinks.length - 1];
        if (model.uplinks.some((u) => u.interface !== last.interface)) {
          const single = ifupdown.down([last.interface]);
          expect(single.status, `ifdown ${last.interface}: ${single.stderr}`).toBe(0);
          const gone = new Set(model.uplinks.filter((u) => u.interface === last.interface).map((u) => u.name));
          const remaining = { ...plan, rules: plan.rules.filter((r) => !gone.has(r.uplink)) };
          expectRules(topo, remaining);
          expect(lab.run("host", ["ip", "route", "show", "table", "all", "dev", last.interface]).trim(), `routes through ${last.interface} after its ifdown`).toBe("");
          const others = model.uplinks.filter((u) => !gone.has(u.name));
          for (const u of others)
            for (const a of u.addresses) expect(lab.ping("net", a.address, { waitS: 2 }), `${a.address} still answers while ${last.interface} is down`).toBe(true);
          expect(ifupdown.up([last.interface]).status).toBe(0);
          expect(lab.snapshot("host"), `state after ifup ${last.interface}`).toBe(intended);
        }

        await failoverRoundTrip(topo, "ifupdown", scenario);
        expectChecks(behaviourChecks(topo));

        const down = ifupdown.down();
        expect(down.status, `ifdown -a: ${down.stderr}`).toBe(0);
        for (const f of [4, 6] as Family[]) expect(kernelRules(topo, f), `IPv${f} rules left after ifdown -a`).toEqual([]);
        expect(lab.run("host", ["ip", "route", "show", "table", "all", "proto", "static"]).trim(), "static routes left after ifdown -a").toBe("");
      } finally {
        lab.destroy();
        rmSync(root, { recursive: true, force: true });
      }
    });

    it(`${scenario}: systemd-networkd`, async () => {
      const root = render(scenario);
      const lab = new Lab();
      try {
        const topo = buildTopology(lab, model);
        applyKernelFiles(topo, root);
        const networkd = new Networkd(topo, root);
        networkd.start();
        const settled = await settle(topo, () => ready(topo, plan));
        expect(networkd.complaints(), "networkd log lines that skip or fail a setting").toEqual([]);
        expect(settled, `networkd settles with the planned rules\n${networkd.logText()}`).toBe(true);
        expectRules(topo, plan);
        expectChecks(behaviourChecks(topo));
        const intended = lab.snapshot("host");

        networkd.stop();
        networkd.start();
        expect(await settle(topo, () => ready(topo, plan)), "networkd settles again after a restart").toBe(true);
        expect(lab.snapshot("host"), "state after a networkd restart").toBe(intended);

        await failoverRoundTrip(topo, "networkd", scenario);
        expect(await settle(topo, () => ready(topo, plan)), "networkd restores the rules and routes").toBe(true);
        expectChecks(behaviourChecks(topo));
        expect(networkd.complaints(), "networkd log lines that skip or fail a setting").toEqual([]);
      } finally {
        lab.destroy();
        rmSync(root, { recursive: true, force: true });
      }
    });
  }
});

describe.skipIf(!!unavailable)("sysctl keys for interface names with a dot", () => {
  it("net.ipv4.conf.eth0/2.* reaches the interface eth0.2", () => {
    const root = mkdtempSync(join(tmpdir(), "gh-e2e-dot-"));
    const lab = new Lab();
    try {
      const model = join(root, "m.yaml");
      writeFileSync(model, "version: 1\nuplinks:\n  - {name: a, interface: eth0.2, address: 198.51.100.2/24, gateway: 198.51.100.1}\n");
      const r = runBin(["--target", "all", "--model", model, "--root", root]);
      expect(r.status).toBe(0);
      lab.addNs("host");
      lab.addNs("peer");
      lab.veth("host", "eth0.2", "peer", "p0");
      lab.run("host", ["sysctl", "-q", "-p", join(root, "etc/sysctl.d/60-gen-hooks.conf")]);
      expect(lab.run("host", ["cat", "/proc/sys/net/ipv4/conf/eth0.2/rp_filter"]).trim()).toBe("2");
      expect(lab.run("host", ["cat", "/proc/sys/net/ipv4/conf/eth0.2/ignore_routes_with_linkdown"]).trim()).toBe("1");
      tally.checks += 2;
    } finally {
      lab.destroy();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
