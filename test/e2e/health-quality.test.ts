// Beyond dead or alive, with the real prober: lsm (foolsm on Debian 13) run
// as gen-hooks-health.service runs it, on ifupdown in the host-process lab.
// qualityProof and backupProof (health.ts) on fixtures/health-quality: fibre
// with loss thresholds (20 %/5 %), cable with a hold of 10 s, LTE a backup
// that keeps its connections. The booted lab runs the same proofs on each
// release and stack (bootSuite's "quality" part).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadModelFile } from "../../src/model/load.js";
import { validateModel } from "../../src/model/validate.js";
import { buildPlan } from "../../src/plan/plan.js";
import { installed, labUnavailable, sleep } from "./lab.js";
import { Ifupdown, killSwitch, withHost } from "./stacks.js";
import { expectRules, render, tally } from "./proofs.js";
import { Prober } from "./health-lab.js";
import { backupProof, HEALTH_LIMITS, qualityProof } from "./health.js";

const unavailable = labUnavailable();
const prober = installed("lsm") || installed("foolsm");
const missing = unavailable ?? (!prober ? "neither lsm nor foolsm is installed" : !installed("conntrack") ? "conntrack is not installed" : undefined);
if (missing && process.env.CI === "true") throw new Error(`health quality tests cannot run under CI: ${missing}`);
if (missing) console.warn(`SKIPPING health quality tests: ${missing}`);

const modelPath = "fixtures/health-quality/model.yaml";
const model = validateModel(loadModelFile(modelPath));
const plan = buildPlan(model);
const fibre = model.uplinks.find((u) => u.name === "fibre")!;
const cable = model.uplinks.find((u) => u.name === "cable")!;
const lte = model.uplinks.find((u) => u.name === "lte")!;

describe.skipIf(!!missing)("health checks beyond dead or alive (lsm, host-process lab)", () => {
  it("the model under test: fibre 20 %/5 %, cable hold 10 s, lte a backup that keeps its connections", () => {
    expect([fibre.check!.lossDown, fibre.check!.lossUp, cable.check!.hold, lte.backup, lte.failback]).toEqual([20, 5, 10, true, "keep"]);
  });

  it("ifupdown: loss thresholds, hold-down, a backup that keeps its connections", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gh-e2e-quality-"));
    const root = render("health-quality", modelPath, "ifupdown");
    try {
      await withHost(model, root, async (topo) => {
        killSwitch(topo, root, "on");
        const up = new Ifupdown(topo, root).up();
        expect(up.status, `ifup -a: ${up.stderr}`).toBe(0);
        expectRules(topo, plan);
        const lsm = new Prober(topo, root);
        lsm.start();
        try {
          await sleep(2000);
          expect(lsm.running(), `lsm runs: ${lsm.execStart()}`).toBe(true);
          expect(lsm.events(), "no uplink down at the start").toEqual([]);
          await qualityProof(topo, lsm, "health-quality/ifupdown/host-process lab");
          await backupProof(topo, lsm, "health-quality/ifupdown/host-process lab", HEALTH_LIMITS, dir);
          console.log(tally.switches.filter((l) => l.includes(": quality: ")).join("\n"));
        } finally {
          lsm.stop();
        }
      });
    } finally {
      rmSync(root, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  }, 400_000);
});
