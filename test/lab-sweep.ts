// Vitest's global setup and teardown: an interrupted run (a killed worker,
// Ctrl-C, a CI timeout) cannot run its labs' own cleanup, so every lab
// namespace whose creating process is gone (lab.ts names them
// gh<pid>x<n>-<role>) is swept here before the run and after it: the
// processes in it (a booted container's systemd, dnsmasq, lsm) killed, the
// namespace deleted, the containers' empty cgroups removed. The overlays of
// booted containers are mounted in private mount namespaces, which go with
// their processes. .ci/run does the same when the run itself is killed.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { processAlive as alive } from "./helpers/process.js";

const LAB_NS = /^gh(\d+)x\d+-/;


export function sweepLabs(): string[] {
  if (process.getuid?.() !== 0) return [];
  const list = spawnSync("ip", ["netns", "list"], { encoding: "utf8" });
  if (list.status !== 0) return [];
  const swept: string[] = [];
  for (const line of list.stdout.split("\n")) {
    const ns = line.split(" ")[0];
    const m = LAB_NS.exec(ns);
    if (!m || alive(Number(m[1]))) continue; // a live run's lab is its own

    const pids = spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).stdout?.trim().split(/\s+/).filter(Boolean) ?? [];
    for (const pid of pids) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        /* gone */
      }
    }
    spawnSync("ip", ["netns", "del", ns]);
    swept.push(ns);
  }
  // the booted containers' cgroups (boot.ts), empty once their processes are gone
  const cgroup = readFileSync("/proc/self/mountinfo", "utf8").split("\n").find((l) => l.includes(" - cgroup2 "))?.split(" ")[4];
  if (cgroup) {
    const labs = join(cgroup, "gen-hooks-lab");
    try {
      for (const d of readdirSync(labs)) if (LAB_NS.test(d) && !alive(Number(LAB_NS.exec(d)![1]))) rmdirSync(join(labs, d));
      rmdirSync(labs);
    } catch {
      /* none, or still in use */
    }
  }
  return swept;
}

export function setup(): void {
  const swept = sweepLabs();
  if (swept.length > 0) console.log(`removed ${swept.length} namespace(s) left by an interrupted run: ${swept.join(" ")}`);
}

export function teardown(): void {
  sweepLabs();
}
