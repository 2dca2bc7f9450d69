// Every fixture under the real init: the host under test is a container
// booted by systemd on a Debian release root (releases.ts), with
// the rendered files installed as a package would and the stack chosen by
// enabling its service. Proven: the planned state at boot (timed), the
// fixture's behaviour, restarts of the stack's services, carrier failover,
// and reboots. Six test files per release (boot-12-*, boot-13-*: static
// and leased fixtures in halves, the lease proofs, the health quality
// proof) define this suite, so that they boot side by side.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModelFile } from "../../src/model/load.js";
import { validateModel } from "../../src/model/validate.js";
import { contains } from "../../src/model/addr.js";
import { buildPlan } from "../../src/plan/plan.js";
import type { Plan } from "../../src/plan/types.js";
import type { Family, Model } from "../../src/model/types.js";
import { scenarios } from "../helpers/fixtures.js";
import { labUnavailable, readText, sleep, waitFor } from "./lab.js";
import { needsVlan, REMOTE4, REMOTE6, type Topology } from "./topology.js";
import { settle, withTopology } from "./stacks.js";
import { behaviourChecks, explainChecks, kernelRules, passThroughChecks } from "./checks.js";
import { CARRIER_SWITCH_MS, expectChecks, expectRules, failoverCascade, flowsByWeight, natThroughEachUplink, pinsWinOverHash, ready, render, setsLoaded, statusProof, tally, unplanned } from "./proofs.js";
import { addManagement, Container, managementUp, type Stack } from "./boot.js";
import { bootUnavailable, ensureRoot, hasIfplugd, selectedReleases, type Release } from "./releases.js";
import { backupProof, deadProviderProof, HEALTH_LIMITS, qualityProof } from "./health.js";
import { addEventHook, containerEvents } from "./health-lab.js";
import type { Uplink } from "../../src/model/types.js";
import { statSync } from "node:fs";
import { concreteModel, concretePlan, DhcpServer, leaseCidr, dialPpp, hangUpPpp, hasLeases, labLeases, RaServer, type LabLease } from "./leases.js";

const roots = new Map<string, string>();
/**
 * A leased uplink whose carrier comes back needs a new lease first: dhcpcd
 * drops it with the carrier and probes the address (ARP) before it uses it
 * again (measured 5.4-10.8 s); networkd 257 sometimes takes 4 s.
 */
const LEASED_SWITCH_MS = 20_000;
const boots: string[] = [];


async function expectActive(c: Container, unit: string): Promise<void> {
  const active = await waitFor(() => c.exec(["systemctl", "is-active", unit]).stdout.trim() === "active", 10_000, 200);
  expect(active, `${unit} is active: ${c.exec(["systemctl", "status", "--no-pager", unit]).stdout}`).toBe(true);
}

/** The whole planned state: rules, defaults, addresses past DAD, destination sets. */
export const planned = (topo: Topology, plan: Plan) => ready(topo, plan) && setsLoaded(topo, plan);

/**
 * The host's rules and routes, to compare one moment with another. networkd
 * gives the prefix route of a DHCP address metric 1024 when it adds the
 * address and none when it finds it already there (after its own restart):
 * networkd's doing, not the plan's, so that metric is left out. A default
 * router learned from advertisements shows their hop limit and MTU once one
 * updated it (the kernel), or the MTU only from the first (networkd).
 */
export const hostState = (topo: Topology) =>
  topo.lab
    .snapshot("host")
    .replace(/^(\S+ dev \S+ proto kernel scope link src \S+) metric 1024 $/gm, "$1 ")
    .replace(/^(default via \S+ dev \S+ proto ra .*?)(?: mtu \d+| hoplimit \d+)+/gm, "$1");

/** The leases with each SLAAC address as the host took it in the lease's /64 (the first stable, non-temporary one). */
function slaacTaken(topo: Topology, leases: LabLease[]): LabLease[] {
  return leases.map((l) => {
    if (l.source !== "slaac") return l;
    const net = leaseCidr(l).network;
    const mine = topo.lab
      .run("host", ["ip", "-6", "-o", "addr", "show", "dev", l.dev, "scope", "global", "-tentative", "-deprecated"])
      .split("\n")
      .filter((x) => !/ temporary /.test(x))
      .map((x) => /inet6 (\S+)\/64/.exec(x)?.[1])
      .find((a) => a !== undefined && contains(net, a));
    return mine && mine !== l.address ? { ...l, address: mine } : l;
  });
}

/** The lines of two states that differ, for a failure's message. */
export const stateDiff = (was: string, now: string) => {
  const [a, b] = [new Set(was.split("\n")), new Set(now.split("\n"))];
  return [...[...a].filter((l) => !b.has(l)).map((l) => `- ${l}`), ...[...b].filter((l) => !a.has(l)).map((l) => `+ ${l}`)].join("\n");
};

/** What the DHCP clients, pppd's scripts and the uplink-event script said (about one interface, if given), for a failure's message. */
const leaseLog = (c: Container, dev?: string) =>
  c
    .journal(["-o", "short-monotonic"])
    .split("\n")
    .filter((l) => /dhclient|dhcpcd|gen-hooks|DHCP|ip-up|ip-down|lease|carrier/i.test(l) && !/gen-hooks-leases.service/.test(l) && (dev === undefined || l.includes(dev)))
    .slice(-80)
    .join("\n");

/**
 * From the DHCP client's "I have the lease" to the script's "in effect"
 * (rules and routes in place), per leased uplink, on the container's
 * monotonic clock.
 */
function leaseToEffect(c: Container, leases: LabLease[]): string[] {
  const lines = c.journal(["-o", "short-monotonic"]).split("\n");
  const at = (re: RegExp) => {
    const l = lines.find((x) => re.test(x));
    return l === undefined ? undefined : Number(/^\[\s*([\d.]+)\]/.exec(l)?.[1]) * 1000;
  };
  return leases
    .filter((l) => l.source === "dhcp")
    .map((l) => {
      const a = l.address.replace(/\./g, "\\.");
      // dhclient: "DHCPACK of" (it logs "bound to" after its hooks); dhcpcd: "leased"; networkd: "DHCPv4 address ... acquired"
      const bound = at(new RegExp(`DHCPACK of ${a} |leased ${a} |DHCPv4 address ${a}/`));
      const effect = at(new RegExp(`gen-hooks.*: lease ${a}/.* in effect`));
      return `${l.uplink}: ${bound === undefined || effect === undefined ? "not found in the journal" : `${Math.round(effect - bound)} ms`}`;
    });
}

/** The stacks a host on this release would run this model with. */
function stacksFor(release: Release, model: Model, plan: Plan): Stack[] {
  const stacks: Stack[] = ["ifupdown", "networkd"];
  // ifplugd does failover only where the model turns the kernel's off; Debian 13 has no ifplugd.
  if (hasIfplugd(release) && !model.options.linkdownFailover && plan.ifplugd && plan.ifplugd.interfaces.length > 0) stacks.push("ifplugd");
  return stacks;
}

/** The longest a checked uplink's probes take to find it dead, in ms (0 without checks). */
function healthWindowOf(plan: Plan): number {
  return Math.max(0, ...(plan.health?.checks.map((k) => k.down * k.intervalMs + k.timeoutMs) ?? []));
}

/**
 * lsm starts probing at boot, maybe before a lease is bound: an uplink it
 * finds dead then is used again after its hold. Wait that window out, then
 * for the planned state.
 */
async function healthSettled(topo: Topology, plan: Plan): Promise<boolean> {
  const windowMs = healthWindowOf(plan);
  if (windowMs === 0) return true;
  await sleep(windowMs + 500);
  const holdMs = Math.max(...(plan.health?.checks.map((k) => k.hold * 1000) ?? [0]));
  return settle(topo, () => planned(topo, plan), 15_000 + holdMs);
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
    const r = await c.run(argv, 120_000);
    expect(r.status, `${argv.join(" ")}: ${r.stderr}`).toBe(0);
    // A restarted networkd may drop a lease's routes and ask again: the state must come back, in time.
    expect(await settle(topo, () => planned(topo, plan) && hostState(topo) === intended, 60_000), `state after ${argv.join(" ")}\n${stateDiff(intended, hostState(topo))}`).toBe(true);
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
  expect(before).toBe(`${plan.ifplugd!.interfaces.join(" ")}||${plan.ifplugd!.args}|stop`);
  const r = await c.run(["env", "DEBIAN_FRONTEND=noninteractive", "dpkg-reconfigure", "ifplugd"], 120_000);
  expect(r.status, `dpkg-reconfigure ifplugd: ${r.stderr}`).toBe(0);
  expect(values(), "ifplugd's settings after dpkg-reconfigure").toBe(before);
  expect(await settle(topo, () => planned(topo, plan) && hostState(topo) === intended, 30_000), `state after dpkg-reconfigure ifplugd\n${stateDiff(intended, hostState(topo))}`).toBe(true);
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
    const r = await c.systemctl(action, "nftables.service");
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

/**
 * The lab's side of learned addresses: a DHCP server per DHCP uplink; a ppp
 * link that "pppd" dials once the host runs (again after each boot), hangs
 * up when its link is cut and before the host goes down.
 */
function leaseSide(topo: Topology, c: Container, leases: LabLease[], dir: string, written: Model) {
  // Each DHCP server also holds the address of the next generation, used once its ISP renumbers.
  const next = labLeases(written, 1);
  const servers = new Map(leases.filter((l) => l.source === "dhcp").map((l) => [l.uplink, new DhcpServer(topo, [l, next.find((n) => n.uplink === l.uplink)!], dir)]));
  const routers = new Map(leases.filter((l) => l.source === "slaac").map((l) => [l.uplink, new RaServer(topo, l, dir)]));
  const ppp = leases.filter((l) => l.source === "ppp");
  for (const l of ppp) topo.link.set(l.dev, { cut: () => hangUpPpp(c, l), restore: () => dialPpp(c, l) });
  return { servers, routers, dial: () => ppp.forEach((l) => dialPpp(c, l)), hangUp: () => ppp.forEach((l) => hangUpPpp(c, l)) };
}

/**
 * Each advertising router stops being a default router (an advertisement
 * with router lifetime 0): its uplink is out, IPv6 leaves by the next one;
 * then it is a default router again: the uplink is back, as it was.
 */
async function routerCycles(topo: Topology, plan: Plan, isp: ReturnType<typeof leaseSide>, leases: LabLease[], label: string, intended: string, log: () => string): Promise<void> {
  for (const l of leases.filter((x) => x.source === "slaac")) {
    const net = leaseCidr(l).network;
    const router = isp.routers.get(l.uplink)!;
    // timed from the moment the stack has taken the advertisement (its default router goes or comes)
    const advertised = () => topo.lab.run("host", ["ip", "-6", "route", "show", "default", "dev", l.dev, "proto", "ra"]).trim() !== "";
    router.lifetime(0);
    expect(await waitFor(() => !advertised(), 15_000, 10), `${label}: the stack drops ${l.uplink}'s router`).toBe(true);
    const t0 = Date.now();
    const out = () => !kernelRules(topo, 6).some((r) => r.includes(net)) && topo.lab.routeGet("host", [REMOTE6, "from", l.address])?.dev !== l.dev;
    expect(await waitFor(out, 15_000, 10), `${label}: ${l.uplink} is out once its router is no default router\n${log()}\n${hostState(topo)}`).toBe(true);
    const outMs = Date.now() - t0;
    expect(topo.lab.ping("host", REMOTE6, { count: 2, waitS: 2 }), `${label}: IPv6 answers without ${l.uplink}`).toBe(true);
    router.lifetime(90);
    expect(await waitFor(advertised, 15_000, 10), `${label}: the stack takes ${l.uplink}'s router again`).toBe(true);
    const t1 = Date.now();
    expect(await waitFor(() => planned(topo, plan), 15_000, 10), `${label}: ${l.uplink} is back with its router\n${log()}\n${hostState(topo)}`).toBe(true);
    const backMs = Date.now() - t1;
    expect(await settle(topo, () => hostState(topo) === intended, 10_000), `${label}: the state once ${l.uplink}'s router is back\n${stateDiff(intended, hostState(topo))}`).toBe(true);
    tally.switches.push(`${label}: from the stack's advertised router to rules and routes: ${l.uplink} out ${outMs} ms after its router went (lifetime 0), back ${backMs} ms after it came (lifetime 90)`);
  }
}

/** Ten hangups and redials of every ppp link: no duplicate, no leftover, the same state each time. */
async function pppCycles(topo: Topology, plan: Plan, isp: ReturnType<typeof leaseSide>, label: string, intended: string): Promise<void> {
  const ms: number[] = [];
  for (let i = 1; i <= 10; i++) {
    isp.hangUp();
    expect(planned(topo, plan), `${label}: ppp down (cycle ${i}) takes its rules away`).toBe(false);
    const t0 = Date.now();
    isp.dial();
    expect(await waitFor(() => planned(topo, plan), 10_000, 5), `${label}: ppp up again (cycle ${i})`).toBe(true);
    ms.push(Date.now() - t0);
    expect(await settle(topo, () => hostState(topo) === intended, 10_000), `${label}: state after ppp cycle ${i}\n${stateDiff(intended, hostState(topo))}`).toBe(true);
  }
  ms.sort((a, b) => a - b);
  tally.switches.push(`${label}: ppp up (address, ip-up) to rules and routes in effect: median ${ms[5]} ms, max ${ms[9]} ms over 10 redials`);
}

/**
 * What only a lease does, on the DHCP failover fixture: the ISP renumbers
 * (a renewal moves the uplink to another address and gateway, and nothing of
 * the old lease stays), the ISP's pool runs dry (the renewal is refused: the
 * uplink is out until the pool has its address again), and ten down/up
 * cycles of the leased interface.
 */
async function leaseProof(release: Release, stack: Stack): Promise<void> {
  const scenario = "dhcp-failover";
  const label = `${scenario}/${stack}/Debian ${release.version}`;
  const written = validateModel(loadModelFile(`fixtures/${scenario}/model.yaml`));
  const leases = labLeases(written);
  const model = concreteModel(written, leases);
  const plan = buildPlan(model);
  const rendered = render(`${scenario}-leases-${stack}`, `fixtures/${scenario}/model.yaml`, stack === "networkd" ? "networkd" : "ifupdown");
  const dir = mkdtempSync(join(tmpdir(), `gh-leases-${scenario}-`));
  try {
    await withTopology(model, async (topo) => {
      const { lab } = topo;
      addManagement(topo);
      const c = new Container(topo, release, roots.get(release.codename)!, stack, dir);
      c.install(rendered);
      const isp = leaseSide(topo, c, leases, dir, written);
      try {
        await c.boot();
        expect(await waitFor(() => planned(topo, plan), 60_000, 20), `${label}: the planned state after boot\n${leaseLog(c)}`).toBe(true);

        // The ISP renumbers the first uplink: its server hands out an address in
        // another network and refuses the old one at the next renewal (NAK),
        // then the old network is retired.
        const [first, second] = leases;
        const moved = labLeases(written, 1)[0];
        const firstIsp = topo.ispOf.get(first.uplink)!;
        lab.run(firstIsp.role, ["ip", "addr", "add", `${moved.gateway}/${moved.prefix}`, "dev", "lan"]);
        lab.run("net", ["ip", "route", "replace", leaseCidr(moved).network, "via", `100.65.${firstIsp.index}.1`]);
        const renumbered = concreteModel(written, [moved, ...leases.slice(1)]);
        const after = { ...topo, model: renumbered, plan: buildPlan(renumbered) };
        const t0 = Date.now();
        isp.servers.get(first.uplink)!.reserve([first.address]);
        expect(await waitFor(() => planned(after, after.plan), 60_000, 50), `${label}: the rules and routes of the new lease ${moved.address}\n${leaseLog(c)}\n${hostState(topo)}`).toBe(true);
        const renewMs = Date.now() - t0;
        lab.run(firstIsp.role, ["ip", "addr", "del", `${first.gateway}/${first.prefix}`, "dev", "lan"]);
        const renewed = hostState(topo);
        const oldNet = first.address.replace(/\.\d+$/, ".");
        expect(renewed.split("\n").filter((l) => l.includes(oldNet)), `${label}: nothing of the old lease ${first.address} via ${first.gateway} is left`).toEqual([]);
        expectChecks([...behaviourChecks(after), ...explainChecks(after, after.plan)]);

        // The second uplink's pool runs dry: its renewal is refused, it is out; it returns with its address.
        const uid = String(written.uplinks.find((u) => u.name === second.uplink)!.users[0]?.from ?? 0);
        const t1 = Date.now();
        isp.servers.get(second.uplink)!.reserve([second.address]);
        const out = () => !kernelRules(topo, 4).some((r) => r.includes(second.address)) && lab.routeGet("host", [REMOTE4, "uid", uid])?.dev !== second.dev;
        expect(await waitFor(out, 30_000, 50), `${label}: ${second.uplink} is out once its lease is refused\n${leaseLog(c, second.dev)}\n${hostState(topo)}`).toBe(true);
        const lossMs = Date.now() - t1;
        expect(lab.ping("host", REMOTE4, { count: 2, waitS: 2 }), `${label}: the internet answers without ${second.uplink}`).toBe(true);
        const t2 = Date.now();
        isp.servers.get(second.uplink)!.reserve([]);
        expect(await waitFor(() => planned(after, after.plan), 90_000, 50), `${label}: ${second.uplink} is back with its lease\n${leaseLog(c)}`).toBe(true);
        const returnMs = Date.now() - t2;
        expect(await settle(after, () => hostState(topo) === renewed, 15_000), `${label}: the state once ${second.uplink} is back\n${stateDiff(renewed, hostState(topo))}`).toBe(true);

        // Ten down/up cycles of the first uplink's interface, as an admin would.
        const [down, up] = stack === "networkd" ? [["networkctl", "down"], ["networkctl", "up"]] : [["ifdown"], ["ifup"]];
        const t3 = Date.now();
        for (let i = 1; i <= 10; i++) {
          for (const argv of [down, up]) {
            const r = await c.run([...argv, first.dev], 60_000);
            expect(r.status, `${label}: ${argv.join(" ")} ${first.dev} (cycle ${i}): ${r.stderr}`).toBe(0);
          }
          expect(await waitFor(() => planned(after, after.plan), 30_000, 20), `${label}: planned state after down/up cycle ${i}`).toBe(true);
          expect(await settle(after, () => hostState(topo) === renewed, 10_000), `${label}: state after down/up cycle ${i}\n${hostState(topo)}`).toBe(true);
        }
        tally.switches.push(
          `${label}: renumbered lease followed in ${renewMs} ms; refused lease out in ${lossMs} ms, back ${returnMs} ms after the pool had it again; 10 down/up cycles in ${Date.now() - t3} ms`,
        );
      } finally {
        await c.poweroff();
      }
    });
  } finally {
    rmSync(rendered, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The fixture the quality part boots (and the static part leaves to it). */
const QUALITY = "health-quality";

/**
 * Beyond dead or alive under the real init, on fixtures/health-quality:
 * loss thresholds and a hold (qualityProof), and a backup that keeps its
 * connections when a primary is back (backupProof), with lsm (Debian 12) or
 * foolsm (13) run by gen-hooks-health.service; the kernel's answers and
 * explain's first.
 */
async function qualityBootProof(release: Release, stack: Stack): Promise<void> {
  const label = `${QUALITY}/${stack}/Debian ${release.version}`;
  const path = `fixtures/${QUALITY}/model.yaml`;
  const model = validateModel(loadModelFile(path));
  const plan = buildPlan(model);
  const rendered = render(`${QUALITY}-${stack}`, path, stack === "networkd" ? "networkd" : "ifupdown");
  addEventHook(rendered);
  const dir = mkdtempSync(join(tmpdir(), `gh-boot-${QUALITY}-`));
  try {
    await withTopology(model, async (topo) => {
      addManagement(topo);
      const c = new Container(topo, release, roots.get(release.codename)!, stack, dir);
      c.install(rendered);
      try {
        await c.boot();
        expect(await waitFor(() => planned(topo, plan), 60_000, 20), `${label}: the planned state after boot\n${unplanned(topo, plan)}`).toBe(true);
        expect(await healthSettled(topo, plan), `${label}: the planned state once the probes have judged every uplink\n${unplanned(topo, plan)}`).toBe(true);
        await expectRunning(c, "after boot");
        expectRules(topo, plan);
        expectChecks([...behaviourChecks(topo), ...explainChecks(topo, plan)]);
        await expectActive(c, "gen-hooks-health.service");
        const events = containerEvents(c);
        // without an event the metrics file is still rewritten every 15 s: its age shows gen-hooks-metrics alive
        await expectActive(c, "gen-hooks-metrics.service");
        events.clearEvents();
        const writtenAt = () => statSync(c.path(plan.metrics!.file), { throwIfNoEntry: false })?.mtimeMs ?? 0;
        const written = writtenAt();
        const t0 = Date.now();
        expect(written, `${label}: ${plan.metrics!.file} is there`).toBeGreaterThan(0);
        expect(await waitFor(() => writtenAt() > written, 20_000, 250), `${label}: ${plan.metrics!.file} rewritten within 20 s without an event`).toBe(true);
        expect(events.events(), `${label}: no uplink changed meanwhile`).toEqual([]);
        tally.switches.push(`${label}: metrics rewritten ${Date.now() - t0} ms after the last look, without an event`);
        await qualityProof(topo, events, label);
        await backupProof(topo, events, label, HEALTH_LIMITS, dir);
        if (stack === "networkd") expect(c.networkdComplaints(), "networkd journal lines that skip or fail a setting").toEqual([]);
        await expectRunning(c, "after the proofs");
      } finally {
        await c.poweroff();
      }
    });
  } finally {
    rmSync(rendered, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

async function bootProof(release: Release, scenario: string, written: Model, stack: Stack): Promise<void> {
  let leases = labLeases(written);
  let model = concreteModel(written, leases);
  let plan = concretePlan(model, leases);
  const label = `${scenario}/${stack}/Debian ${release.version}`;
  // What a host of this stack installs: --target all with its stack.
  const rendered = render(`${scenario}-${stack}`, `fixtures/${scenario}/model.yaml`, stack === "networkd" ? "networkd" : "ifupdown");
  const checked = written.uplinks.some((u) => u.check);
  if (checked) addEventHook(rendered);
  const dir = mkdtempSync(join(tmpdir(), `gh-boot-${scenario}-`));
  try {
    const times: string[] = [];
    const intended = await withTopology(model, async (topo) => {
      addManagement(topo);
      const c = new Container(topo, release, roots.get(release.codename)!, stack, dir);
      c.install(rendered);
      const isp = leaseSide(topo, c, leases, dir, written);
      try {
        const t0 = Date.now();
        await c.boot();
        isp.dial();
        const up = await waitFor(() => planned(topo, plan), 60_000, 20);
        times.push(`boot ${Date.now() - t0} ms`);
        expect(up, `${label}: the planned rules and routes after boot\n${readText(c.console).slice(-3000)}\n${leaseLog(c)}\n${hostState(topo)}`).toBe(true);
        // A SLAAC address is the client's choice (dhcpcd's "slaac private", not
        // EUI-64): the rest holds for the address the host took.
        const taken = slaacTaken(topo, leases);
        if (taken.some((l, i) => l !== leases[i])) {
          leases = taken;
          model = concreteModel(written, leases);
          plan = concretePlan(model, leases);
          topo = { ...topo, model, plan };
        }
        await expectRunning(c, "after boot");
        if (leases.some((l) => l.source === "dhcp")) tally.switches.push(`${label}: from the client's lease to rules and routes in effect: ${leaseToEffect(c, leases).join(", ")}`);
        expect(await waitFor(() => managementUp(topo), 10_000, 200), "the admin's management NIC is up beside the uplinks").toBe(true);
        if (stack === "networkd") {
          expect(c.networkdComplaints(), "networkd journal lines that skip or fail a setting").toEqual([]);
          destinationServicesOrdered(c, plan);
        }
        expect(await healthSettled(topo, plan), `${label}: the planned state once the probes have judged every checked uplink\n${hostState(topo)}`).toBe(true);
        expectRules(topo, plan);
        const first = [...behaviourChecks(topo), ...pinsWinOverHash(topo), ...explainChecks(topo, plan), ...passThroughChecks(topo, stack === "networkd" ? "networkd" : "ifupdown")];
        expectChecks(first);
        await flowsByWeight(topo, dir, label);
        const intended = hostState(topo);
        if (leases.length > 0) {
          // gen-hooks status on the host, reading the leases the uplink-event script keeps
          await statusProof(topo, `fixtures/${scenario}/model.yaml`, label, c.path("/run/gen-hooks"), leases.map((l) => l.uplink));
          expect(await settle(topo, () => planned(topo, plan) && hostState(topo) === intended, LEASED_SWITCH_MS), `${label}: the state after the status proof\n${stateDiff(intended, hostState(topo))}`).toBe(true);
          if (stack === "networkd") await leaseFileAwayKeepsUplink(c, topo, label, leases, intended);
        }
        if (checked) {
          await expectActive(c, "gen-hooks-health.service");
          const events = containerEvents(c);
          // What the stack does meanwhile must leave a dead uplink down: a
          // DHCP renewal (every 4 s here), an ifup -a, a networkd reconfigure.
          const whileDown = async (u: Uplink) => {
            const lease = buildPlan(written).leases.find((l) => l.family === 4 && l.source === "dhcp");
            const stamp = () => (lease ? statSync(c.path(`/run/gen-hooks/${lease.state}`), { throwIfNoEntry: false })?.mtimeMs : 0);
            const before = stamp();
            // networkd: reconfigure the dead link (networkd puts its own routes and rules back);
            // where networkd holds a static multipath default a reconfigured member link
            // loses it (a networkd limitation, health checks or not): restart networkd there
            const argv =
              stack !== "networkd" ? ["ifup", "-a"]
              : plan.multipath.some((m) => !m.byEvent) ? ["systemctl", "restart", "systemd-networkd"]
              : ["networkctl", "reconfigure", u.interface];
            const r = await c.run(argv, 120_000);
            expect(r.status, `${label}: ${argv.join(" ")} while ${u.name} is down: ${r.stderr}`).toBe(0);
            // renewed: the lease file back with a new time (a reconfigure first loses the lease: the file goes)
            if (lease) expect(await waitFor(() => ![undefined, before].includes(stamp()), 15_000, 200), `${label}: ${lease.uplink}'s lease renewed while ${u.name} is down`).toBe(true);
            await settle(topo, () => true, 10_000);
          };
          // Debian's prometheus-node-exporter in the root serves the event script's metrics
          await expectActive(c, "gen-hooks-metrics.service");
          await expectActive(c, "prometheus-node-exporter.service");
          const scrape = () => topo.lab.tryRun("host", ["curl", "-sS", "--max-time", "2", "http://127.0.0.1:9100/metrics"]).stdout;
          await deadProviderProof(topo, events, label, HEALTH_LIMITS, whileDown, dir, scrape);
          await backupProof(topo, events, label, HEALTH_LIMITS, dir);
          expect(await settle(topo, () => planned(topo, plan) && hostState(topo) === intended, 15_000), `${label}: the state after the health proof\n${stateDiff(intended, hostState(topo))}`).toBe(true);
        }

        await restartsKeepState(c, topo, plan, intended);
        if (leases.some((l) => l.source === "ppp")) await pppCycles(topo, plan, isp, label, intended);
        await routerCycles(topo, plan, isp, leases, label, intended, () => leaseLog(c));
        await natOutlivesNftables(c, topo);
        if (stack === "ifplugd") await ifplugdOutlivesDebconf(c, topo, plan, intended);

        // Carrier failover by whichever mechanism the stack uses.
        const failover =
          stack === "ifplugd"
            ? { how: `ifplugd -d${model.options.ifplugd!.delayDown}`, limit: (model.options.ifplugd!.delayDown + 2) * 1000 }
            : stack === "networkd"
              ? { how: model.mode === "balance" ? "kernel linkdown" : "networkd carrier handling", limit: leases.length > 0 ? LEASED_SWITCH_MS : CARRIER_SWITCH_MS }
              : model.options.linkdownFailover
                ? { how: "kernel linkdown", limit: leases.length > 0 ? LEASED_SWITCH_MS : CARRIER_SWITCH_MS }
                : undefined;
        if (failover) {
          // a checked uplink whose link returns is used again once its probes answer (lsm's up count) and its hold has passed
          const healthMs = model.uplinks.some((u) => u.check) ? 4000 + Math.max(...model.uplinks.map((u) => (u.check?.hold ?? 0) * 1000)) : 0;
          await failoverCascade(topo, `${label} (${failover.how})`, failover.limit + healthMs);
          // a checked uplink whose carrier came back soon may be found dead
          // by the probes lost meanwhile only afterwards: wait that out, and its return
          const healthWindowMs = healthWindowOf(plan);
          const restored = async () => {
            // a lease lost with the carrier comes back after the client's ARP probe (LEASED_SWITCH_MS)
            expect(await settle(topo, () => planned(topo, plan), leases.length > 0 ? LEASED_SWITCH_MS + 10_000 : 15_000), `${label}: the planned state is back\n${unplanned(topo, plan)}\n${leaseLog(c)}`).toBe(true);
            if (healthWindowMs > 0) {
              await sleep(healthWindowMs + 500);
              expect(await settle(topo, () => hostState(topo) === intended, 15_000), `${label}: every checked uplink up again\n${stateDiff(intended, hostState(topo))}`).toBe(true);
            }
            // networkd restarts its DHCP client when the carrier returns: a leased address answers again once it is bound
            for (const l of leases)
              expect(await waitFor(() => topo.lab.ping("net", l.address, { count: 1, waitS: 1 }), 15_000, 200), `${label}: ${l.address} of ${l.uplink} answers again`).toBe(true);
          };
          await restored();
          await natThroughEachUplink(topo, label, restored);
          // dhcpcd (Debian 13) may put its own default (metric 1000 + ifindex, below every
          // planned one) back when it rebuilds its routes after a carrier returns; the
          // uplink's next lease event takes it away again
          expect(await settle(topo, () => hostState(topo) === intended, 15_000), `${label}: the state after the carrier came back\n${stateDiff(intended, hostState(topo))}`).toBe(true);
          const again = behaviourChecks(topo);
          expectChecks(again);
        }

        // networkd's leases were followed to the end each time (renewals every
        // 4 s here): the follow-up settles instead of running all its rounds
        if (stack === "networkd" && leases.length > 0) {
          const restless = c.journal(["-t", "gen-hooks", "-o", "cat"]).split("\n").filter((l) => l.includes("kept changing"));
          expect(restless, `${label}: uplink-event networkd settled every time`).toEqual([]);
        }

        // A warm reboot: systemd goes down in order and comes up again in
        // the same network namespace, over what the first boot left there.
        const t1 = Date.now();
        await c.reboot();
        isp.dial();
        await expectRunning(c, "after a reboot");
        expect(await settle(topo, () => planned(topo, plan), 30_000), `${label}: the planned state after a reboot`).toBe(true);
        times.push(`reboot ${Date.now() - t1} ms`);
        expect(await healthSettled(topo, plan), `${label}: the planned state after a reboot, once the probes have judged every checked uplink`).toBe(true);
        // dhcpcd (Debian 13) may put its own default back when it rebuilds its
        // routes after a later event; the uplink's next lease event takes it away
        expect(await settle(topo, () => hostState(topo) === intended, 15_000), `${label}: the state after a reboot\n${stateDiff(intended, hostState(topo))}`).toBe(true);
        if (stack === "networkd") expect(c.networkdComplaints(), "networkd journal after a reboot").toEqual([]);
        expectChecks(behaviourChecks(topo));

        const t2 = Date.now();
        isp.hangUp(); // pppd stops on the way down
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
      const isp = leaseSide(topo, c, leases, dir, written);
      try {
        const t0 = Date.now();
        await c.boot();
        isp.dial();
        const up = await waitFor(() => planned(topo, plan), 60_000, 20);
        times.push(`second cold boot ${Date.now() - t0} ms`);
        expect(up, `${label}: the planned state after a second cold boot\n${leaseLog(c)}\n${hostState(topo)}`).toBe(true);
        await expectRunning(c, "after a second cold boot");
        expect(await settle(topo, () => planned(topo, plan), 15_000)).toBe(true);
        expect(hostState(topo), "state after a second cold boot").toBe(intended);
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

/**
 * networkd takes a link's lease file away for a moment when it restarts the
 * link's DHCP client (another link's reconfigure did it in CI) and keeps the
 * address. The uplink stays in use meanwhile: forgetting its lease would send
 * its connections out of another uplink, and the kernel kills a masqueraded
 * connection whose way out changes. Done by hand here: the path unit sees the
 * same change.
 */
async function leaseFileAwayKeepsUplink(c: Container, topo: Topology, label: string, leases: LabLease[], intended: string): Promise<void> {
  const lease = leases.find((l) => l.source === "dhcp");
  if (!lease) return;
  const file = `/run/systemd/netif/leases/${c.exec(["cat", `/sys/class/net/${lease.dev}/ifindex`]).stdout.trim()}`;
  const aside = "/run/gen-hooks-lab-lease";
  expect(c.exec(["mv", file, aside]).status, `${label}: ${file} set aside`).toBe(0);
  const seen: string[] = [];
  try {
    // the follow-up runs at once and keeps going while things change; a renewal (every 4 s) writes the file again
    for (let i = 0; i < 15; i++) {
      await sleep(200);
      const now = hostState(topo);
      if (now !== intended) seen.push(stateDiff(intended, now));
    }
  } finally {
    if (c.exec(["test", "-e", file]).status !== 0) c.exec(["mv", aside, file]);
    else c.exec(["rm", "-f", aside]);
  }
  expect(seen, `${label}: ${lease.uplink}'s lease file away a moment, its address still on ${lease.dev}: the uplink stays in use\n${leaseLog(c)}`).toEqual([]);
  expect(await settle(topo, () => hostState(topo) === intended, LEASED_SWITCH_MS), `${label}: the state with the lease file back`).toBe(true);
}

/**
 * The booted-lab suite for one release, skipped when the release is not
 * selected: the fixtures with static addresses, or those that lease them
 * (with the lease proofs). Two files per release boot side by side.
 */
export function bootSuite(codename: Release["codename"], part: "static" | "leased" | "lease-proofs" | "quality", shard: { index: number; of: number } = { index: 0, of: 1 }): void {
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

  const title = { static: "fixtures", leased: "leased uplinks", "lease-proofs": "lease proofs", quality: "health beyond dead or alive" }[part];
  // the part's tests dealt out to its files, which boot side by side; the
  // deal turns every round so that one file does not get every test of one stack
  let n = 0;
  const mine = () => {
    const k = n++;
    return (k + Math.floor(k / shard.of)) % shard.of === shard.index;
  };
  describe.skipIf(!!skip)(`${title} under the real init of Debian ${release?.version ?? codename} (${codename})${shard.of > 1 ? `, part ${shard.index + 1} of ${shard.of}` : ""}`, () => {
    for (const scenario of release && (part === "static" || part === "leased") ? scenarios() : []) {
      // A leased uplink holds the one address the lab hands it: the kernel
      // must then hold what the same model with that address written in plans.
      const written = validateModel(loadModelFile(`fixtures/${scenario}/model.yaml`));
      if (hasLeases(written) !== (part === "leased")) continue;
      if (needsVlan(written)) continue; // proven by networkd reading its files (stacks-suite.ts): this kernel has no 8021q driver
      if (scenario === QUALITY) continue; // the quality part boots it
      const model = concreteModel(written, labLeases(written));
      for (const stack of stacksFor(release!, model, buildPlan(model))) {
        if (mine()) it(`${scenario}: ${stack}`, () => bootProof(release!, scenario, written, stack), 600_000);
      }
    }
    for (const stack of release && part === "lease-proofs" ? (["ifupdown", "networkd"] as const) : [])
      if (mine()) it(`leases: a renumbering ISP, a refused renewal, ten down/up cycles: ${stack}`, () => leaseProof(release!, stack), 600_000);
    for (const stack of release && part === "quality" ? (["ifupdown", "networkd"] as const) : [])
      if (mine()) it(`loss thresholds and hold-down (lsm or foolsm): ${stack}`, () => qualityBootProof(release!, stack), 600_000);
  });
}
