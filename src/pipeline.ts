// load -> validate -> plan -> render: the one path every command takes.
import { loadModelFile } from "./model/load.js";
import { validateModel } from "./model/validate.js";
import { buildPlan } from "./plan/plan.js";
import type { Plan } from "./plan/types.js";
import { renderTemplate } from "./render/engine.js";
import { findTarget, targetNames, targets, type TargetFile } from "./targets/index.js";
import { UsageError } from "./errors.js";
import type { Stack } from "./model/types.js";

export const DEFAULT_MODEL = "/etc/gen-hooks/uplinks.yaml";

export interface RenderedFile {
  path: string;
  content: string;
  mode: number;
}

export function planFromFile(modelPath: string): Plan {
  return buildPlan(validateModel(loadModelFile(modelPath)));
}

/**
 * The targets a name selects on a host of the given stack: "all" is that
 * stack's targets and the shared ones, never the other stack's (two managers
 * would configure the same interfaces); naming the other stack's target is
 * refused.
 */
export function selectTargets(name: string, stack: Stack) {
  if (name === "all") return targets.filter((t) => t.stack === undefined || t.stack === stack);
  const t = findTarget(name);
  if (!t) throw new UsageError(`unknown target '${name}'; targets: ${targetNames.join(", ")}, all`);
  if (t.stack !== undefined && t.stack !== stack)
    throw new UsageError(`target '${name}' is for hosts running ${t.stack}, and this one runs ${stack} (options.stack, or --stack); two stacks would configure the same interfaces`);
  return [t];
}

/**
 * Owned-path patterns of the selected targets. With "all", also the other
 * stack's own files: left by a switch of stack, they count as stale.
 */
export function ownedPatterns(targetName: string, stack: Stack): string[] {
  const selected = selectTargets(targetName, stack);
  const other = targetName === "all" ? targets.filter((t) => t.stack !== undefined && t.stack !== stack) : [];
  return [...new Set([...selected, ...other].flatMap((t) => t.owns ?? []))];
}

/** Every refusal of the selected targets (a UsageError), without rendering: what check runs. */
export function checkTargets(plan: Plan, targetName: string, stack: Stack = plan.stack): void {
  for (const t of selectTargets(targetName, stack)) t.refuse?.(plan);
}

/** The files the selected targets would write (each path once), not rendered yet. */
export function targetFiles(plan: Plan, targetName: string, stack: Stack = plan.stack): TargetFile[] {
  const byPath = new Map<string, TargetFile>();
  for (const t of selectTargets(targetName, stack)) for (const f of t.files(plan)) if (!byPath.has(f.path)) byPath.set(f.path, f);
  return [...byPath.values()];
}

export function renderTargets(plan: Plan, targetName: string, stack: Stack = plan.stack): RenderedFile[] {
  checkTargets(plan, targetName, stack);
  // Two targets may install the same file (a destination routes file): once.
  return targetFiles(plan, targetName, stack).map((f) => ({ path: f.path, content: renderTemplate(f.template, f.context), mode: f.mode ?? 0o644 }));
}
