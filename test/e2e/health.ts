// Health-check proofs for the labs (host-process and booted): a dead
// provider behind a live link, a lost carrier under a kill switch, random
// probe loss. The lab pieces are in health-lab.ts.
import { join } from "node:path";
import { expect } from "vitest";
import type { Uplink } from "../../src/model/types.js";
import { readText, sleep, waitFor } from "./lab.js";
import { REMOTE4, type Topology } from "./topology.js";
import { devicesInUse, expectedInUse, sameSet, tally } from "./proofs.js";
import { dropAt, echoSessions, type EventSource, killUpstream, longLivedTcp, reviveUpstream, selectedBy, TCP_PORT, trackedEvents, trackedThrough } from "./health-lab.js";

/** An uplink's gen_hooks_uplink_up in a scrape of node_exporter (which sorts the labels), or undefined. */
export const upInScrape = (scrape: string, uplink: string): string | undefined =>
  [...scrape.matchAll(/^gen_hooks_uplink_up\{([^}]*)\} (\d+)$/gm)].find((m) => m[1].split(",").includes(`uplink="${uplink}"`))?.[2];

/**
 * Loose bounds for a dead provider. The goals are 1.5 s and 3 s; an idle
 * machine measures 1.5-2.0 s off and 1.5 s back, but each poll reads the
 * prober's log (a booted container's journal) and asks the kernel several
 * routes, and on a loaded 2-core CI machine that stretched "off" to 4.0 s
 * (3.25 s for two providers at once in the host-process lab): figures, not
 * a regression; the tally prints them and the bench measures.
 */
export const HEALTH_LIMITS = { downMs: 6000, upMs: 8000 };

/**
 * How long a checked uplink whose provider was dead takes, beyond answering
 * again, to be used: its hold, and with loss-up the prober's window (100
 * probes) refilling until the loss over it is down to loss-up.
 */
export const returnMs = (u: Uplink): number => u.check!.hold * 1000 + (u.check!.lossUp < 99 ? Math.ceil(100 * (1 - u.check!.lossUp / 100)) * u.check!.intervalMs : 0);

/** Until a scrape shows the uplink's state (at most 5 s): how long that took, in ms. */
async function scrapeShows(scrape: () => string, uplink: string, value: "0" | "1", label: string): Promise<number> {
  const t = Date.now();
  let last = "";
  const shown = await waitFor(() => upInScrape((last = scrape()), uplink) === value, 5000, 50);
  const ms = Date.now() - t;
  expect(shown, `${label}: node_exporter serves gen_hooks_uplink_up ${value} for ${uplink}\n${last.split("\n").filter((l) => l.includes("gen_hooks") || l.includes("textfile")).join("\n")}`).toBe(true);
  expect(last, `${label}: node_exporter read gen-hooks.prom without an error`).toMatch(/^node_textfile_scrape_error 0$/m);
  return ms;
}

/**
 * Each checked uplink's provider dies behind its live link: traffic and the
 * uplink's selectors move to the others, its tracked flows go and the other
 * uplinks' stay; it comes back when the provider does. Records the times
 * (death -> traffic moved and the uplink down; recovery -> back).
 */
export async function deadProviderProof(topo: Topology, prober: EventSource, label: string, limits: { downMs: number; upMs: number }, whileDown: (u: Uplink) => Promise<void>, dir: string, scrape?: () => string): Promise<void> {
  const { lab, model } = topo;
  const before = devicesInUse(topo);
  const lan = topo.lans[0];
  for (const u of model.uplinks.filter((x) => x.check)) {
    const survivor = model.uplinks.find((o) => o !== u)!;
    const address = u.addresses[0].address;
    const survivorAddress = survivor.addresses[0].address;
    // a LAN flow (NATed through whichever uplink carries it) and a TCP connection of the host's own through the survivor
    const pingers = lan ? [lab.spawn(lan.role, ["ping", "-q", "-i", "0.2", REMOTE4], join(dir, "ping-lan.log"))] : [];
    const events = trackedEvents(topo, dir);
    // what changes meanwhile, to tell why a connection of the survivor's would break
    const monitorLog = join(dir, `ip-monitor-${u.name}.log`);
    const monitor = lab.spawn("host", ["ip", "-ts", "-4", "monitor", "address", "route", "rule"], monitorLog);
    const tcp = longLivedTcp(topo, survivorAddress, dir);
    const tcpFlow = ["-p", "tcp", "--dport", String(TCP_PORT)];
    // the kernel tracks connections only where something uses the tracking (here the NAT)
    const tracking = model.uplinks.some((x) => x.nat !== "none");
    if (tracking) expect(await waitFor(() => trackedThrough(topo, survivorAddress, tcpFlow).length > 0, 5000, 100), `${label}: a TCP connection tracked through ${survivor.name} (${tcp.log()})`).toBe(true);
    const survivorFlows = tracking ? trackedThrough(topo, survivorAddress, tcpFlow) : [];

    const want = expectedInUse(topo, [u.interface]);
    const changed = () => sameSet(devicesInUse(topo), want) && prober.events().includes(`${u.name} down ${u.interface}`);
    // the flows through it when it fails (the LAN's NATed pings, the host's own checks)
    const failing = trackedThrough(topo, address);
    // (in failover the LAN's pings are NATed through the uplink in use: something to remove)
    if (tracking && lan && model.mode === "failover" && before.has(u.interface)) expect(failing.length, `${label}: flows tracked through ${u.name} before it fails`).toBeGreaterThan(0);
    const t0 = Date.now();
    killUpstream(topo, u);
    const moved = await waitFor(changed, limits.downMs + 5000, 20);
    const downMs = Date.now() - t0;
    const movedS = Date.now() / 1000;
    expect(moved, `${label}: ${u.name}'s provider dead: traffic on ${[...want].join(",")} (now ${[...devicesInUse(topo)].join(",")}); events: ${prober.events().join("; ")}\n${prober.log()}`).toBe(true);
    expect(downMs, `${label}: ${u.name} dead -> traffic moved`).toBeLessThanOrEqual(limits.downMs);
    // the metrics: from the change's event (its journal line comes first) to a scrape that shows it
    const scrapedDownMs = scrape ? await scrapeShows(scrape, u.name, "0", label) : undefined;
    if (scrapedDownMs !== undefined) expect(scrapedDownMs, `${label}: ${u.name} down in a scrape within 2 s of its event`).toBeLessThanOrEqual(2000);
    for (const s of selectedBy(topo, u))
      if (u.fallback) expect(s.dev, `${label}: ${u.name} down: ${s.what} leaves by another uplink`).not.toBe(u.interface);
      else expect(s.dev, `${label}: ${u.name} down, fallback false: ${s.what} is unreachable`).toBeUndefined();
    // probes still leave by the dead uplink (so that they see it come back)
    expect(lab.routeGet("host", [u.check!.targets[0], "oif", u.interface])?.dev, `${label}: ${u.name}'s probes keep their link`).toBe(u.interface);
    expect(lab.ping("host", REMOTE4, { count: 3, waitS: 2 }), `${label}: the internet answers with ${u.name} dead`).toBe(true);
    // the flows tracked through it when it failed were removed (the LAN's pings go on through another), and none started through it since; the survivor's stayed
    // gone: its DESTROY event seen, or no longer in the table (a burst of a
    // few hundred deletions overruns conntrack -E's socket under load, and
    // its events are lost; a flow in TIME_WAIT does not expire in 2 s)
    const notRemoved = () => {
      const tracked = new Set(trackedThrough(topo, address));
      const destroyed = new Set(events.destroyed(failing));
      return failing.filter((id) => !destroyed.has(id) && tracked.has(id));
    };
    const removed = await waitFor(() => notRemoved().length === 0, 2000, 100);
    const since = events.createdThrough(address, movedS);
    const listing = () => `now: ${lab.tryRun("host", ["conntrack", "-L", "-o", "id", "--reply-dst", address]).stdout.slice(0, 3000)}\nevents:\n${events.log()}\nchecks: ${prober.events().join("; ")} (${downMs} ms)\n${prober.log()}`;
    expect(removed, `${label}: flows tracked through ${u.name} when it failed, not removed: ${notRemoved().join(", ")}\n${listing()}`).toBe(true);
    expect(since, `${label}: flows to the remote started through ${u.name} after it failed\n${listing()}`).toEqual([]);
    if (tracking) expect(trackedThrough(topo, survivorAddress, tcpFlow), `${label}: ${survivor.name}'s TCP connection stays tracked`).toEqual(survivorFlows);
    // what the stack does meanwhile (an ifup, a networkd restart) leaves it down
    await whileDown(u);
    expect(sameSet(devicesInUse(topo), want), `${label}: ${u.name} still down after the stack's own changes (traffic on ${[...devicesInUse(topo)].join(",")})`).toBe(true);
    for (const s of selectedBy(topo, u)) expect(s.dev, `${label}: ${u.name} still down: ${s.what} leaves by another uplink or none`).not.toBe(u.interface);

    const t1 = Date.now();
    reviveUpstream(topo, u);
    // back once its probes answer and it has stayed healthy for its hold
    const upLimit = limits.upMs + returnMs(u);
    const back = await waitFor(() => sameSet(devicesInUse(topo), before) && prober.events().includes(`${u.name} up ${u.interface}`), upLimit + 5000, 20);
    const upMs = Date.now() - t1;
    expect(back, `${label}: ${u.name}'s provider back: traffic on ${[...before].join(",")} (now ${[...devicesInUse(topo)].join(",")}); events: ${prober.events().join("; ")}`).toBe(true);
    expect(upMs, `${label}: ${u.name} back -> traffic back (hold ${u.check!.hold} s)`).toBeLessThanOrEqual(upLimit);
    expect(upMs, `${label}: ${u.name} back before its hold of ${u.check!.hold} s`).toBeGreaterThanOrEqual(u.check!.hold * 1000);
    for (const s of selectedBy(topo, u)) expect(s.dev, `${label}: ${u.name} up: ${s.what} leaves by it again`).toBe(u.interface);
    const scrapedUpMs = scrape ? await scrapeShows(scrape, u.name, "1", label) : undefined;
    if (scrapedUpMs !== undefined) {
      expect(scrapedUpMs, `${label}: ${u.name} up in a scrape within 2 s of its event`).toBeLessThanOrEqual(2000);
      tally.switches.push(`${label}: ${u.name}'s change in node_exporter's scrape ${scrapedDownMs} ms (down) and ${scrapedUpMs} ms (up) after its event`);
    }
    for (const p of pingers) lab.stop(p);
    const tcpEnd = tcp.stop();
    events.stop();
    lab.stop(monitor);
    const tcpFlowEvents = events.matching(`dport=${TCP_PORT} `);
    const why = `its flow: ${tcpFlowEvents.join("\n")}\nchecks: ${prober.events().join("; ")}\n${prober.log()}\nkernel changes:\n${readText(monitorLog).split("\n").slice(0, 120).join("\n")}`;
    // gen-hooks (conntrack -D, a process: its deletions carry its port id) never removes another uplink's flow
    const removedByTool = tcpFlowEvents.filter((l) => l.includes("[DESTROY]") && l.includes("[USERSPACE]") && l.includes(`src=${survivorAddress} `));
    expect(removedByTool, `${label}: ${survivor.name}'s TCP flow deleted by a process while ${u.name} failed\n${why}`).toEqual([]);
    expect(tcpEnd, `${label}: a TCP connection through ${survivor.name} outlives ${u.name}'s failure and return\n${why}`).toBeUndefined();
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


/**
 * A backup uplink stands by while any other uplink can carry traffic (no
 * LAN packet reaches its ISP), carries everything once every other
 * provider is dead (within the health bound), and hands it back when the
 * first of them is up again after its hold: within 2 s no connection is
 * tracked through the backup any more and a LAN host's new connection
 * leaves by the uplink that is back. Records the times.
 */
export async function backupProof(topo: Topology, prober: EventSource, label: string, limits: { downMs: number; upMs: number }, dir: string): Promise<void> {
  const { lab, model } = topo;
  const backup = model.uplinks.find((u) => u.backup && u.addresses.some((a) => a.family === 4));
  const primaries = model.uplinks.filter((u) => u.default && !u.backup);
  const lan = topo.lans.find((l) => l.generic);
  if (!backup || !lan || primaries.some((u) => !u.check)) return;
  const address = backup.addresses.find((a) => a.family === 4)!.address;
  const rx = (u: Uplink) => lab.rxPackets("net", topo.ispOf.get(u.name)!.netDev);
  const before = devicesInUse(topo);
  const lanPing = () => lab.ping(lan.role, REMOTE4, { from: lan.generic, count: 5, waitS: 2 });

  // standing by: 32 flows never hashed onto it, and the LAN's packets never reach its ISP
  expect(before.has(backup.interface), `${label}: ${backup.name} carries none of the main table's flows (${[...before].join(",")})`).toBe(false);
  const idle = rx(backup);
  expect(lanPing(), `${label}: the LAN reaches the internet`).toBe(true);
  expect(rx(backup) - idle, `${label}: LAN packets that reached ${backup.name}'s ISP while the others are healthy`).toBe(0);

  // every other provider dead: everything on the backup
  prober.clearEvents();
  const t0 = Date.now();
  for (const u of primaries) killUpstream(topo, u);
  const onBackup = () => sameSet(devicesInUse(topo), new Set([backup.interface])) && primaries.every((u) => prober.events().includes(`${u.name} down ${u.interface}`));
  const moved = await waitFor(onBackup, limits.downMs + 5000, 20);
  const downMs = Date.now() - t0;
  expect(moved, `${label}: every provider but ${backup.name}'s dead: traffic on ${backup.interface} (now ${[...devicesInUse(topo)].join(",")}); events: ${prober.events().join("; ")}\n${prober.log()}`).toBe(true);
  expect(downMs, `${label}: every other provider dead -> traffic on ${backup.name}`).toBeLessThanOrEqual(limits.downMs);
  const busy = rx(backup);
  expect(lanPing(), `${label}: the LAN reaches the internet through ${backup.name}`).toBe(true);
  expect(rx(backup) - busy, `${label}: LAN packets through ${backup.name}'s ISP`).toBeGreaterThan(0);
  const port = TCP_PORT + 1;
  const flow = ["-p", "tcp", "--dport", String(port)];
  const [session] = echoSessions(topo, { server: "net", client: lan.role, to: REMOTE4, port, froms: [lan.generic], dir });
  let stopped = false;
  const stopSession = () => (stopped ? undefined : ((stopped = true), session.stop()));
  try {
    expect(await waitFor(() => trackedThrough(topo, address, flow).length > 0, 5000, 100), `${label}: a LAN host's connection tracked through ${backup.name} (${session.log()})`).toBe(true);

    // the first provider back: after its hold, the backup's turn ends
    const first = primaries[0];
    reviveUpstream(topo, first);
    const back = await waitFor(() => prober.events().includes(`${first.name} up ${first.interface}`), limits.upMs + returnMs(first) + 5000, 20);
    const backAt = Date.now();
    expect(back, `${label}: ${first.name} up again; events: ${prober.events().join("; ")}`).toBe(true);
    let figure: string;
    if (backup.failback === "keep") {
      // failback: keep: the connection stays on the backup and keeps answering; new ones go by the uplink that is back
      const [echoes, carriedBefore] = [session.echoes(), rx(backup)];
      await sleep(3000);
      const kept = trackedThrough(topo, address, flow);
      expect(kept.length, `${label}: ${first.name} back: the LAN host's connection is still tracked through ${backup.name} 3 s later (failback: keep)`).toBeGreaterThan(0);
      expect(session.echoes(), `${label}: the kept connection still answers through ${backup.name} (${session.log()})`).toBeGreaterThan(echoes);
      expect(rx(backup) - carriedBefore, `${label}: its packets still reach ${backup.name}'s ISP`).toBeGreaterThan(0);
      figure = `the LAN connection kept on it: ${session.echoes() - echoes} echoes in the 3 s after ${first.name}'s up`;
    } else {
      const gone = await waitFor(() => trackedThrough(topo, address, flow).length === 0, 2000, 20);
      const goneMs = Date.now() - backAt;
      expect(gone, `${label}: ${first.name} back: no connection tracked through ${backup.name} within 2 s (${trackedThrough(topo, address, flow).join(",")})`).toBe(true);
      figure = `no connection tracked through it ${goneMs} ms after ${first.name}'s up`;
    }
    expect(lab.routeGet("host", [REMOTE4, "from", lan.generic, "iif", lan.interface])?.dev, `${label}: a LAN host's new connection leaves by ${first.name}`).toBe(first.interface);
    const [carried, idleAgain] = [rx(first), rx(backup)];
    expect(lanPing(), `${label}: the LAN reaches the internet through ${first.name}`).toBe(true);
    // (a kept connection's echoes still reach the backup's ISP: only the ping is counted there for flush)
    if (backup.failback !== "keep") expect(rx(backup) - idleAgain, `${label}: LAN packets through ${backup.name}'s ISP`).toBe(0);
    expect(rx(first) - carried, `${label}: LAN packets through ${first.name}'s ISP`).toBeGreaterThan(0);
    if (backup.failback === "keep") expect(stopSession(), `${label}: the connection kept on ${backup.name}`).toBeUndefined();
    tally.switches.push(`${label}: ${backup.name} (backup): every other provider dead -> on it in ${downMs} ms; ${first.name} back after its hold of ${first.check!.hold} s -> ${figure}`);
  } finally {
    stopSession();
    for (const u of primaries.slice(1)) reviveUpstream(topo, u);
  }
  // every change reported (event.d runs in the background, after the traffic moved) before the events are cleared
  const reported = () => primaries.every((u) => prober.events().includes(`${u.name} up ${u.interface}`));
  expect(await waitFor(() => sameSet(devicesInUse(topo), before) && reported(), limits.upMs + 15_000, 50), `${label}: every provider back: traffic on ${[...before].join(",")}; events: ${prober.events().join("; ")}`).toBe(true);
  prober.clearEvents();
}

/**
 * Beyond dead or alive: an uplink with a hold of 10 s whose provider flaps
 * (dead 2 s, alive 2 s, ten times) changes once each way, while beside it an
 * uplink with loss thresholds (20 %/5 %) loses 10 % of its probes for 60 s
 * and changes nothing (the two run side by side: their probes, targets and
 * providers are apart); then that uplink's provider loses 30 %: it is out,
 * stays out while the loss lasts, and is back once it ends.
 */
export async function qualityProof(topo: Topology, prober: EventSource, label: string): Promise<void> {
  const { model } = topo;
  const lossy = model.uplinks.find((u) => u.check && u.check.lossDown === 20 && u.check.lossUp === 5);
  const flapper = model.uplinks.find((u) => u !== lossy && u.check && u.check.hold === 10);
  if (!lossy || !flapper) throw new Error(`${label}: the quality proof needs an uplink checked at 20 %/5 % and another with a hold of 10 s`);
  const of = (u: Uplink) => prober.events().filter((e) => e.startsWith(`${u.name} `));
  const down = (u: Uplink) => `${u.name} down ${u.interface}`;
  const up = (u: Uplink) => `${u.name} up ${u.interface}`;
  prober.clearEvents();

  // flaps beside 10 % loss for 60 s
  const t0 = Date.now();
  let undo = dropAt(topo, lossy.check!.targets, 10);
  let lastBack = 0;
  let dead = false;
  let flapUpMs = 0;
  try {
    for (let i = 0; i < 10; i++) {
      killUpstream(topo, flapper);
      dead = true;
      await sleep(2000);
      reviveUpstream(topo, flapper);
      dead = false;
      lastBack = Date.now();
      await sleep(2000);
    }
    expect(await waitFor(() => of(flapper).length >= 2, 20_000, 100), `${label}: ${flapper.name} back after flapping: ${prober.events().join("; ")}\n${prober.log()}`).toBe(true);
    flapUpMs = Date.now() - lastBack;
    await sleep(Math.max(1000, 60_000 - (Date.now() - t0)));
    undo();
    expect(of(flapper), `${label}: ten flaps with hold 10: one change each way`).toEqual([down(flapper), up(flapper)]);
    expect(flapUpMs, `${label}: ${flapper.name} back no sooner than its hold after the last return`).toBeGreaterThanOrEqual(10_000);
    expect(of(lossy), `${label}: 10 % loss for 60 s with 20 %/5 %: no change`).toEqual([]);
  } finally {
    undo();
    if (dead) reviveUpstream(topo, flapper);
  }
  prober.clearEvents();

  // 30 % loss: out at 20 %, out while it lasts, back at 5 % (then the hold)
  const t1 = Date.now();
  undo = dropAt(topo, lossy.check!.targets, 30);
  let lossOutMs = 0;
  let lossBackMs = 0;
  try {
    expect(await waitFor(() => of(lossy).length > 0, 60_000, 100), `${label}: ${lossy.name} out at 30 % loss: ${prober.events().join("; ")}\n${prober.log()}`).toBe(true);
    lossOutMs = Date.now() - t1;
    expect(of(lossy)).toEqual([down(lossy)]);
    await sleep(30_000);
    expect(of(lossy), `${label}: 30 % loss for 30 s more: ${lossy.name} stays out`).toEqual([down(lossy)]);
    undo();
    const t2 = Date.now();
    expect(await waitFor(() => of(lossy).length > 1, 60_000, 100), `${label}: ${lossy.name} back once the loss ends: ${prober.events().join("; ")}\n${prober.log()}`).toBe(true);
    lossBackMs = Date.now() - t2;
    expect(of(lossy)).toEqual([down(lossy), up(lossy)]);
  } finally {
    undo();
  }
  // (the asserted figures: one change each way for the flaps, none at 10 %)
  tally.switches.push(
    `${label}: quality: ${flapper.name} dead 2 s / alive 2 s ten times, hold 10 s: 2 changes, up ${flapUpMs} ms after the last return; ` +
      `${lossy.name} at 10 % loss for 60 s (20 %/5 %): 0 changes; at 30 %: out in ${lossOutMs} ms, stayed out 30 s, back ${lossBackMs} ms after the loss ended`,
  );
  prober.clearEvents();
}
