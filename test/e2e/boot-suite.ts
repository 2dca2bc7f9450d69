// Every fixture under the real init: the host under test is a container
// booted by systemd on a Debian release root (releases.ts), with
// the rendered files installed as a package would and the stack chosen by
// enabling its service. Proven: the planned state at boot (timed), the
// fixture's behaviour, restarts of the stack's services, carrier failover,
// and reboots. One test file per release (boot-12, boot-13) defines this
// suite, so the releases boot side by side in two workers.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModelFile } from "../../src/model/load.js";
import { validateModel } from "../../src/model/validate.js";
import { buildPlan } from "../../src/plan/plan.js";
import type { Plan } from "../../src/plan/types.js";
import type { Family, Model } from "../../src/model/types.js";
import { scenarios } from "../helpers/fixtures.js";
import { labUnavailable, readText, waitFor } from "./lab.js";
import type { Topology } from "./topology.js";
import { settle, withTopology } from "./stacks.js";
import { behaviourChecks, explainChecks, kernelRules } from "./checks.js";
import { expectChecks, expectRules, failoverCascade, flowsByWeight, natThroughEachUplink, pinsWinOverHash, ready, render, setsLoaded, tally } from "./proofs.js";
import { addManagement, Container, managementUp, type Stack } from "./boot.js";
import { bootUnavailable, ensureRoot, hasIfplugd, selectedReleases, type Release } from "./releases.js";

const roots = new Map<string, string>();
const boots: string[] = [];

/** The whole planned state: rules, defaults, addresses past DAD, destination sets. */
const planned = (topo: Topology, plan: Plan) => ready(topo, plan) && setsLoaded(topo, plan);

/** The stacks a host on this release would run this model with. */
function stacksFor(release: Release, model: Model, plan: Plan): Stack[] {
  const stacks: Stack[] = ["ifupdown", "networkd"];
  // ifplugd does failover only where the model turns the kernel's off; Debian 13 has no ifplugd.
  if (hasIfplugd(release) && !model.options.linkdownFailover && plan.ifplugd.interfaces.length > 0) stacks.push("ifplugd");
  return stacks;
}

async function expectRunning(c: Container, when: string): Promise<void> {
  const { state, failed } = await c.systemState();
  const why = failed.map((f) => `${f}:\n${c.journal(["-u", f.split(/\s+/)[0], "-o", "cat"]).split("\n").slice(-25).join("\n")}`).join("\n");
  expect({ state, failed }, `systemd's state ${when}\n${why}`).toEqual({ state: "running", failed: [] });
}

/** Restart the stack's own services as an admin would; the state must come back exactly. */
async function restartsKeepState(c: Container, topo: Topology, plan: Plan, intended: string): Promise<void> {
  const actions: string[][] =
    c.stack === "networkd"
      ? [
          ["systemctl", "restart", "systemd-networkd"],
          ["networkctl", "reload"],
        ]
      : [["systemctl", "restart", "networking"]];
  for (const argv of actions) {
    const r = c.exec(argv, 120_000);
    expect(r.status, `${argv.join(" ")}: ${r.stderr}`).toBe(0);
    expect(await settle(topo, () => planned(topo, plan), 30_000), `the planned state after ${argv.join(" ")}`).toBe(true);
    expect(topo.lab.snapshot("host"), `state after ${argv.join(" ")}`).toBe(intended);
    await expectRunning(c, `after ${argv.join(" ")}`);
    for (const set of plan.destinationSets.filter((d) => !d.networkdInline && c.stack === "networkd"))
      expect(c.show(set.unit, ["ActiveState"]).ActiveState, `${set.unit} after ${argv.join(" ")}`).toBe("active");
  }
}

/**
 * The ifplugd package writes /etc/default/ifplugd from debconf on
 * dpkg-reconfigure and upgrades; its config script first reads the file's
 * values back, so the settings must come out the same (only the comments go).
 */
async function ifplugdOutlivesDebconf(c: Container, topo: Topology, plan: Plan, intended: string): Promise<void> {
  const values = () => c.sh('. /etc/default/ifplugd; printf "%s|%s|%s|%s" "$INTERFACES" "$HOTPLUG_INTERFACES" "$ARGS" "$SUSPEND_ACTION"').stdout;
  const before = values();
  expect(before).toBe(`${plan.ifplugd.interfaces.join(" ")}||${plan.ifplugd.args}|stop`);
  const r = c.exec(["env", "DEBIAN_FRONTEND=noninteractive", "dpkg-reconfigure", "ifplugd"], 120_000);
  expect(r.status, `dpkg-reconfigure ifplugd: ${r.stderr}`).toBe(0);
  expect(values(), "ifplugd's settings after dpkg-reconfigure").toBe(before);
  expect(await settle(topo, () => planned(topo, plan), 30_000), "the planned state after ifplugd restarted").toBe(true);
  expect(topo.lab.snapshot("host"), "state after dpkg-reconfigure ifplugd").toBe(intended);
}

/**
 * Debian's nftables.service flushes the whole ruleset when it reloads or
 * restarts: the table inet gen_hooks must be back, the same, after either.
 */
async function natOutlivesNftables(c: Container, topo: Topology): Promise<void> {
  const table = () => topo.lab.tryRun("host", ["nft", "list", "table", "inet", "gen_hooks"]).stdout;
  const loaded = table();
  expect(loaded, "table inet gen_hooks after boot").toMatch(/table inet gen_hooks/);
  for (const action of ["reload", "restart"]) {
    const r = c.systemctl(action, "nftables.service");
    expect(r.status, `systemctl ${action} nftables: ${r.stderr}`).toBe(0);
    expect(await waitFor(() => table() === loaded, 5000, 50), `table inet gen_hooks after systemctl ${action} nftables\n${table()}`).toBe(true);
  }
  await expectRunning(c, "after nftables reloads");
}

/**
 * The destination services start after networkd has configured their link:
 * networkd's journal (at debug level, in the lab) says when the link was
 * configured; the service's ip -batch starts later (both on the container's
 * monotonic clock).
 */
function destinationServicesOrdered(c: Container, plan: Plan): void {
  for (const set of plan.destinationSets.filter((d) => !d.networkdInline)) {
    const props = c.show(set.unit, ["ActiveState", "Result", "ExecMainStartTimestampMonotonic", "InactiveExitTimestampMonotonic"]);
    expect(props.ActiveState, `${set.unit} is active (Result=${props.Result})`).toBe("active");
    const configured = c
      .journal(["-u", "systemd-networkd", "-o", "short-monotonic"])
      .split("\n")
      .filter((l) => l.includes(`${set.dev}: State changed: configuring -> configured`))
      .map((l) => Math.round(Number(/^\[\s*([\d.]+)\]/.exec(l)?.[1]) * 1e6));
    expect(configured.length, `networkd's journal says when ${set.dev} was configured`).toBeGreaterThan(0);
    // The ip -batch line is the last ExecStart: it began after wait-online saw the link configured.
    expect(Number(props.ExecMainStartTimestampMonotonic), `${set.unit} loaded its routes after ${set.dev} was configured`).toBeGreaterThanOrEqual(configured[0]);
  }
}

async function bootProof(release: Release, scenario: string, model: Model, plan: Plan, stack: Stack): Promise<void> {
  const label = `${scenario}/${stack}/Debian ${release.version}`;
  // What a host of this stack installs: --target all with its stack.
  const rendered = render(`${scenario}-${stack}`, `fixtures/${scenario}/model.yaml`, stack === "networkd" ? "networkd" : "ifupdown");
  const dir = mkdtempSync(join(tmpdir(), `gh-boot-${scenario}-`));
  try {
    const times: string[] = [];
    const intended = await withTopology(model, async (topo) => {
      const { lab } = topo;
      addManagement(topo);
      const c = new Container(topo, release, roots.get(release.codename)!, stack, dir);
      c.install(rendered);
      try {
        const t0 = Date.now();
        await c.boot();
        const up = await waitFor(() => planned(topo, plan), 60_000, 20);
        times.push(`boot ${Date.now() - t0} ms`);
        expect(up, `${label}: the planned rules and routes after boot\n${readText(c.console).slice(-3000)}`).toBe(true);
        await expectRunning(c, "after boot");
        expect(await waitFor(() => managementUp(topo), 10_000, 200), "the admin's management NIC is up beside the uplinks").toBe(true);
        if (stack === "networkd") {
          expect(c.networkdComplaints(), "networkd journal lines that skip or fail a setting").toEqual([]);
          destinationServicesOrdered(c, plan);
        }
        expectRules(topo, plan);
        expectChecks([...behaviourChecks(topo), ...pinsWinOverHash(topo), ...explainChecks(topo, plan)]);
        await flowsByWeight(topo, dir, label);
        const intended = lab.snapshot("host");

        await restartsKeepState(c, topo, plan, intended);
        await natOutlivesNftables(c, topo);
        if (stack === "ifplugd") await ifplugdOutlivesDebconf(c, topo, plan, intended);

        // Carrier failover by whichever mechanism the stack uses.
        const failover =
          stack === "ifplugd"
            ? { how: `ifplugd -d${model.options.ifplugd.delayDown}`, limit: (model.options.ifplugd.delayDown + 2) * 1000 }
            : stack === "networkd"
              ? { how: model.mode === "balance" ? "kernel linkdown" : "networkd carrier handling", limit: 1000 }
              : model.options.linkdownFailover
                ? { how: "kernel linkdown", limit: 1000 }
                : undefined;
        if (failover) {
          await failoverCascade(topo, `${label} (${failover.how})`, failover.limit);
          const restored = async () => {
            expect(await settle(topo, () => planned(topo, plan), 15_000), `${label}: the planned state is back`).toBe(true);
          };
          await restored();
          await natThroughEachUplink(topo, label, restored);
          expect(lab.snapshot("host"), "state after the carrier came back").toBe(intended);
          expectChecks(behaviourChecks(topo));
        }

        // A warm reboot: systemd goes down in order and comes up again in
        // the same network namespace, over what the first boot left there.
        const t1 = Date.now();
        await c.reboot();
        await expectRunning(c, "after a reboot");
        expect(await settle(topo, () => planned(topo, plan), 30_000), `${label}: the planned state after a reboot`).toBe(true);
        times.push(`reboot ${Date.now() - t1} ms`);
        expect(lab.snapshot("host"), "state after a reboot").toBe(intended);
        if (stack === "networkd") expect(c.networkdComplaints(), "networkd journal after a reboot").toEqual([]);
        expectChecks(behaviourChecks(topo));

        const t2 = Date.now();
        await c.poweroff();
        times.push(`poweroff ${Date.now() - t2} ms`);
        // ifupdown's networking.service runs ifdown -a on the way down: no rule of the plan stays.
        if (stack !== "networkd") for (const f of [4, 6] as Family[]) expect(kernelRules(topo, f), `IPv${f} rules left after poweroff\n${readText(c.console).split("\n").filter((l) => /networking|ifdown|Raise/.test(l)).join("\n")}`).toEqual([]);
        return intended;
      } finally {
        await c.poweroff();
      }
    });

    // A cold boot: a fresh kernel state (new namespaces, links down), the
    // same disk (the overlay the first boot wrote to).
    await withTopology(model, async (topo) => {
      addManagement(topo);
      const c = new Container(topo, release, roots.get(release.codename)!, stack, dir);
      try {
        const t0 = Date.now();
        await c.boot();
        const up = await waitFor(() => planned(topo, plan), 60_000, 20);
        times.push(`second cold boot ${Date.now() - t0} ms`);
        expect(up, `${label}: the planned state after a second cold boot`).toBe(true);
        await expectRunning(c, "after a second cold boot");
        expect(await settle(topo, () => planned(topo, plan), 15_000)).toBe(true);
        expect(topo.lab.snapshot("host"), "state after a second cold boot").toBe(intended);
        expect(managementUp(topo), "the management NIC after a second cold boot").toBe(true);
        expectChecks(behaviourChecks(topo));
      } finally {
        await c.poweroff();
      }
    });
    boots.push(`${label}: ${times.join(", ")}`);
  } finally {
    rmSync(rendered, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The booted-lab suite for one release; skipped when the release is not selected. */
export function bootSuite(codename: Release["codename"]): void {
  const unavailable = labUnavailable() ?? bootUnavailable();
  if (unavailable && process.env.CI === "true") throw new Error(`booted-lab tests cannot run under CI: ${unavailable}`);
  if (unavailable) console.warn(`SKIPPING booted-lab tests: ${unavailable}`);
  const release = selectedReleases().find((r) => r.codename === codename);
  const skip = unavailable ?? (release ? undefined : `GEN_HOOKS_RELEASES=${process.env.GEN_HOOKS_RELEASES} leaves ${codename} out`);

  beforeAll(async () => {
    if (skip) return;
    const t0 = Date.now();
    roots.set(codename, await ensureRoot(release!));
    console.log(`${codename} root ready in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${roots.get(codename)}`);
  }, 20 * 60_000);

  afterAll(() => {
    if (skip) return;
    console.log(`booted lab, ${codename}: ${tally.checks} kernel/packet checks passed`);
    console.log(`boot to the last planned rule and route (fixture/stack/release):\n  ${boots.join("\n  ")}`);
    console.log(`switch times under the real init:\n  ${tally.switches.join("\n  ")}`);
    if (tally.flows.length) console.log(`balanced flows:\n  ${tally.flows.join("\n  ")}`);
  });

  describe.skipIf(!!skip)(`fixtures under the real init of Debian ${release?.version ?? codename} (${codename})`, () => {
    for (const scenario of release ? scenarios() : []) {
      const model = validateModel(loadModelFile(`fixtures/${scenario}/model.yaml`));
      const plan = buildPlan(model);
      for (const stack of stacksFor(release!, model, plan)) {
        it(`${scenario}: ${stack}`, () => bootProof(release!, scenario, model, plan, stack), 300_000);
      }
    }
  });
}
