// load -> validate -> plan -> render: the one path every command takes.
import { loadModelFile } from "./model/load.js";
import { validateModel } from "./model/validate.js";
import { buildPlan } from "./plan/plan.js";
import type { Plan } from "./plan/types.js";
import { renderTemplate } from "./render/engine.js";
import { findTarget, targetNames, targets } from "./targets/index.js";
import { UsageError } from "./errors.js";

export const DEFAULT_MODEL = "/etc/gen-hooks/uplinks.yaml";

export interface RenderedFile {
  path: string;
  content: string;
  mode: number;
}

export function planFromFile(modelPath: string): Plan {
  return buildPlan(validateModel(loadModelFile(modelPath)));
}

export function selectTargets(name: string) {
  if (name === "all") return targets;
  const t = findTarget(name);
  if (!t) throw new UsageError(`unknown target '${name}'; targets: ${targetNames.join(", ")}, all`);
  return [t];
}

/** Owned-path patterns of the selected targets. */
export function ownedPatterns(targetName: string): string[] {
  return [...new Set(selectTargets(targetName).flatMap((t) => t.owns ?? []))];
}

/** Every refusal of the selected targets (a UsageError), without rendering: what check runs. */
export function checkTargets(plan: Plan, targetName: string): void {
  for (const t of selectTargets(targetName)) t.refuse?.(plan);
}

export function renderTargets(plan: Plan, targetName: string): RenderedFile[] {
  checkTargets(plan, targetName);
  // Two targets may install the same file (a destination routes file): once.
  const byPath = new Map<string, RenderedFile>();
  for (const t of selectTargets(targetName))
    for (const f of t.files(plan))
      if (!byPath.has(f.path)) byPath.set(f.path, { path: f.path, content: renderTemplate(f.template, f.context), mode: f.mode ?? 0o644 });
  return [...byPath.values()];
}
