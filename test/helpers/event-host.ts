// The rendered event script and its library in a folder of their own, driven
// as their callers drive them, with the commands that would change the
// kernel (ip, conntrack) and the journal (logger) recorded by stubs: the
// script's PATH and the library's path are pointed at the test's copies,
// nothing else of the script is changed. The ip stub answers
// "ip -o link show dev IFACE" with links/IFACE, as the test sets it.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { expect, onTestFinished } from "vitest";
import { runBin } from "./bin.js";

export interface EventHost {
  dir: string;
  state: string;
  /** Runs uplink-event with these arguments; it must succeed. */
  event: (...args: string[]) => void;
  /** What "ip -o link show dev IFACE" prints from now on. */
  link: (iface: string, line: string) => void;
  /** What event.d was told: one line a change. */
  changes: () => string[];
  journal: () => string[];
  commands: () => string;
  read: (file: string) => string;
}

/** Until nothing runs from the folder any more (a hold's timer, event.d's executables): 9 s at most, within the hook's timeout. */
async function idle(dir: string): Promise<void> {
  for (let i = 0; i < 180 && spawnSync("pgrep", ["-f", "--", dir]).status === 0; i++) await new Promise((r) => setTimeout(r, 50));
}

/**
 * A host in a temporary folder of its own, removed once the test has ended
 * and what the script left running in the background is done. With
 * collector, the folder of the metrics file (GEN_HOOKS_METRICS,
 * node-exporter/gen-hooks.prom) exists.
 */
export function eventHost(modelText: string, opts: { collector?: boolean } = {}): EventHost {
  const dir = mkdtempSync(join(tmpdir(), "gh-event-"));
  onTestFinished(async () => {
    await idle(dir);
    rmSync(dir, { recursive: true, force: true });
  });
  const env = { GEN_HOOKS_METRICS: join(dir, "node-exporter/gen-hooks.prom") };
  if (opts.collector) mkdirSync(join(dir, "node-exporter"));
  writeFileSync(join(dir, "model.yaml"), modelText);
  const r = runBin(["--target", "events", "--model", join(dir, "model.yaml"), "--root", join(dir, "root")]);
  expect(r.status, r.stderr).toBe(0);
  const etc = join(dir, "root/etc/gen-hooks");
  const [stubs, state, eventD, links] = ["stubs", "state", "event.d", "links"].map((d) => join(dir, d));
  for (const d of [stubs, state, eventD, links]) mkdirSync(d);
  const log = join(dir, "commands.log");
  writeFileSync(join(stubs, "ip"), `#!/bin/sh\necho "ip $*" >> ${log}\ncase "$*" in "-o link show dev "*) cat "${links}/$5" 2> /dev/null ;; esac\nexit 0\n`);
  writeFileSync(join(stubs, "conntrack"), `#!/bin/sh\necho "conntrack $*" >> ${log}\necho "0 flow entries" >&2\n`);
  writeFileSync(join(stubs, "logger"), `#!/bin/sh\necho "logger $*" >> ${log}\n`);
  for (const name of ["ip", "conntrack", "logger"]) chmodSync(join(stubs, name), 0o755);
  writeFileSync(join(eventD, "10-log"), `#!/bin/sh\necho "$*" >> ${join(dir, "events.log")}\n`);
  chmodSync(join(eventD, "10-log"), 0o755);
  const script = join(etc, "uplink-event");
  const text = readFileSync(script, "utf8");
  expect(text).toMatch(/^PATH=.*$/m);
  expect(text).toContain(". /etc/gen-hooks/uplink-lib.sh");
  writeFileSync(script, text.replace(/^PATH=(.*)$/m, `PATH=${stubs}:$1`).replace(". /etc/gen-hooks/uplink-lib.sh", `. ${join(etc, "uplink-lib.sh")}`));
  const read = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), "utf8") : "");
  return {
    dir,
    state,
    event: (...args) => {
      const r = spawnSync(script, args, { env: { ...process.env, GEN_HOOKS_STATE: state, GEN_HOOKS_EVENT_D: eventD, ...env }, encoding: "utf8", timeout: 10_000 });
      expect(r.status, `uplink-event ${args.join(" ")}: ${r.stderr}`).toBe(0);
    },
    link: (iface, line) => writeFileSync(join(links, iface), `${line}\n`),
    changes: () => read("events.log").split("\n").filter(Boolean),
    journal: () => read("commands.log").split("\n").filter((l) => l.startsWith("logger ")),
    commands: () => read("commands.log"),
    read,
  };
}
