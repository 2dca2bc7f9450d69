// Health checks in the lab, without the test runner (the bench uses them
// too): lsm run as gen-hooks-health.service runs it, ISPs whose upstream
// dies while their link stays up, probes lost at random, what conntrack
// tracks, a long-lived TCP connection.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import type { Uplink } from "../../src/model/types.js";
import { readText, sleepSync } from "./lab.js";
import { inRenderedEtc } from "./stacks.js";
import { repoRoot } from "../helpers/bin.js";
import { REMOTE4, type Topology } from "./topology.js";

/** Where a proof reads the state changes event.d was given ("NAME STATE IFACE" lines). */
export interface EventSource {
  events(): string[];
  clearEvents(): void;
  /** What to show when a change does not come. */
  log(): string;
}

export const TCP_PORT = 7007;

/** A TCP connection from the host's address to the internet that must stay up; stop() says whether it did. */
export function longLivedTcp(topo: Topology, from: string, dir: string): { stop(): string | undefined; log(): string } {
  const [one] = longLivedTcps(topo, [from], dir);
  return one;
}

/**
 * One TCP connection from each of the host's addresses to the internet (one
 * server), each of which must stay up; stop() says whether it did. The last
 * one stopped stops the server.
 */
export function longLivedTcps(topo: Topology, froms: string[], dir: string): EchoSession[] {
  return echoSessions(topo, { server: "net", client: "host", to: REMOTE4, port: TCP_PORT, froms, dir });
}

export interface EchoSession {
  /** Why the connection ended, or undefined while it lives; stops it. */
  stop(): string | undefined;
  /** The echoes counted so far. */
  echoes(): number;
  log(): string;
}

/**
 * TCP connections that must stay up: an echo server in the namespace
 * `server` at `to`, and a client in `client` from each of `froms`. The last
 * one stopped stops the server.
 */
export function echoSessions(topo: Topology, o: { server: string; client: string; to: string; port: number; froms: string[]; dir: string }): EchoSession[] {
  const script = join(repoRoot, "test/e2e/tcp-echo.cjs");
  const server = topo.lab.spawn(o.server, [process.execPath, script, "server", String(o.port)], join(o.dir, "tcp-server.log"));
  // the server needs a moment to listen
  for (let i = 0; i < 20 && topo.lab.tryRun(o.server, ["sh", "-c", `ss -ltn | grep -q ':${o.port} '`]).status !== 0; i++) sleepSync(100);
  let running = o.froms.length;
  return o.froms.map((from) => {
    const log = join(o.dir, `tcp-client-${from}.log`);
    const client: ChildProcess = topo.lab.spawn(o.client, [process.execPath, script, "client", o.to, String(o.port), from], log);
    const lines = () => readText(log).trim().split("\n");
    return {
      echoes: () => Number(lines()[lines().length - 1]) || 0,
      log: () => `client: ${lines().slice(-3).join(" ")}; route: ${JSON.stringify(topo.lab.routeGet(o.client, [o.to, "from", from]))}`,
      stop: () => {
        const last = lines();
        const alive = client.exitCode === null;
        topo.lab.stop(client);
        if (--running === 0) topo.lab.stop(server);
        return alive && Number(last[last.length - 1]) > 0 ? undefined : `the connection from ${from} ended: ${last.slice(-3).join(" ")}`;
      },
    };
  });
}

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

/** The internet drops what is sent to these addresses (other traffic passes): all of it, or this percentage at random (this kernel has no netem). Returns the undo, which does its work once. */
export function dropAt(topo: Topology, addresses: string[], percent?: number): () => void {
  const match = `ip daddr { ${addresses.join(", ")} }${percent !== undefined ? ` numgen random mod 100 lt ${percent}` : ""}`;
  topo.lab.sh("net", `nft add table inet gh_drop && nft add chain inet gh_drop probes '{ type filter hook prerouting priority -300; }' && nft add rule inet gh_drop probes ${match} counter drop`);
  let undone = false;
  return () => {
    if (!undone) topo.lab.sh("net", "nft delete table inet gh_drop");
    undone = true;
  };
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
  return r.stdout.split("\n").flatMap((l) => flowId(l) ?? []).sort();
}

/** A conntrack line's flow id: its last id= (an ICMP entry has its echo ids before it). */
const flowId = (line: string): string | undefined => [...line.matchAll(/ id=(\d+)/g)].pop()?.[1];

/**
 * conntrack's events in the host from now on (the topology has every flow
 * report them: net.netfilter.nf_conntrack_events=1). A flow's id is not
 * unique over time: a new flow with the same original tuple can get the id
 * of one just destroyed, so removal is told by the DESTROY event.
 */
export function trackedEvents(topo: Topology, dir: string): { destroyed(ids: string[]): string[]; createdThrough(address: string, sinceS: number): string[]; log(): string; matching(text: string): string[]; stop(): void } {
  const file = join(dir, `conntrack-events-${Date.now()}.log`);
  const child = topo.lab.spawn("host", ["stdbuf", "-oL", "conntrack", "-E", "-o", "timestamp,id"], file);
  // conntrack subscribes before it prints anything; give it that moment
  sleepSync(200);
  const lines = () => readText(file).split("\n");
  const timeOf = (l: string) => Number(/^\[(\d+\.\d+)\]/.exec(l)?.[1] ?? 0);
  return {
    destroyed: (ids) => {
      const gone = new Set(lines().filter((l) => l.includes("[DESTROY]")).map(flowId));
      return ids.filter((id) => gone.has(id));
    },
    // flows to the remote started since then whose replies come to this address
    createdThrough: (address, sinceS) => lines().filter((l) => l.includes("[NEW]") && timeOf(l) >= sinceS && l.includes(` dst=${REMOTE4} `) && new RegExp(`src=${REMOTE4.replace(/\./g, "\\.")} dst=${address.replace(/\./g, "\\.")} `).test(l)),
    log: () => lines().slice(-60).join("\n"),
    matching: (text) => lines().filter((l) => l.includes(text)),
    stop: () => topo.lab.stop(child),
  };
}

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
    log: () => c.exec(["journalctl", "--no-pager", "-n", "40", "-o", "short-precise", "-t", "gen-hooks"]).stdout,
  };
}
