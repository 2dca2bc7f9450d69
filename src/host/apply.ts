// gen-hooks apply, on the host: render, show the change, keep what it
// replaces, install atomically and move the kernel through the host's own
// stack (transition.ts); remember what was applied, so that the next apply
// knows what to take away. With --try, a systemd timer that outlives the
// caller's session puts the previous files and state back unless confirmed.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Plan } from "../plan/types.js";
import type { Stack } from "../model/types.js";
import { ownedPatterns, renderTargets, type RenderedFile } from "../pipeline.js";
import { installPath, staleFiles, writeTree } from "../render/writer.js";
import { diffTree } from "../render/differ.js";
import { transition, type Step, type Transition } from "./transition.js";
import { UsageError } from "../errors.js";
import { hostWarnings } from "./warnings.js";

export const STATE_DIR = "/var/lib/gen-hooks";
export const ROLLBACK_UNIT = "gen-hooks-rollback";

/** What apply recorded: the plan in effect and where it came from. */
export interface Applied {
  model: string;
  stack: Stack;
  plan: Plan;
}

export type Runner = (argv: string[], input?: string) => { status: number; stdout: string; stderr: string };

export interface ApplyIo {
  out: (s: string) => void;
  run: Runner;
}

const state = (root: string, ...p: string[]) => join(installPath(root, STATE_DIR), ...p);
const read = (path: string) => (existsSync(path) ? readFileSync(path, "utf8") : undefined);

export function readApplied(root: string, which: "applied" | "previous" = "applied"): Applied | undefined {
  const text = read(which === "applied" ? state(root, "applied.json") : state(root, "previous", "applied.json"));
  return text ? (JSON.parse(text) as Applied) : undefined;
}

const show = (argv: string[]) => argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(" ");

function runSteps(steps: Step[], io: ApplyIo): void {
  for (const s of steps) {
    io.out(`$ ${show(s.argv)}${s.input ? ` <<< ${s.input.split("\n").filter(Boolean).length} line(s)` : ""}\n`);
    const r = io.run(s.argv, s.input);
    if (r.status !== 0 && !s.mayFail) throw new StepFailed(s, r.stderr.trim() || `exit ${r.status}`);
  }
}

class StepFailed extends Error {
  constructor(
    readonly step: Step,
    why: string,
  ) {
    super(`${show(step.argv)} failed: ${why}`);
  }
}

interface Change {
  files: RenderedFile[];
  stale: string[];
  changed: string[];
  patches: string[];
  t: Transition;
}

function change(root: string, stack: Stack, previous: Plan | undefined, next: Plan | undefined, files: RenderedFile[], stale: string[], io: ApplyIo): Change {
  const diffs = diffTree(root, files, stale);
  const running = (unit: string) => io.run(["systemctl", "is-active", "--quiet", unit]).status === 0;
  // another root is not this host: its interfaces are taken as there
  const present = (iface: string) => root !== "/" || existsSync(`/sys/class/net/${iface}`);
  const t = transition(stack, previous, next, (p) => read(installPath(root, p)), files, stale, running, present);
  return { files, stale, changed: diffs.filter((d) => d.patch).map((d) => d.path), patches: diffs.map((d) => d.patch).filter(Boolean), t };
}

/** Keep what the change replaces or removes, the plan in effect and the interfaces it reconfigures, for a rollback. */
function keepPrevious(root: string, c: Change, applied: Applied | undefined): void {
  const dir = state(root, "previous");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "files"), { recursive: true });
  const absent: string[] = [];
  for (const path of c.changed) {
    const now = read(installPath(root, path));
    if (now === undefined) absent.push(path);
    else {
      mkdirSync(dirname(join(dir, "files", path)), { recursive: true });
      writeFileSync(join(dir, "files", path), now);
    }
  }
  writeFileSync(join(dir, "bounced.json"), JSON.stringify(c.t.bounced));
  writeFileSync(join(dir, "absent.json"), JSON.stringify(absent));
  if (applied) writeFileSync(join(dir, "applied.json"), JSON.stringify(applied));
}

function record(root: string, applied: Applied | undefined): void {
  mkdirSync(state(root), { recursive: true });
  const path = state(root, "applied.json");
  if (applied) writeFileSync(path, JSON.stringify(applied));
  else rmSync(path, { force: true });
}

/** Files and state as before the last apply: what rollback and a failed apply put back. */
function restore(root: string, io: ApplyIo, current: Applied | undefined): void {
  const dir = state(root, "previous");
  if (!hasPrevious(root)) throw new UsageError("nothing to roll back: no apply kept a previous configuration");
  const previous = readApplied(root, "previous");
  const absent = JSON.parse(readFileSync(join(dir, "absent.json"), "utf8")) as string[];
  const files: RenderedFile[] = [];
  const walk = (rel: string) => {
    const full = join(dir, "files", rel);
    for (const name of readdirSync(full, { withFileTypes: true })) {
      const p = `${rel}/${name.name}`;
      if (name.isDirectory()) walk(p);
      else files.push({ path: p, content: readFileSync(join(dir, "files", p), "utf8"), mode: (statSync(installPath(root, p), { throwIfNoEntry: false })?.mode ?? 0o644) & 0o7777 });
    }
  };
  if (existsSync(join(dir, "files"))) walk("");
  const stack = current?.stack ?? previous?.stack ?? "ifupdown";
  const c = change(root, stack, current?.plan, previous?.plan, files, absent, io);
  // An apply that died half way (its session killed) may have taken
  // interfaces down and installed nothing yet: the files then say there is
  // nothing to do, so the interfaces it reconfigured are brought up again.
  const bouncedPath = join(dir, "bounced.json");
  const bounced = existsSync(bouncedPath) ? (JSON.parse(readFileSync(bouncedPath, "utf8")) as string[]) : [];
  const configured = new Set(previous?.plan.interfaces.map((i) => i.name) ?? []);
  const again: Step[] = bounced
    .filter((i) => configured.has(i) && !c.t.bounced.includes(i))
    .map((i) => ({ argv: stack === "ifupdown" ? ["ifup", i] : ["networkctl", "reconfigure", i], mayFail: true }));
  runSteps(c.t.before, io);
  writeTree(root, files, absent, true);
  runSteps([...c.t.after, ...again], io);
  record(root, previous);
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Apply the plan: print the file changes and the commands, then (unless
 * dryRun) keep what it replaces, call beforeFirstChange, install and run
 * them. Returns whether anything changed.
 */
export function apply(opts: { root: string; modelPath: string; plan: Plan; stack: Stack; dryRun: boolean }, io: ApplyIo, beforeFirstChange?: () => void): boolean {
  const { root, plan, stack } = opts;
  const files = renderTargets(plan, "all", stack);
  const stale = staleFiles(root, ownedPatterns("all", stack), files);
  const applied = readApplied(root);
  const c = change(root, stack, applied?.plan, plan, files, stale, io);
  const warnings = hostWarnings(root, plan, "all", stack);
  for (const w of warnings) io.out(`gen-hooks: ${w.blocking ? "in the way" : "warning"}: ${w.text}\n`);
  const blocked = warnings.filter((w) => w.blocking).length;
  if (blocked > 0 && !opts.dryRun) throw new UsageError(`the host's own configuration is in the way of ${blocked === 1 ? "the model (above)" : `the model (${blocked} places above)`}; nothing was changed`);
  for (const p of c.patches) io.out(p);
  for (const i of c.t.absent)
    io.out(`gen-hooks: ${i} is not on this host now: nothing is run for it; ${stack === "networkd" ? "networkd configures it when it appears" : plan.interfaces.find((x) => x.name === i)?.hotplug ? "udev's hotplug brings it up when it appears (allow-hotplug)" : `run "ifup ${i}" when it appears (or give its uplink hotplug: true)`}, and status says absent until then\n`);
  const steps = [...c.t.before, ...c.t.after];
  if (c.changed.length === 0 && steps.length === 0) {
    if (!opts.dryRun) record(root, { model: opts.modelPath, stack, plan });
    io.out("gen-hooks: nothing to change\n");
    return false;
  }
  if (opts.dryRun) {
    if (blocked > 0) io.out(`gen-hooks: apply would refuse while the host's own configuration is in the way (above)\n`);
    io.out(`gen-hooks: would change ${c.changed.length} file(s)${c.t.bounced.length ? `, reconfigure ${c.t.bounced.join(", ")}` : ""}${c.t.inPlace.length ? `, change the routes and rules of ${c.t.inPlace.join(", ")} in place` : ""} and run:\n`);
    for (const s of steps) io.out(`  ${show(s.argv)}\n`);
    return true;
  }
  keepPrevious(root, c, applied);
  try {
    // --try arms its rollback here: a session that dies during the change is rolled back too
    beforeFirstChange?.();
  } catch (err) {
    forget(root);
    throw err;
  }
  writeFileSync(state(root, "applying"), String(process.pid));
  try {
    runSteps(c.t.before, io);
    writeTree(root, files, stale, true);
    record(root, { model: opts.modelPath, stack, plan });
    runSteps(c.t.after, io);
  } catch (err) {
    if (!(err instanceof StepFailed)) throw err;
    io.out(`gen-hooks: ${err.message}; putting the previous configuration back\n`);
    try {
      restore(root, io, { model: opts.modelPath, stack, plan });
    } catch (again) {
      if (!(again instanceof StepFailed)) throw again;
      throw new UsageError(`${err.message}; putting the previous configuration back failed too (${again.message}): its files are installed, check the host`);
    }
    throw new UsageError(`${err.message}; the previous configuration is back`);
  } finally {
    rmSync(state(root, "applying"), { force: true });
  }
  io.out(`gen-hooks: applied ${opts.modelPath} (${stack}): ${c.changed.length} file(s)${c.t.bounced.length ? `, reconfigured ${c.t.bounced.join(", ")}` : ""}${c.t.inPlace.length ? `, ${c.t.inPlace.join(", ")} changed in place` : ""}\n`);
  return true;
}

/** Put the files and kernel state of before the last apply back. */
export function rollback(root: string, io: ApplyIo): void {
  // an apply still running (a --try shorter than the change) finishes first
  const until = Date.now() + 120_000;
  while (applying(root) && Date.now() < until) sleep(200);
  restore(root, io, readApplied(root));
  io.out("gen-hooks: rolled back to the configuration before the last apply\n");
}

/** Block this process for ms (apply waits on timers and other processes, and has nothing else to do). */
export const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Whether an apply is changing the host now (its process is alive). */
function applying(root: string): boolean {
  const pid = Number(read(state(root, "applying")));
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export const confirmFile = (root: string) => state(root, "confirmed");
export const hasPrevious = (root: string) => existsSync(state(root, "previous", "absent.json"));
/** Confirmed: the kept previous configuration is no longer needed. */
export function forget(root: string): void {
  rmSync(state(root, "previous"), { recursive: true, force: true });
}
