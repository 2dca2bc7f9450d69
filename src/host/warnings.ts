// What check, diff, --root and apply say about the files already installed
// under a root: the admin's own configuration that would keep the rendered
// files from working, and files gen-hooks would replace without having
// written them.
import type { Plan } from "../plan/types.js";
import type { Stack } from "../model/types.js";
import { selectTargets, targetFiles } from "../pipeline.js";
import { renderTemplate } from "../render/engine.js";
import { IFUPDOWN_FILE } from "../targets/index.js";
import { foreignFiles, keptPath } from "../render/writer.js";
import { ifupdownWarnings } from "./ifupdown.js";

export interface HostWarning {
  text: string;
  /** apply refuses while it stands: the admin's configuration and the rendered one would fight over an interface. */
  blocking: boolean;
}

export function hostWarnings(root: string, plan: Plan, target: string, stack: Stack): HostWarning[] {
  const out: HostWarning[] = [];
  if (selectTargets(target, stack).some((t) => t.name === "ifupdown")) out.push(...ifupdownWarnings(root, plan, IFUPDOWN_FILE).map((text) => ({ text, blocking: true })));
  for (const path of foreignFiles(root, targetFiles(plan, target, stack).map((f) => ({ path: f.path, content: () => renderTemplate(f.template, f.context) }))))
    out.push({ text: `${path} was not written by gen-hooks (a package's or the admin's file); writing replaces it, and keeps it as ${keptPath(path)}, put back when no model needs the file`, blocking: false });
  return out;
}
