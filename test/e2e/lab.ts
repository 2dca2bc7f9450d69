// The network-namespace lab: one module, one cleanup path. Every namespace
// and process it makes carries the run's unique prefix and is removed by
// destroy(), which tests call from finally/afterAll. Nothing here touches
// the machine's own namespace except creating and deleting namespaces.
import { execFileSync, spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";

let counter = 0;

export interface ExecResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Why the real-stack tests cannot run here, or undefined when they can. */
export function labUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "not root";
  const missing = missingTool(["ip", "ifup", "nft", "sysctl", "ping"]);
  if (missing) return missing;
  if (spawnSync("sh", ["-c", "test -x /lib/systemd/systemd-networkd"]).status !== 0) return "systemd-networkd is not installed";
  const probe = `ghprobe${process.pid}`;
  const r = spawnSync("ip", ["netns", "add", probe], { encoding: "utf8" });
  if (r.status !== 0) return `cannot create network namespaces: ${r.stderr.trim()}`;
  spawnSync("ip", ["netns", "del", probe]);
  return undefined;
}

export const installed = (tool: string): boolean => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;

/** "TOOL is not installed" for the first tool missing, or undefined. */
export function missingTool(tools: string[]): string | undefined {
  const tool = tools.find((t) => !installed(t));
  return tool && `${tool} is not installed`;
}

export class Lab {
  readonly prefix: string;
  private readonly namespaces: string[] = [];
  private readonly processes: ChildProcess[] = [];
  private readonly cleanups: (() => void)[] = [];

  constructor() {
    // the whole pid: test/lab-sweep.ts tells a live run's lab from a dead one's by it
    this.prefix = `gh${process.pid}x${counter++}`;
  }

  /** The full namespace name for a role. */
  ns(role: string): string {
    return `${this.prefix}-${role}`;
  }

  addNs(role: string): string {
    const name = this.ns(role);
    execFileSync("ip", ["netns", "add", name]);
    this.namespaces.push(name);
    this.sh(role, "ip link set lo up");
    return name;
  }

  /** Run argv inside a namespace; throws with stderr on failure. */
  run(role: string, argv: string[], opts: { timeoutMs?: number } = {}): string {
    const r = this.tryRun(role, argv, opts);
    if (r.status !== 0) throw new Error(`[${role}] ${argv.join(" ")} failed (${r.status}): ${r.stderr.trim()}`);
    return r.stdout;
  }

  tryRun(role: string, argv: string[], opts: { timeoutMs?: number } = {}): ExecResult {
    return execResult(
      spawnSync("ip", ["netns", "exec", this.ns(role), ...argv], {
        encoding: "utf8",
        timeout: opts.timeoutMs ?? 30_000,
      }),
    );
  }

  sh(role: string, script: string, opts: { timeoutMs?: number } = {}): string {
    return this.run(role, ["sh", "-c", script], opts);
  }

  /** A veth pair from (roleA, ifA) to (roleB, ifB), created inside the namespaces; B's end is up. */
  veth(roleA: string, ifA: string, roleB: string, ifB: string): void {
    execFileSync("ip", ["link", "add", ifA, "netns", this.ns(roleA), "type", "veth", "peer", "name", ifB, "netns", this.ns(roleB)]);
    this.run(roleB, ["ip", "link", "set", ifB, "up"]);
  }

  /** Start a long-running process in a namespace; killed by destroy(). */
  spawn(role: string, argv: string[], logFile: string): ChildProcess {
    return this.spawnHere(["ip", "netns", "exec", this.ns(role), ...argv], logFile);
  }

  /**
   * Start a long-running process that joins a namespace itself (as
   * systemd-nspawn does), so that it sees the machine's /sys; killed by
   * destroy() like the others.
   */
  spawnHere(argv: string[], logFile: string): ChildProcess {
    const fd = openSync(logFile, "a");
    const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", fd, fd], detached: true });
    closeSync(fd);
    this.processes.push(child);
    return child;
  }

  stop(child: ChildProcess): void {
    if (child.pid && child.exitCode === null) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        /* already gone */
      }
      for (let i = 0; i < 30 && alive(child.pid); i++) sleepSync(100);
      if (alive(child.pid)) process.kill(-child.pid, "SIGKILL");
    }
  }

  /** Run fn when the lab is destroyed, after its processes and namespaces are gone. */
  onDestroy(fn: () => void): void {
    this.cleanups.push(fn);
  }

  destroy(): void {
    for (const p of this.processes) {
      try {
        this.stop(p);
      } catch {
        /* keep cleaning */
      }
    }
    // Anything else still running in our namespaces (ifplugd, a stray hook).
    for (const ns of this.namespaces) {
      const pids = spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).stdout?.trim().split(/\s+/).filter(Boolean) ?? [];
      for (const pid of pids) {
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {
          /* gone */
        }
      }
    }
    for (const ns of this.namespaces.reverse()) spawnSync("ip", ["netns", "del", ns]);
    this.namespaces.length = 0;
    for (const fn of this.cleanups.splice(0)) {
      try {
        fn();
      } catch {
        /* keep cleaning */
      }
    }
  }

  // ---------------------------------------------------------- kernel answers

  json<T = unknown>(role: string, argv: string[]): T {
    const out = this.run(role, ["ip", "-j", ...argv]).trim();
    return (out ? JSON.parse(out) : []) as T;
  }

  /** ip route get, as the kernel answers it; undefined when unreachable. */
  routeGet(role: string, args: string[]): { dev?: string; gateway?: string; prefsrc?: string; table?: string } | undefined {
    const family = args[0].includes(":") ? "-6" : "-4";
    const r = this.tryRun(role, ["ip", "-j", family, "route", "get", ...args]);
    if (r.status !== 0) return undefined;
    return (JSON.parse(r.stdout) as { dev?: string; gateway?: string; prefsrc?: string }[])[0];
  }

  /**
   * Many ip route get lookups in one ip process (ip -batch); the answers of
   * the lookups that have one, in order (an unreachable one has none).
   */
  routeGetMany(role: string, lookups: string[][]): { dev?: string; gateway?: string; prefsrc?: string }[] {
    const family = lookups[0]?.[0].includes(":") ? "-6" : "-4";
    const r = spawnSync("ip", ["netns", "exec", this.ns(role), "ip", "-j", "-force", family, "-batch", "-"], {
      input: lookups.map((l) => `route get ${l.join(" ")}`).join("\n") + "\n",
      encoding: "utf8",
      timeout: 30_000,
    });
    return (r.stdout ?? "").split("\n").filter((l) => l.startsWith("[")).flatMap((l) => JSON.parse(l) as { dev?: string }[]);
  }

  /**
   * Whether target answers: an echo every 0.2 s until the first reply, for
   * as long as `count` echoes a second apart and a wait of `waitS` for the
   * last took before (a lost first echo, a neighbour being learned), but
   * done at the first answer instead of after a second per echo.
   */
  ping(role: string, target: string, opts: { from?: string; count?: number; waitS?: number } = {}): boolean {
    const deadline = (opts.count ?? 1) - 1 + (opts.waitS ?? 1);
    const argv = ["ping", "-n", "-q", "-c", "1", "-i", "0.2", "-w", String(deadline)];
    if (opts.from) argv.push("-I", opts.from);
    argv.push(target);
    return this.tryRun(role, argv, { timeoutMs: 10_000 }).status === 0;
  }

  /** A file as seen from inside the namespace (/proc/sys, /sys/class/net), trimmed. */
  readFile(role: string, path: string): string {
    return this.run(role, ["cat", path]).trim();
  }

  rxPackets(role: string, dev: string): number {
    return Number(this.readFile(role, `/sys/class/net/${dev}/statistics/rx_packets`));
  }

  /**
   * Rules and routes of both families, each section sorted: what "exactly the
   * intended state" is compared on. Sorted because the kernel lists routes
   * with the same prefix in insertion order, which a re-added link changes.
   */
  snapshot(role: string): string {
    const parts: string[] = [];
    for (const f of ["-4", "-6"]) {
      parts.push(this.run(role, ["ip", f, "rule", "show"]));
      parts.push(
        this.run(role, ["ip", "-o", f, "route", "show", "table", "all"])
          .split("\n")
          .filter((l) => !/ proto kernel .*fe80|^local fe80|^multicast|^anycast/.test(l)) // link-local churn
          .map((l) => l.replace(/ expires \d+sec/, ""))
          .sort()
          .join("\n"),
      );
    }
    return parts.join("\n----\n");
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Poll until cond() holds or the time runs out; returns whether it held.
 * Asynchronous so that the test runner's worker stays responsive.
 */
export async function waitFor(cond: () => boolean, timeoutMs: number, stepMs = 100): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (cond()) return true;
    if (Date.now() >= end) return false;
    await sleep(stepMs);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A spawnSync result as an ExecResult; a spawn failure (a timeout) lands in stderr. */
export function execResult(r: SpawnSyncReturns<string>): ExecResult {
  return { status: r.status ?? -1, stdout: r.stdout ?? "", stderr: (r.stderr ?? "") + (r.error ? String(r.error) : "") };
}

/** Only for the short waits of cleanup, which must stay synchronous. */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
