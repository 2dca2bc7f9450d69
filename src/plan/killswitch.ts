// fallback: false. The traffic an uplink's selectors choose is refused while
// the uplink is down, whatever the cause: a rule in the free slot after each
// of its rules refuses what that rule selects (a destination table's rule
// falls through to a table of unreachable routes for the same prefixes).
// While the uplink is up its own rule answers first; when its table has no
// usable route (carrier, lease) or its rules are gone (ifdown, lost lease),
// or the health check jumps past them, the kill switch answers.
import type { Model } from "../model/types.js";
import { isReplyRule, ruleSelector, slotAfter } from "./rules.js";
import type { PlanKillSwitch, PlanRule } from "./types.js";

export const KILL_UNIT = "/etc/systemd/system/gen-hooks-killswitch.service";
const KILL_DIR = "/etc/gen-hooks";

export interface KillInputs {
  rules: PlanRule[];
  destinationTable: (uplink: string) => number | undefined;
  killTable: (uplink: string) => number | undefined;
  tableName: (id: number) => string;
}

export function killSwitchPlan(model: Model, x: KillInputs): PlanKillSwitch | undefined {
  const guarded = model.uplinks.filter((u) => !u.fallback);
  if (guarded.length === 0) return undefined;
  const rules = guarded.flatMap((u) =>
    x.rules
      .filter((r) => r.uplink === u.name && !isReplyRule(r))
      .map((r) => {
        const pinned = r.table === x.destinationTable(u.name);
        const kill = pinned ? x.killTable(u.name)! : undefined;
        return {
          family: r.family,
          priority: slotAfter(r),
          selector: ruleSelector(r),
          table: kill,
          tableName: kill === undefined ? undefined : x.tableName(kill),
          uplink: u.name,
          why: `${u.name} down: refuse what its rule ${r.priority} selects (${r.why})`,
        };
      }),
  );
  // a file, not lines of the event script: a list of thousands would make every event parse it
  const tables = guarded.flatMap((u) => {
    const id = x.killTable(u.name);
    if (id === undefined || u.destinations.length === 0) return [];
    const families = ([4, 6] as const).filter((f) => u.destinations.some((d) => d.family === f));
    return [{ uplink: u.name, families, table: id, tableName: x.tableName(id), prefixes: u.destinations.map((d) => d.text), file: `${KILL_DIR}/${u.name}-kill.batch` }];
  });
  return { rules, tables, unit: KILL_UNIT };
}
