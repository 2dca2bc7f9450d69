// Health checks on the real stacks in network namespaces: lsm started as
// gen-hooks-health.service starts it, ISPs whose upstream dies behind a live
// link, probes lost at random. Leased uplinks' checks are proven under the
// real init (boot-suite.ts), where their hooks run.
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { loadModelFile } from "../../src/model/load.js";
import { validateModel } from "../../src/model/validate.js";
import { buildPlan } from "../../src/plan/plan.js";
import { scenarios } from "../helpers/fixtures.js";
import { installed, labUnavailable, sleep } from "./lab.js";
import { Ifupdown, killSwitch, Networkd, settle } from "./stacks.js";
import { withHost } from "./stacks.js";
import { hasLeases } from "./leases.js";
import { expectRules, planRules, ready, render, tally } from "./proofs.js";
import { kernelRules } from "./checks.js";
import type { Plan } from "../../src/plan/types.js";
import { backupProof, deadProviderProof, health, HEALTH_LIMITS, steadyUnderLossProof } from "./health.js";
import { Prober } from "./health-lab.js";
import type { Topology } from "./topology.js";

const unavailable = labUnavailable();
const prober = installed("lsm") || installed("foolsm");
const conntrack = installed("conntrack");
const missing = unavailable ?? (!prober ? "neither lsm nor foolsm is installed" : !conntrack ? "conntrack is not installed" : undefined);
if (missing && process.env.CI === "true") throw new Error(`health-check tests cannot run under CI: ${missing}`);
if (missing) console.warn(`SKIPPING health-check tests: ${missing}`);

/** 10 % probe loss for a short spell: the full minute is health-quality's (qualityProof, in both labs). */
const LOSS_S = 10;

afterAll(() => {
  if (missing) return;
  console.log(`health checks (provider dead -> traffic moved; back -> traffic back):\n  ${health.map((h) => `${h.label} ${h.uplink}: ${h.downMs} ms / ${h.upMs} ms`).join("\n  ")}`);
  console.log(`backups:\n  ${tally.switches.filter((s) => s.includes("(backup)")).join("\n  ")}`);
});

/** Every planned rule is in the kernel (the health checks' own may be there too). */
const plannedRulesIn = (topo: Topology, plan: Plan) => ([4, 6] as const).every((f) => planRules(plan, f).every((r) => kernelRules(topo, f).includes(r)));

// One fixture here: every checked fixture is proven under the real init as
// well (boot-suite.ts); this lab is the quick way to the same proofs.
const checked = scenarios().filter((s) => {
  const model = validateModel(loadModelFile(`fixtures/${s}/model.yaml`));
  return model.uplinks.some((u) => u.check) && !hasLeases(model);
}).slice(0, 1);

describe.skipIf(!!missing)("health checks on real stacks", () => {
  checked.forEach((scenario) => {
    const modelPath = `fixtures/${scenario}/model.yaml`;
    const model = validateModel(loadModelFile(modelPath));
    const plan = buildPlan(model);

    const proof = async (topo: Topology, root: string, label: string, lossS: number, whileDown: () => Promise<void>) => {
      const lsm = new Prober(topo, root);
      lsm.start();
      // lsm reports every group up first (nothing to do: no uplink is down yet)
      await sleep(2000);
      expect(lsm.running(), `lsm runs: ${lsm.execStart()}`).toBe(true);
      expect(lsm.events(), `${label}: no uplink down at the start`).toEqual([]);
      await deadProviderProof(topo, lsm, label, HEALTH_LIMITS, whileDown, root);
      await backupProof(topo, lsm, label, HEALTH_LIMITS, root);
      await steadyUnderLossProof(topo, lsm, label, lossS);
      lsm.stop();
      expectRules(topo, plan);
    };

    it(`${scenario}: ifupdown`, async () => {
      const root = render(scenario, modelPath, "ifupdown");
      try {
        await withHost(model, root, async (topo) => {
          killSwitch(topo, root, "on");
          const ifupdown = new Ifupdown(topo, root);
          const up = ifupdown.up();
          expect(up.status, `ifup -a: ${up.stderr}`).toBe(0);
          expectRules(topo, plan);
          // ifup of every interface again while an uplink is down must not bring it back
          await proof(topo, root, `${scenario}/ifupdown`, LOSS_S, async () => {
            expect(ifupdown.up().status).toBe(0);
          });
        });
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    }, 180_000);

    it(`${scenario}: systemd-networkd`, async () => {
      const root = render(scenario, modelPath, "networkd");
      try {
        await withHost(model, root, async (topo) => {
          killSwitch(topo, root, "on");
          const networkd = new Networkd(topo, root);
          networkd.start();
          expect(await settle(topo, () => ready(topo, plan)), `networkd settles\n${networkd.logText()}`).toBe(true);
          // a networkd restart while an uplink is down must not bring it back
          await proof(topo, root, `${scenario}/networkd`, LOSS_S, async () => {
            networkd.stop();
            networkd.start();
            expect(await settle(topo, () => plannedRulesIn(topo, plan)), "networkd settles after a restart").toBe(true);
          });
          expect(networkd.complaints(), "networkd log lines that skip or fail a setting").toEqual([]);
          networkd.stop();
        });
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    }, 180_000);
  });
});
