// Which routing table and which failover metric each uplink gets.
import type { Model } from "../model/types.js";
import { RESERVED_TABLE_IDS } from "../model/validate.js";

export const MAIN_TABLE = 254;
export const FIRST_AUTO_TABLE = 101;
export const DESTINATION_TABLE_OFFSET = 1000;
export const FIRST_AUTO_METRIC = 100;

/** Explicit ids first; the rest from 101 upward; destination tables at table+1000 or the next free id. */
/** balance with health checks: the table of the multipath default over the healthy uplinks. */
export const HEALTH_TABLE_NAME = "gen-hooks-healthy";
const FIRST_HEALTH_TABLE = 100;

export const KILL_TABLE_OFFSET = 2000;

export function allocateTables(model: Model): { main: Map<string, number>; destinations: Map<string, number>; kill: Map<string, number>; health?: number } {
  const used = new Set<number>(RESERVED_TABLE_IDS);
  for (const u of model.uplinks) if (u.table !== undefined) used.add(u.table);
  const take = (from: number) => {
    let id = from;
    while (used.has(id)) id++;
    used.add(id);
    return id;
  };
  const main = new Map<string, number>();
  for (const u of model.uplinks) main.set(u.name, u.table ?? take(FIRST_AUTO_TABLE));
  const destinations = new Map<string, number>();
  for (const u of model.uplinks)
    if (u.destinations.length > 0) destinations.set(u.name, take(main.get(u.name)! + DESTINATION_TABLE_OFFSET));
  const kill = new Map<string, number>();
  for (const u of model.uplinks) if (!u.fallback && u.destinations.length > 0) kill.set(u.name, take(main.get(u.name)! + KILL_TABLE_OFFSET));
  const health = model.mode === "balance" && model.uplinks.some((u) => u.check !== undefined) ? take(FIRST_HEALTH_TABLE) : undefined;
  return { main, destinations, kill, health };
}

/**
 * Explicit metrics stay; the others are 100 + position, skipping taken
 * values. Backups (which take no explicit metric) come after every other
 * uplink, in list order: their main defaults are the last ones tried.
 */
export function allocateMetrics(model: Model): Map<string, number> {
  const used = new Set(model.uplinks.flatMap((u) => (u.metric === undefined ? [] : [u.metric])));
  const out = new Map<string, number>();
  for (const u of model.uplinks) {
    if (u.backup) continue;
    if (u.metric !== undefined) {
      out.set(u.name, u.metric);
      continue;
    }
    let m = FIRST_AUTO_METRIC + u.index;
    while (used.has(m)) m++;
    used.add(m);
    out.set(u.name, m);
  }
  let next = Math.max(FIRST_AUTO_METRIC - 1, ...out.values()) + 1;
  for (const u of model.uplinks.filter((u) => u.backup)) out.set(u.name, next++);
  return out;
}
