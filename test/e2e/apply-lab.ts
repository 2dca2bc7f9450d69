// The apply proof's lab pieces, free of the test runner (bench/hitless.ts
// uses them too): the bin in a booted container, run by the release's own
// nodejs, and what is lost while a change is applied.
import { copyFileSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { readText, sleep } from "./lab.js";
import { longLivedTcps } from "./health-lab.js";
import type { Container } from "./boot.js";
import type { Topology } from "./topology.js";

export const MODELS = new URL("apply/", import.meta.url).pathname;
const DIST = new URL("../../dist/", import.meta.url).pathname;

/** The built bin inside the running container (run by the release's own nodejs package), and the models. */
export function installBin(c: Container): void {
  mkdirSync(c.path("/usr/local/lib/gen-hooks"), { recursive: true });
  for (const f of ["gen-hooks.cjs", "gen-hooks.bundle.cjs", "gen-hooks.bundle.cjs.v8cache"]) copyFileSync(join(DIST, f), c.path(`/usr/local/lib/gen-hooks/${f}`));
  mkdirSync(c.path("/etc/gen-hooks"), { recursive: true });
  for (const m of readdirSync(MODELS).filter((f) => f.endsWith(".yaml"))) copyFileSync(join(MODELS, m), c.path(`/etc/gen-hooks/${m}`));
}

export const UPLINK_ADDRESSES = ["198.51.100.2", "203.0.113.2"];

export interface Losses {
  pings: { to: string; sent: number; lost: number }[];
  /** why each TCP connection ended, or undefined while it lives */
  tcp: (string | undefined)[];
}

/** While `act` runs: a 50-per-second ping from the lab to each uplink address, and a TCP connection from each. */
export async function measured(topo: Topology, dir: string, name: string, act: () => Promise<void>): Promise<Losses> {
  const tcps = longLivedTcps(topo, UPLINK_ADDRESSES, join(dir, name));
  const pings = UPLINK_ADDRESSES.map((to) => {
    const log = join(dir, `ping-${name}-${to}.log`);
    const child = topo.lab.spawn("net", ["ping", "-n", "-q", "-i", "0.02", "-w", "6", to], log);
    return { to, log, done: new Promise<void>((resolve) => child.on("exit", () => resolve())) };
  });
  await sleep(1000);
  await act();
  await Promise.all(pings.map((p) => p.done));
  return {
    pings: pings.map((p) => {
      const m = /(\d+) packets transmitted, (\d+) received/.exec(readText(p.log));
      return { to: p.to, sent: Number(m?.[1] ?? 0), lost: m ? Number(m[1]) - Number(m[2]) : -1 };
    }),
    tcp: tcps.map((t) => t.stop()),
  };
}

export const shownLosses = (l: Losses) => `${l.pings.map((p) => `${p.to} ${p.lost} of ${p.sent}`).join(", ")}; TCP ${l.tcp.filter((t) => t !== undefined).length} of ${l.tcp.length} ended`;
