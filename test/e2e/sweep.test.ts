// An interrupted run's labs are swept by the next run (and after every run):
// a namespace of a process that is gone goes, with what runs in it; a live
// process's lab stays.
import { spawn, spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { sweepLabs } from "../lab-sweep.js";
import { labUnavailable } from "./lab.js";

const why = labUnavailable();

describe.skipIf(why !== undefined)(`sweeping what an interrupted run left${why ? ` (skipped: ${why})` : ""}`, () => {
  it("a dead run's namespace and its processes go; a live run's lab stays", async () => {
    // a pid that is not running: the highest one the kernel hands out plus one
    const dead = Number(spawnSync("cat", ["/proc/sys/kernel/pid_max"], { encoding: "utf8" }).stdout.trim()) + 1;
    const left = `gh${dead}x0-sweep`;
    const live = `gh${process.pid}x99-sweep`;
    try {
      for (const ns of [left, live]) expect(spawnSync("ip", ["netns", "add", ns]).status).toBe(0);
      const sleeper = spawn("ip", ["netns", "exec", left, "sleep", "60"], { stdio: "ignore" });
      const gone = new Promise<number | null>((resolve) => sleeper.on("exit", (_, signal) => resolve(signal === "SIGKILL" ? 9 : null)));
      await new Promise((r) => setTimeout(r, 300));
      expect(sweepLabs()).toContain(left);
      expect(await gone, "the process in the dead run's namespace was killed").toBe(9);
      const names = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout;
      expect(names).not.toContain(left);
      expect(names).toContain(live);
    } finally {
      for (const ns of [left, live]) spawnSync("ip", ["netns", "del", ns]);
    }
  });
});
