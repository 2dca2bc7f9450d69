// Which ip rules an uplink needs for one family, and at what priority. Static
// hooks and the uplink-event script (learned addresses) add the same rules.
import type { Family, Uplink } from "../model/types.js";
import type { PlanRule } from "./types.js";
import { KEEP_MASK } from "./keep.js";

/**
 * Rule priorities: one band per selector, uplink index within the band.
 * Destinations win over everything (an ISP's DNS answers only its own
 * network); marks come before source addresses because a packet marked after
 * routing (OUTPUT) already carries the source of the first lookup.
 */
export const PRIORITY = { destinations: 1000, mark: 2000, from: 3000, users: 4000, sources: 5000 } as const;

/**
 * Three priorities per uplink in a band: its rule in the middle, free slots
 * on either side for the health checks (a rule that jumps over it while its
 * provider is dead, and the landing after it).
 */
export const SLOTS_PER_UPLINK = 3;
export const rulePriority = (band: number, index: number) => band + SLOTS_PER_UPLINK * index + 1;

export interface RuleTables {
  table: number;
  destinationTable?: number;
  tableName: (id: number) => string;
  /** failback: keep: the mark of the connections that left by the uplink (keep.ts). */
  keepMark?: string;
}

/**
 * The rules of uplink u for family f. `hosts` are its own addresses as rule
 * selectors (198.51.100.2/32, or "$host" for a learned one); `routable` says
 * whether the family has a path through the uplink (selectors need one).
 */
export function uplinkRules(u: Uplink, f: Family, t: RuleTables, hosts: string[], routable: boolean): PlanRule[] {
  const out: PlanRule[] = [];
  const rule = (r: Omit<PlanRule, "uplink" | "tableName" | "family">) =>
    out.push({ from: undefined, fwmark: undefined, fwmask: undefined, uidrange: undefined, ...r, family: f, uplink: u.name, tableName: t.tableName(r.table) });
  if (t.destinationTable !== undefined && u.destinations.some((d) => d.family === f))
    rule({ priority: rulePriority(PRIORITY.destinations, u.index), table: t.destinationTable, why: `${u.name}: pinned destinations first` });
  if (u.mark !== undefined && routable)
    rule({ priority: rulePriority(PRIORITY.mark, u.index), table: t.table, fwmark: `0x${u.mark.toString(16)}`, why: `${u.name}: fwmark` });
  // a backup has no mark of the model's own (validate.ts): its slot in the band is free
  if (t.keepMark !== undefined && routable)
    rule({ priority: rulePriority(PRIORITY.mark, u.index), table: t.table, fwmark: t.keepMark, fwmask: KEEP_MASK, why: `${u.name}: the connections that left by it stay (failback: keep)` });
  for (const host of hosts) rule({ priority: rulePriority(PRIORITY.from, u.index), table: t.table, from: host, why: `${u.name}: replies from its ${host === "$net" ? "advertised prefix" : "address"}` });
  if (routable)
    for (const r of u.users)
      rule({ priority: rulePriority(PRIORITY.users, u.index), table: t.table, uidrange: `${r.from}-${r.to}`, why: `${u.name}: sockets of these uids` });
  for (const s of u.sources.filter((s) => s.family === f))
    rule({ priority: rulePriority(PRIORITY.sources, u.index), table: t.table, from: s.text, why: `${u.name}: traffic from this source` });
  return out;
}

/** A rule's selector as ip rule takes it: " fwmark 0x1", " fwmark 0x80000000/0xff000000", " uidrange 1001-1001", "" (a destination table's rule selects every packet). */
export const ruleSelector = (r: Pick<PlanRule, "from" | "fwmark" | "fwmask" | "uidrange">) => `${r.from ? ` from ${r.from}` : ""}${r.fwmark ? ` fwmark ${r.fwmark}${r.fwmask ? `/${r.fwmask}` : ""}` : ""}${r.uidrange ? ` uidrange ${r.uidrange}` : ""}`;

/** The free slots beside an uplink's rule: before it a health check's jump, after it where the jump lands (the kill switch's rule, or a nop). */
export const slotBefore = (r: PlanRule) => r.priority - 1;
export const slotAfter = (r: PlanRule) => r.priority + 1;

/** Replies from the uplink's own address stay with it: through another provider they would be dropped as spoofed. */
export const isReplyRule = (r: PlanRule) => r.priority > PRIORITY.from && r.priority < PRIORITY.users;
