// Every shipped fixture applied by the real stacks in network namespaces, in
// two files that run side by side (stacks-1 and stacks-2.test.ts):
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
import type { Family } from "../../src/model/types.js";
import { scenarios } from "../helpers/fixtures.js";
import { installed, Lab, labUnavailable, readText, sleep, waitFor } from "./lab.js";
import { Ifplugd, Ifupdown, killSwitch, Networkd, settle, withHost } from "./stacks.js";
import type { Topology } from "./topology.js";
import type { Plan } from "../../src/plan/types.js";
import { behaviourChecks, explainChecks, kernelRules, passThroughChecks } from "./checks.js";
import { hasLeases } from "./leases.js";
import { CARRIER_SWITCH_MS, expectChecks, expectRules, failoverCascade, flowsByWeight, natThroughEachUplink, pinsWinOverHash, ready, render, statusProof, tally } from "./proofs.js";

/**
 * A fixture's proof on one stack: up, checks, ten cycles, an ifup over
 * leftovers, the carrier cascade. Up to 101 s measured when six lab files
 * run side by side on 2 cores; 124 s once, past vitest's 120 s default.
 */
const FIXTURE_TIMEOUT_MS = 300_000;

/** The status proof, the planned state after it, the balanced flows: the state to come back to. */
async function steadyState(topo: Topology, plan: Plan, modelPath: string, root: string, label: string): Promise<string> {
  await statusProof(topo, modelPath, label);
  expect(await settle(topo, () => ready(topo, plan), 15_000), `${label}: the planned state after the status proof`).toBe(true);
  await flowsByWeight(topo, root, label);
  return topo.lab.snapshot("host");
}

/** The host-process lab's suite, its fixtures dealt out to shard.of files. */
export function stacksSuite(shard: { index: number; of: number }): void {
  const unavailable = labUnavailable();
  const ifplugdInstalled = installed("ifplugd");
  if (!unavailable && !ifplugdInstalled) console.warn("SKIPPING the host-process ifplugd tests: ifplugd is not installed (Debian 13 has none)");
  if (unavailable && process.env.CI === "true") throw new Error(`real-stack tests cannot run under CI: ${unavailable}`);
  if (unavailable) console.warn(`SKIPPING real-stack tests: ${unavailable}`);

  afterAll(() => {
    if (unavailable) return;
    console.log(`real-stack: ${tally.checks} kernel/packet checks passed`);
    console.log(`switch times (carrier cut or restored -> traffic on the expected uplink):\n  ${tally.switches.join("\n  ")}`);
    if (tally.flows.length) console.log(`balanced flows:\n  ${tally.flows.join("\n  ")}`);
  });


  describe.skipIf(!!unavailable)(`fixtures on real stacks, part ${shard.index + 1} of ${shard.of}`, () => {
    // the fixtures dealt out to the files, which run side by side: those the
    // host-process lab runs in turn (leased ones are proven under the real init)
    const runnable = scenarios().filter((s) => !hasLeases(validateModel(loadModelFile(`fixtures/${s}/model.yaml`))));
    const mine = (s: string) => (runnable.includes(s) ? runnable.indexOf(s) % shard.of === shard.index : shard.index === 0);
    for (const scenario of scenarios().filter(mine)) {
      const modelPath = `fixtures/${scenario}/model.yaml`;
      const model = validateModel(loadModelFile(modelPath));
      const plan = buildPlan(model);
      const kernelFailover = model.options.linkdownFailover;
      // A leased uplink needs its DHCP client's hooks and pppd's scripts where
      // the stack expects them: proven under the real init (boot-suite.ts).
      const leased = hasLeases(model);

      it.skipIf(leased)(`${scenario}: ifupdown`, async () => {
        const root = render(scenario, modelPath);
        try {
          await withHost(model, root, async (topo) => {
            const { lab } = topo;
            killSwitch(topo, root, "on"); // gen-hooks-killswitch.service, before any stack
            const ifupdown = new Ifupdown(topo, root);
            const up = ifupdown.up();
            expect(up.status, `ifup -a: ${up.stderr}`).toBe(0);
            expectRules(topo, plan);
            expectChecks([...behaviourChecks(topo), ...pinsWinOverHash(topo), ...explainChecks(topo, plan), ...passThroughChecks(topo, "ifupdown")]);
            const intended = await steadyState(topo, plan, modelPath, root, `${scenario}/ifupdown`);

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
            // every hook runs again over what is there: nothing is taken away, not for a moment
            ifupdown.loseState();
            const log = join(root, "monitor.log");
            const monitor = lab.spawn("host", ["ip", "monitor", "address", "route", "rule"], log);
            await sleep(300);
            const unclean = ifupdown.up();
            await sleep(300);
            lab.stop(monitor);
            expect(unclean.status, `ifup over leftovers: ${unclean.stderr}`).toBe(0);
            expect(readText(log).split("\n").filter((l) => l.startsWith("Deleted")), "what an ifup over leftovers took away").toEqual([]);
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
              await failoverCascade(topo, `${scenario}/ifupdown (kernel linkdown)`, CARRIER_SWITCH_MS);
              await natThroughEachUplink(topo, `${scenario}/ifupdown`, async () => {
                await waitFor(() => lab.snapshot("host") === intended, 3000, 50);
              });
              expect(lab.snapshot("host"), "state after the carrier came back").toBe(intended);
              expectChecks(behaviourChecks(topo));
            }

            const down = ifupdown.down();
            expect(down.status, `ifdown -a: ${down.stderr}`).toBe(0);
            killSwitch(topo, root, "off"); // stopped after the stack
            for (const f of [4, 6] as Family[]) expect(kernelRules(topo, f), `IPv${f} rules left after ifdown -a`).toEqual([]);
            expect(lab.run("host", ["ip", "route", "show", "table", "all", "proto", "static"]).trim(), "static routes left after ifdown -a").toBe("");
          });
        } finally {
          rmSync(root, { recursive: true, force: true });
        }
      }, FIXTURE_TIMEOUT_MS);

      it.skipIf(leased)(`${scenario}: systemd-networkd`, async () => {
        const root = render(scenario, modelPath);
        try {
          await withHost(model, root, async (topo) => {
            const { lab } = topo;
            killSwitch(topo, root, "on");
            const networkd = new Networkd(topo, root);
            networkd.start();
            const settled = await settle(topo, () => ready(topo, plan));
            expect(networkd.complaints(), "networkd log lines that skip or fail a setting").toEqual([]);
            expect(settled, `networkd settles with the planned rules\n${networkd.logText()}`).toBe(true);
            expect(networkd.units().length, "destination services").toBe(plan.destinationSets.filter((d) => !d.networkdInline).length);
            expect(networkd.runUnits("ExecStart"), "destination services start").toEqual([]);
            expectRules(topo, plan);
            expectChecks([...behaviourChecks(topo), ...pinsWinOverHash(topo), ...explainChecks(topo, plan), ...passThroughChecks(topo, "networkd")]);
            const intended = await steadyState(topo, plan, modelPath, root, `${scenario}/networkd`);

            networkd.stop();
            for (const set of plan.destinationSets.filter((d) => !d.networkdInline))
              expect(lab.run("host", ["ip", `-${set.family}`, "route", "show", "table", String(set.table)]).trim(), `${set.unit} removed its set when stopped`).toBe("");
            networkd.start();
            expect(await settle(topo, () => ready(topo, plan)), "networkd settles again after a restart").toBe(true);
            expect(networkd.runUnits("ExecStart"), "destination services start again").toEqual([]);
            expect(lab.snapshot("host"), "state after a networkd restart").toBe(intended);

            const how = model.mode === "balance" ? "kernel linkdown" : "networkd carrier handling";
            await failoverCascade(topo, `${scenario}/networkd (${how})`, CARRIER_SWITCH_MS);
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
      }, FIXTURE_TIMEOUT_MS);

      // ifplugd is the failover mechanism only where the model turns the kernel's off;
      // on a Debian 13 machine there is no ifplugd (the booted lab's Debian 12 root has it).
      if (!kernelFailover && plan.ifplugd && plan.ifplugd.interfaces.length > 0 && ifplugdInstalled)
      it(`${scenario}: ifupdown + ifplugd`, async () => {
        const root = render(scenario, modelPath);
        try {
          await withHost(model, root, async (topo) => {
            const { lab } = topo;
            killSwitch(topo, root, "on");
            const ifupdown = new Ifupdown(topo, root);
            expect(ifupdown.up().status).toBe(0); // boot: networking brings up every auto interface
            const ifplugd = new Ifplugd(topo, root, ifupdown);
            expect(ifplugd.interfaces).toEqual(plan.ifplugd!.interfaces);
            ifplugd.start();
            expect(await waitFor(() => ifplugd.actions().length >= ifplugd.interfaces.length, 5000, 50), `ifplugd runs its action for every interface at start\n${ifplugd.actions().join("\n")}`).toBe(true);
            expectRules(topo, plan);
            expectChecks(behaviourChecks(topo));
            const intended = lab.snapshot("host");

            // ifplugd's delay-down plus its 1 s poll bound the switch.
            const limit = (model.options.ifplugd!.delayDown + 2) * 1000;
            await failoverCascade(topo, `${scenario}/ifplugd (-d${model.options.ifplugd!.delayDown})`, limit);
            expect(await waitFor(() => lab.snapshot("host") === intended, 5000, 100), `state after ifplugd brought every link back\n${ifplugd.actions().join("\n")}`).toBe(true);
            expect(ifplugd.actions().filter((a) => a.endsWith(" down")).length, "ifplugd ran ifdown for each cut").toBeGreaterThan(0);
            expectChecks(behaviourChecks(topo));
            ifplugd.stop();
          });
        } finally {
          rmSync(root, { recursive: true, force: true });
        }
      }, FIXTURE_TIMEOUT_MS);
    }
  });

  describe.skipIf(!!unavailable || shard.index !== 0)("a VLAN uplink on networkd", () => {
    // This kernel has no 8021q driver: networkd cannot create eth0.2, but it
    // must read the .netdev and the parent's VLAN= without skipping a line.
    it("networkd reads the .netdev and the parent's VLAN= line, and asks the kernel for VLAN 2 on eth0", async () => {
      const root = render("vlan", "fixtures/vlan-seed004/model.yaml", "networkd");
      const lab = new Lab();
      try {
        lab.addNs("host");
        lab.addNs("peer");
        lab.veth("host", "eth0", "peer", "p0");
        lab.run("host", ["ip", "link", "set", "lo", "up"]);
        const networkd = new Networkd({ lab } as Topology, root);
        networkd.start();
        // networkd creates the netdevs a link's VLAN= names once the link is up:
        // with the .netdev loaded, it asks the kernel, which refuses here
        const refused = /^eth0: Could not create stacked netdev: Unknown device type\. Operation not supported$/m;
        const asked = await waitFor(() => refused.test(networkd.logText()), 15_000, 100);
        networkd.stop();
        const log = networkd.logText();
        expect(asked, `networkd's log:\n${log}`).toBe(true);
        // nothing else: no line skipped, no other failure (eth0 then fails, as it must)
        const complaints = networkd.complaints().filter((l) => !refused.test(l) && l !== "eth0: Failed");
        expect(complaints, `networkd's log:\n${log}`).toEqual([]);
        tally.checks += 2;
      } finally {
        lab.destroy();
        rmSync(root, { recursive: true, force: true });
      }
    });
  });

  describe.skipIf(!!unavailable || shard.index !== 0)("sysctl keys for interface names with a dot", () => {
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
}
