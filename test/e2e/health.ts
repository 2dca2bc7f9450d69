// Health checks in the lab: lsm run as gen-hooks-health.service runs it,
// ISPs whose upstream dies while their link stays up, probes lost at random.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import type { ChildProcess } from "node:child_process";
import type { Uplink } from "../../src/model/types.js";
import { readText, sleep, sleepSync, waitFor } from "./lab.js";
import { inRenderedEtc } from "./stacks.js";
import { repoRoot } from "../helpers/bin.js";
import { REMOTE4, type Topology } from "./topology.js";
import { devicesInUse, expectedInUse, sameSet, tally } from "./proofs.js";

export const HEALTH_UNIT_FILE = "etc/systemd/system/gen-hooks-health.service";

/** lsm, started with the rendered unit's ExecStart= in the host namespace; its events land in the state folder, event.d's log in eventLog. */
export class Prober implements EventSource {
  private child?: ChildProcess;
  readonly stateDir: string;
  readonly eventLog: string;
  private readonly log_: string;

  constructor(
    private readonly topo: Topology,
    private readonly root: string,
  ) {
    this.stateDir = join(root, "health-state");
    this.eventLog = join(root, "event.d.log");
    this.log_ = join(root, "lsm.log");
    mkdirSync(this.stateDir, { recursive: true });
    // lsm runs its event script with an environment of its own: the state
    // and event.d are found at their install paths (under the private /run
    // and the rendered /etc)
    const eventD = join(root, "etc/gen-hooks/event.d");
    mkdirSync(eventD, { recursive: true });
    // the admin's own hook: what event.d executables are given
    writeFileSync(join(eventD, "10-log"), `#!/bin/sh\necho "$*" >> ${this.eventLog}\n`, { mode: 0o755 });
    writeFileSync(this.eventLog, "");
  }

  /** The command systemd would run ($$ is systemd's escape for $). */
  execStart(): string {
    const unit = readText(join(this.root, HEALTH_UNIT_FILE));
    const line = /^ExecStart=\/bin\/sh -c '(.+)'$/m.exec(unit);
    if (!line) throw new Error(`no ExecStart= in ${HEALTH_UNIT_FILE}:\n${unit}`);
    return line[1].replace(/\$\$/g, "$");
  }

  start(): void {
    // a private /run: the unit's pid file stays in it
    const env = `mount -t tmpfs tmpfs /run && mkdir -p /run/gen-hooks && mount --bind ${this.stateDir} /run/gen-hooks && `;
    this.child = this.topo.lab.spawn("host", inRenderedEtc(this.root, ["sh", "-c", this.execStart()], env), this.log_);
  }

  stop(): void {
    if (this.child) this.topo.lab.stop(this.child);
    this.child = undefined;
    // ExecStopPost=
    const unit = readText(join(this.root, HEALTH_UNIT_FILE));
    const post = /^ExecStopPost=(.+)$/m.exec(unit)![1];
    this.topo.lab.run("host", inRenderedEtc(this.root, ["sh", "-c", `GEN_HOOKS_STATE=${this.stateDir} ${post}`]));
  }

  running(): boolean {
    return this.child !== undefined && this.child.exitCode === null;
  }

  clearEvents(): void {
    writeFileSync(this.eventLog, "");
  }

  log(): string {
    return readText(this.log_).slice(-2000);
  }

  events(): string[] {
    return readText(this.eventLog).split("\n").filter(Boolean);
  }
}

const DEAD_TABLE = "gh_dead";

/** The ISP of uplink u drops everything it would forward; its own link and gateway stay up. */
export function killUpstream(topo: Topology, u: Uplink): void {
  const isp = topo.ispOf.get(u.name)!;
  topo.lab.sh(isp.role, `nft add table inet ${DEAD_TABLE} && nft add chain inet ${DEAD_TABLE} dead '{ type filter hook forward priority -300; policy drop; }'`);
}

export function reviveUpstream(topo: Topology, u: Uplink): void {
  topo.lab.sh(topo.ispOf.get(u.name)!.role, `nft delete table inet ${DEAD_TABLE}`);
}

/** The internet drops what is sent to these addresses (other traffic passes). */
export function dropAt(topo: Topology, addresses: string[], everyNth?: number): () => void {
  const match = `ip daddr { ${addresses.join(", ")} }${everyNth ? ` numgen random mod ${everyNth} == 0` : ""}`;
  topo.lab.sh("net", `nft add table inet gh_drop && nft add chain inet gh_drop probes '{ type filter hook prerouting priority -300; }' && nft add rule inet gh_drop probes ${match} drop`);
  return () => topo.lab.sh("net", "nft delete table inet gh_drop");
}

/** The uplinks the kernel sends each kind of selected traffic by now. */
export function selectedBy(topo: Topology, u: Uplink): { what: string; dev: string | undefined }[] {
  const lab = topo.lab;
  const out: { what: string; dev: string | undefined }[] = [];
  for (const d of u.destinations.filter((d) => d.family === 4)) out.push({ what: `pinned ${d.text}`, dev: lab.routeGet("host", [d.text.split("/")[0]])?.dev });
  if (u.mark !== undefined) out.push({ what: `fwmark ${u.mark}`, dev: lab.routeGet("host", [REMOTE4, "mark", String(u.mark)])?.dev });
  for (const r of u.users) out.push({ what: `uid ${r.from}`, dev: lab.routeGet("host", [REMOTE4, "uid", String(r.from)])?.dev });
  for (const s of u.sources.filter((s) => s.family === 4)) {
    const from = s.text.split("/")[0];
    const lan = topo.lans.find((l) => topo.model.lan.some((m) => m.interface === l.interface));
    if (lan) out.push({ what: `from ${from}`, dev: lab.routeGet("host", [REMOTE4, "from", from, "iif", lan.interface])?.dev });
  }
  return out;
}

/** The conntrack ids of the host's flows to the remote that reply to this address (NATed or the host's own), of one protocol if given. */
export function trackedThrough(topo: Topology, address: string, filter: string[] = []): string[] {
  const r = topo.lab.tryRun("host", ["conntrack", "-L", "-f", "ipv4", "-d", REMOTE4, "--reply-dst", address, ...filter, "-o", "id"]);
  // the entry's id is the line's last id= (an ICMP entry has its echo ids before it)
  return r.stdout.split("\n").flatMap((l) => [...l.matchAll(/id=(\d+)/g)].slice(-1).map((m) => m[1])).sort();
}

/**
 * Each checked uplink's provider dies behind its live link: traffic and the
 * uplink's selectors move to the others, its tracked flows go and the other
 * uplinks' stay; it comes back when the provider does. Records the times
 * (death -> traffic moved and the uplink down; recovery -> back).
 */
/** Where a proof reads the state changes event.d was given ("NAME STATE IFACE" lines). */
export interface EventSource {
  events(): string[];
  clearEvents(): void;
  /** What to show when a change does not come. */
  log(): string;
}

const TCP_PORT = 7007;

/** A TCP connection from the host's address to the internet that must stay up; stop() says whether it did. */
export function longLivedTcp(topo: Topology, from: string, dir: string): { stop(): string | undefined; log(): string } {
  const script = join(repoRoot, "test/e2e/tcp-echo.cjs");
  const server = topo.lab.spawn("net", [process.execPath, script, "server", String(TCP_PORT)], join(dir, "tcp-server.log"));
  const log = join(dir, `tcp-client-${from}.log`);
  let client: ChildProcess | undefined;
  // the server needs a moment to listen
  for (let i = 0; i < 20 && !client; i++) {
    const ready = topo.lab.tryRun("net", ["sh", "-c", `ss -ltn | grep -q ':${TCP_PORT} '`]).status === 0;
    if (ready) client = topo.lab.spawn("host", [process.execPath, script, "client", REMOTE4, String(TCP_PORT), from], log);
    else sleepSync(100);
  }
  return {
    log: () => `client: ${readText(log).trim().split("\n").slice(-3).join(" ")}; route: ${JSON.stringify(topo.lab.routeGet("host", [REMOTE4, "from", from]))}`,
    stop: () => {
      const lines = readText(log).trim().split("\n");
      const alive = client !== undefined && client.exitCode === null;
      if (client) topo.lab.stop(client);
      topo.lab.stop(server);
      return alive && Number(lines[lines.length - 1]) > 0 ? undefined : `the connection from ${from} ended: ${lines.slice(-3).join(" ")}`;
    },
  };
}

export async function deadProviderProof(topo: Topology, prober: EventSource, label: string, limits: { downMs: number; upMs: number }, whileDown: (u: Uplink) => Promise<void>, dir: string): Promise<void> {
  const { lab, model } = topo;
  const before = devicesInUse(topo);
  const lan = topo.lans[0];
  for (const u of model.uplinks.filter((x) => x.check)) {
    const survivor = model.uplinks.find((o) => o !== u)!;
    const address = u.addresses[0].address;
    const survivorAddress = survivor.addresses[0].address;
    // a LAN flow (NATed through whichever uplink carries it) and a TCP connection of the host's own through the survivor
    const pingers = lan ? [lab.spawn(lan.role, ["ping", "-q", "-i", "0.2", REMOTE4], join(dir, "ping-lan.log"))] : [];
    const tcp = longLivedTcp(topo, survivorAddress, dir);
    const tcpFlow = ["-p", "tcp", "--dport", String(TCP_PORT)];
    // the kernel tracks connections only where something uses the tracking (here the NAT)
    const tracking = model.uplinks.some((x) => x.nat !== "none");
    if (tracking) expect(await waitFor(() => trackedThrough(topo, survivorAddress, tcpFlow).length > 0, 5000, 100), `${label}: a TCP connection tracked through ${survivor.name} (${tcp.log()})`).toBe(true);
    const survivorFlows = tracking ? trackedThrough(topo, survivorAddress, tcpFlow) : [];

    const want = expectedInUse(topo, [u.interface]);
    const changed = () => sameSet(devicesInUse(topo), want) && prober.events().includes(`${u.name} down ${u.interface}`);
    const t0 = Date.now();
    killUpstream(topo, u);
    const moved = await waitFor(changed, limits.downMs + 5000, 20);
    const downMs = Date.now() - t0;
    expect(moved, `${label}: ${u.name}'s provider dead: traffic on ${[...want].join(",")} (now ${[...devicesInUse(topo)].join(",")}); events: ${prober.events().join("; ")}\n${prober.log()}`).toBe(true);
    expect(downMs, `${label}: ${u.name} dead -> traffic moved`).toBeLessThanOrEqual(limits.downMs);
    for (const s of selectedBy(topo, u))
      if (u.fallback) expect(s.dev, `${label}: ${u.name} down: ${s.what} leaves by another uplink`).not.toBe(u.interface);
      else expect(s.dev, `${label}: ${u.name} down, fallback false: ${s.what} is unreachable`).toBeUndefined();
    // probes still leave by the dead uplink (so that they see it come back)
    expect(lab.routeGet("host", [u.check!.targets[0], "oif", u.interface])?.dev, `${label}: ${u.name}'s probes keep their link`).toBe(u.interface);
    expect(lab.ping("host", REMOTE4, { count: 3, waitS: 2 }), `${label}: the internet answers with ${u.name} dead`).toBe(true);
    // the dead uplink's tracked flows went (the LAN's pings go on through another); the survivor's stayed
    expect(trackedThrough(topo, address), `${label}: flows tracked through dead ${u.name}`).toEqual([]);
    if (tracking) expect(trackedThrough(topo, survivorAddress, tcpFlow), `${label}: ${survivor.name}'s TCP connection stays tracked`).toEqual(survivorFlows);
    // what the stack does meanwhile (an ifup, a networkd restart) leaves it down
    await whileDown(u);
    expect(sameSet(devicesInUse(topo), want), `${label}: ${u.name} still down after the stack's own changes (traffic on ${[...devicesInUse(topo)].join(",")})`).toBe(true);
    for (const s of selectedBy(topo, u)) expect(s.dev, `${label}: ${u.name} still down: ${s.what} leaves by another uplink or none`).not.toBe(u.interface);

    const t1 = Date.now();
    reviveUpstream(topo, u);
    const back = await waitFor(() => sameSet(devicesInUse(topo), before) && prober.events().includes(`${u.name} up ${u.interface}`), limits.upMs + 5000, 20);
    const upMs = Date.now() - t1;
    expect(back, `${label}: ${u.name}'s provider back: traffic on ${[...before].join(",")} (now ${[...devicesInUse(topo)].join(",")}); events: ${prober.events().join("; ")}`).toBe(true);
    expect(upMs, `${label}: ${u.name} back -> traffic back`).toBeLessThanOrEqual(limits.upMs);
    for (const s of selectedBy(topo, u)) expect(s.dev, `${label}: ${u.name} up: ${s.what} leaves by it again`).toBe(u.interface);
    for (const p of pingers) lab.stop(p);
    expect(tcp.stop(), `${label}: a TCP connection through ${survivor.name} outlives ${u.name}'s failure and return`).toBeUndefined();
    if (!u.fallback) {
      // the kill switch holds for a lost carrier too (ifdown, networkd, the kernel's linkdown: whichever the stack does)
      const link = topo.link.get(u.interface)!;
      link.cut();
      const refused = await waitFor(() => selectedBy(topo, u).every((s) => s.dev === undefined), 15_000, 100);
      expect(refused, `${label}: ${u.interface} without carrier: ${JSON.stringify(selectedBy(topo, u))}`).toBe(true);
      // its probes fail too: let the check see it down, so that it is up again before anything else is measured
      prober.clearEvents();
      expect(await waitFor(() => prober.events().includes(`${u.name} down ${u.interface}`), 10_000, 100), `${label}: the check sees ${u.interface} without carrier`).toBe(true);
      link.restore();
      const back = () => selectedBy(topo, u).every((s) => s.dev === u.interface) && prober.events().includes(`${u.name} up ${u.interface}`);
      expect(await waitFor(back, 15_000, 100), `${label}: ${u.interface}'s carrier back: ${JSON.stringify(selectedBy(topo, u))}`).toBe(true);
    }
    tally.switches.push(`${label}: ${u.name}'s provider dead -> off it in ${downMs} ms; back -> on it in ${upMs} ms`);
    health.push({ label, uplink: u.name, downMs, upMs });
    prober.clearEvents();
  }
}

/** One of two targets dead, then every probe lost at random at 1 in 10: not one state change. */
export async function steadyUnderLossProof(topo: Topology, prober: EventSource, label: string, lossSeconds: number): Promise<void> {
  const u = topo.model.uplinks.find((x) => (x.check?.targets.length ?? 0) > 1);
  const before = prober.events().length;
  const inUse = devicesInUse(topo);
  if (u) {
    const undo = dropAt(topo, [u.check!.targets[0]]);
    await sleep(3000);
    expect(prober.events().slice(before), `${label}: one of ${u.name}'s targets dead`).toEqual([]);
    expect(sameSet(devicesInUse(topo), inUse), `${label}: one target dead: traffic stays`).toBe(true);
    undo();
  }
  const targets = topo.model.uplinks.flatMap((x) => x.check?.targets ?? []);
  const undo = dropAt(topo, targets, 10);
  await sleep(lossSeconds * 1000);
  undo();
  expect(prober.events().slice(before), `${label}: 10% of probes lost for ${lossSeconds} s`).toEqual([]);
  tally.switches.push(`${label}: 10% of probes lost on every target for ${lossSeconds} s: ${prober.events().length - before} state changes`);
}

export const health: { label: string; uplink: string; downMs: number; upMs: number }[] = [];

/** The lab's own event.d hook in a rendered tree: the container's changes land in LAB_EVENTS. */
export const LAB_EVENTS = "/run/lab-health-events";
export function addEventHook(rendered: string): void {
  const dir = join(rendered, "etc/gen-hooks/event.d");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "10-lab"), `#!/bin/sh\necho "$*" >> ${LAB_EVENTS}\n`, { mode: 0o755 });
}

/** event.d's log inside a booted container, and the journal's gen-hooks lines. */
export function containerEvents(c: { path(p: string): string; exec(argv: string[]): { stdout: string } }): EventSource {
  return {
    events: () => readText(c.path(LAB_EVENTS)).split("\n").filter(Boolean),
    clearEvents: () => writeFileSync(c.path(LAB_EVENTS), ""),
    log: () => c.exec(["journalctl", "--no-pager", "-n", "30", "-t", "gen-hooks", "-u", "gen-hooks-health.service"]).stdout,
  };
}
