// The rendered ifupdown drop-in under the other ifupdown implementations
// (ifupdown2, ifupdown-ng; see ifupdowns.ts): every fixture with static
// addresses comes up as planned, a repeated up (and ifupdown2's reload)
// takes nothing away, not for a moment (ip monitor sees no deletion),
// ifupdown2's ifquery -a -c finds every stanza as declared, and down leaves
// no rule or route of the plan.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadModelFile } from "../../src/model/load.js";
import { validateModel } from "../../src/model/validate.js";
import { buildPlan } from "../../src/plan/plan.js";
import type { Family } from "../../src/model/types.js";
import { scenarios } from "../helpers/fixtures.js";
import { labUnavailable, readText, sleep } from "./lab.js";
import { killSwitch, settle, withHost } from "./stacks.js";
import { behaviourChecks, kernelRules } from "./checks.js";
import { hasLeases } from "./leases.js";
import { needsVlan } from "./topology.js";
import { expectChecks, expectRules, ready, render } from "./proofs.js";
import { ALT_IFUPDOWNS, AltIfupdown, altPackages } from "./ifupdowns.js";

const lab = labUnavailable();
const packages = lab ? undefined : altPackages();
const unavailable = lab ?? (packages && "unavailable" in packages ? packages.unavailable : undefined);
if (unavailable && process.env.CI === "true") throw new Error(`ifupdown2 and ifupdown-ng tests cannot run under CI: ${unavailable}`);
if (unavailable) console.warn(`SKIPPING the ifupdown2 and ifupdown-ng tests: ${unavailable}`);
const dirs = packages && "dirs" in packages ? packages.dirs : undefined;

describe.skipIf(!!unavailable)("the ifupdown drop-in under ifupdown2 and ifupdown-ng", () => {
  for (const scenario of scenarios()) {
    const modelPath = `fixtures/${scenario}/model.yaml`;
    const model = validateModel(loadModelFile(modelPath));
    // leased uplinks take their DHCP client's and pppd's hooks (Debian's ifupdown, proven booted); no 8021q driver here
    if (hasLeases(model) || needsVlan(model)) continue;
    const plan = buildPlan(model);
    for (const impl of ALT_IFUPDOWNS) {
      it(`${scenario}: ${impl}`, async () => {
        const root = render(`${scenario}-${impl}`, modelPath, "ifupdown");
        try {
          await withHost(model, root, async (topo) => {
            const { lab } = topo;
            killSwitch(topo, root, "on");
            const alt = new AltIfupdown(topo, root, impl, dirs![impl]);
            const up = alt.up();
            expect(up.status, `${impl} ifup -a: ${up.stderr}`).toBe(0);
            expect(await settle(topo, () => ready(topo, plan), 15_000), `${impl}: the planned state after ifup -a`).toBe(true);
            expectRules(topo, plan);
            expectChecks(behaviourChecks(topo));
            const intended = lab.snapshot("host");

            // Again, as an admin or a package would: nothing is taken away, not for a moment.
            const log = join(root, "monitor.log");
            const monitor = lab.spawn("host", ["ip", "monitor", "address", "route", "rule"], log);
            await sleep(300);
            const again: [string, () => ReturnType<AltIfupdown["up"]>][] = [["ifup -a", () => alt.up()]];
            if (impl === "ifupdown2") again.push(["ifreload -a", () => alt.run("ifreload", ["-a"])]);
            for (const [what, run] of again) {
              const r = run();
              expect(r.status, `${impl} ${what} again: ${r.stderr}`).toBe(0);
            }
            await sleep(300);
            lab.stop(monitor);
            const deleted = readText(log)
              .split("\n")
              .filter((l) => l.startsWith("Deleted"));
            expect(deleted, `${impl}: what a repeated up${impl === "ifupdown2" ? " and ifreload" : ""} took away`).toEqual([]);
            expect(lab.snapshot("host"), `${impl}: the state after a repeated up`).toBe(intended);

            if (impl === "ifupdown2") {
              const q = alt.run("ifquery", ["-a", "-c"]);
              expect(q.stdout.split("\n").filter((l) => l.includes("[fail]")), `ifquery -a -c:\n${q.stdout}${q.stderr}`).toEqual([]);
              expect(q.status, `ifquery -a -c: ${q.stderr}`).toBe(0);
            }

            const down = alt.down();
            expect(down.status, `${impl} ifdown -a: ${down.stderr}`).toBe(0);
            killSwitch(topo, root, "off");
            for (const f of [4, 6] as Family[]) expect(kernelRules(topo, f), `${impl}: IPv${f} rules left after ifdown -a`).toEqual([]);
            expect(lab.run("host", ["ip", "route", "show", "table", "all", "proto", "static"]).trim(), `${impl}: static routes left after ifdown -a`).toBe("");

            killSwitch(topo, root, "on");
            const back = alt.up();
            expect(back.status, `${impl} ifup -a after ifdown -a: ${back.stderr}`).toBe(0);
            expect(await settle(topo, () => lab.snapshot("host") === intended, 15_000), `${impl}: the state after ifdown -a and ifup -a`).toBe(true);
          });
        } finally {
          rmSync(root, { recursive: true, force: true });
        }
      });
    }
  }
});
