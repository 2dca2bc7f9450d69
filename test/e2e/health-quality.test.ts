// Beyond dead or alive, with the real prober: lsm (foolsm on Debian 13) run
// as gen-hooks-health.service runs it, on ifupdown in the host-process lab.
// fixtures/health-failover with fibre given loss thresholds (20 %/5 %) and
// cable a hold of 10 s: a provider that loses 30 % of packets is taken out
// and kept out, 10 % changes nothing, and a provider flapping (dead 2 s,
// alive 2 s, ten times) moves traffic once each way.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseModelText } from "../../src/model/load.js";
import { validateModel } from "../../src/model/validate.js";
import { buildPlan } from "../../src/plan/plan.js";
import { installed, labUnavailable, sleep, waitFor } from "./lab.js";
import { Ifupdown, killSwitch, withHost } from "./stacks.js";
import { expectRules, render, tally } from "./proofs.js";
import { dropAt, killUpstream, Prober, reviveUpstream } from "./health-lab.js";

const unavailable = labUnavailable();
const prober = installed("lsm") || installed("foolsm");
const missing = unavailable ?? (!prober ? "neither lsm nor foolsm is installed" : !installed("conntrack") ? "conntrack is not installed" : undefined);
if (missing && process.env.CI === "true") throw new Error(`health quality tests cannot run under CI: ${missing}`);
if (missing) console.warn(`SKIPPING health quality tests: ${missing}`);

const text = readFileSync("fixtures/health-failover/model.yaml", "utf8")
  .replace("      targets: [198.18.0.1, 198.18.1.1]\n", "      targets: [198.18.0.1, 198.18.1.1]\n      loss-down: 20\n      loss-up: 5\n")
  .replace("      up: 4\n", "      up: 4\n      hold: 10\n");
const model = validateModel(parseModelText(text, "health-quality.yaml"));
const plan = buildPlan(model);
const fibre = model.uplinks.find((u) => u.name === "fibre")!;
const cable = model.uplinks.find((u) => u.name === "cable")!;

describe.skipIf(!!missing)("health checks beyond dead or alive (lsm, host-process lab)", () => {
  it("the model under test: fibre 20 %/5 %, cable hold 10 s", () => {
    expect([fibre.check!.lossDown, fibre.check!.lossUp, cable.check!.hold]).toEqual([20, 5, 10]);
  });

  it("ifupdown: loss thresholds and hold-down", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gh-e2e-quality-"));
    writeFileSync(join(dir, "model.yaml"), text);
    const root = render("health-quality", join(dir, "model.yaml"), "ifupdown");
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
          const of = (u: string) => lsm.events().filter((e) => e.startsWith(`${u} `));

          // cable flaps: dead 2 s, alive 2 s, ten times; hold 10 s
          let lastBack = 0;
          for (let i = 0; i < 10; i++) {
            killUpstream(topo, cable);
            await sleep(2000);
            reviveUpstream(topo, cable);
            lastBack = Date.now();
            await sleep(2000);
          }
          expect(await waitFor(() => of("cable").length >= 2, 20_000, 100), `cable back after flapping: ${lsm.events().join("; ")}\n${lsm.log()}`).toBe(true);
          const upAfterMs = Date.now() - lastBack;
          await sleep(1000);
          expect(of("cable"), "ten flaps with hold 10: one change each way").toEqual(["cable down eth2", "cable up eth2"]);
          expect(upAfterMs, "cable back no sooner than its hold after the last return").toBeGreaterThanOrEqual(10_000);
          tally.switches.push(`quality: cable dead 2 s / alive 2 s ten times, hold 10 s: ${of("cable").length} changes; up ${upAfterMs} ms after the last return`);
          lsm.clearEvents();

          // fibre's provider loses 30 %: out at 20 %, and out while it lasts
          const t0 = Date.now();
          let undo = dropAt(topo, fibre.check!.targets, 30);
          expect(await waitFor(() => of("fibre").length > 0, 60_000, 100), `fibre out at 30 % loss: ${lsm.events().join("; ")}\n${lsm.log()}`).toBe(true);
          const outMs = Date.now() - t0;
          expect(of("fibre")).toEqual(["fibre down eth1"]);
          await sleep(30_000);
          undo();
          expect(of("fibre"), "30 % loss for 30 s more: fibre stays out").toEqual(["fibre down eth1"]);
          // the loss over the window falls to 5 %, then the hold (3 s)
          const t1 = Date.now();
          expect(await waitFor(() => of("fibre").length > 1, 60_000, 100), `fibre back once the loss ends: ${lsm.events().join("; ")}\n${lsm.log()}`).toBe(true);
          const backMs = Date.now() - t1;
          expect(of("fibre")).toEqual(["fibre down eth1", "fibre up eth1"]);
          tally.switches.push(`quality: fibre at 30 % loss (20 %/5 %): out in ${outMs} ms, stayed out 30 s; back ${backMs} ms after the loss ended`);
          lsm.clearEvents();

          // 10 % loss on fibre for 60 s with 20 %/5 %: nothing changes
          undo = dropAt(topo, fibre.check!.targets, 10);
          await sleep(60_000);
          undo();
          expect(lsm.events(), "10 % loss for 60 s with 20 %/5 %: no change").toEqual([]);
          tally.switches.push(`quality: fibre at 10 % loss for 60 s (20 %/5 %): ${lsm.events().length} changes`);
          console.log(tally.switches.filter((l) => l.startsWith("quality: ")).join("\n"));
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
