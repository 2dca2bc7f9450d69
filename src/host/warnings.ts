// What check, diff, --root and apply say about the files already installed
// under a root: the admin's own configuration that would fight the rendered
// files over an interface (ifupdown's stanzas, networkd's .network files in
// every folder networkd reads, netplan's among them), and files gen-hooks
// would replace without having written them.
import { readFileSync } from "node:fs";
import type { Plan } from "../plan/types.js";
import type { Stack } from "../model/types.js";
import { selectTargets, targetFiles } from "../pipeline.js";
import { renderTemplate } from "../render/engine.js";
import { IFUPDOWN_FILE } from "../targets/index.js";
import { foreignFiles, keptPath } from "../render/writer.js";
import { ifupdownWarnings } from "./ifupdown.js";
import { networkdWarnings } from "./networkd.js";

export interface HostWarning {
  text: string;
  /** apply refuses while it stands: the admin's configuration and the rendered one would fight over an interface. */
  blocking: boolean;
}

/** An interface's MAC address on this host, if it has the interface. */
function liveMac(iface: string): string | undefined {
  try {
    return readFileSync(`/sys/class/net/${iface}/address`, "utf8").trim();
  } catch {
    return undefined;
  }
}

export function hostWarnings(root: string, plan: Plan, target: string, stack: Stack): HostWarning[] {
  const out: HostWarning[] = [];
  const selected = selectTargets(target, stack);
  if (selected.some((t) => t.name === "ifupdown")) out.push(...ifupdownWarnings(root, plan, IFUPDOWN_FILE).map((text) => ({ text, blocking: true })));
  if (selected.some((t) => t.name === "networkd")) out.push(...networkdWarnings(root, plan, root === "/" ? liveMac : undefined));
  for (const path of foreignFiles(root, targetFiles(plan, target, stack).map((f) => ({ path: f.path, content: () => renderTemplate(f.template, f.context) }))))
    out.push({ text: `${path} was not written by gen-hooks (a package's or the admin's file); writing replaces it, and keeps it as ${keptPath(path)}, put back when no model needs the file`, blocking: false });
  return out;
}
