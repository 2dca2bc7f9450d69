// Health checks: what lsm probes, and what the uplink-event script changes
// while a checked uplink's provider is dead. Nothing the stacks own is
// touched: the script adds rules of its own (which no stack removes), so a
// renewal, an ifup or a networkd restart cannot bring a dead uplink back.
import type { Family, Model } from "../model/types.js";
import { isReplyRule, ruleSelector, slotAfter, slotBefore } from "./rules.js";
import { leaseStates } from "./leases.js";
import type { PlanBypass, PlanCheck, PlanHealth, PlanLease, PlanMultipath, PlanRule, PlanSkip } from "./types.js";

/** Before the main table (32766), after every selector band: where traffic for the main table is turned away from dead uplinks. */
export const BYPASS_PRIORITY = 32000;
export const LSM_CONFIG = "/etc/gen-hooks/lsm.conf";
export const HEALTH_UNIT = "/etc/systemd/system/gen-hooks-health.service";
/** The admin's executables, run on every state change with NAME STATE IFACE. */
export const EVENT_DIR = "/etc/gen-hooks/event.d";
/** lsm waits this long for each reply (at most; never longer than two intervals, so a probe is lost before the next but one leaves). */
const MAX_TIMEOUT_MS = 500;

export interface HealthInputs {
  rules: PlanRule[];
  leases: PlanLease[];
  multipath: PlanMultipath[];
  table: (uplink: string) => number;
  tableName: (id: number) => string;
  metric: (uplink: string) => number | undefined;
  /** Families the uplink has routes of (its table holds a default of them). */
  routes: (uplink: string, f: Family) => boolean;
  families: Family[];
  /** balance: the table the script fills with a multipath default over the healthy uplinks. */
  balanceTable?: number;
}


export function healthPlan(model: Model, x: HealthInputs): PlanHealth | undefined {
  const checked = model.uplinks.filter((u) => u.check !== undefined);
  if (checked.length === 0) return undefined;
  const checks = checked.map((u): PlanCheck => {
    const c = u.check!;
    const skips = x.rules
      .filter((r) => r.uplink === u.name && !isReplyRule(r))
      .map((r): PlanSkip => ({
        family: r.family,
        skip: slotBefore(r),
        land: slotAfter(r),
        selector: ruleSelector(r),
        why: `${u.name} down: past its rule ${r.priority} (${r.why})`,
      }));
    return {
      uplink: u.name,
      dev: u.interface,
      targets: c.targets.map((address, i) => ({ name: `${u.name}.${i + 1}`, address })),
      intervalMs: c.intervalMs,
      timeoutMs: Math.min(MAX_TIMEOUT_MS, 2 * c.intervalMs),
      down: c.down,
      // lsm counts a connection up after more than min_successive_pkts_rcvd replies
      upAfter: c.up - 1,
      maxLoss: c.lossDown,
      minLoss: c.lossUp,
      hold: c.hold,
      skips,
      // fallback: false lands the jump on the kill switch's rule instead
      lands: u.fallback ? [...new Map(skips.map((k) => [`${k.family} ${k.land}`, { family: k.family, priority: k.land }])).values()] : [],
      addresses: u.addresses.map((a) => a.address),
      leases: leaseStates(x.leases, u.name),
    };
  });
  // a family no uplink routes needs no bypass
  const routed = x.families.filter((family) => model.uplinks.some((u) => x.routes(u.name, family)));
  const bypass = routed.map((family): PlanBypass => {
    const route = x.multipath.find((m) => m.family === family);
    const balance = route && x.balanceTable !== undefined ? { route, priority: BYPASS_PRIORITY + 1, table: x.balanceTable, tableName: x.tableName(x.balanceTable) } : undefined;
    // failover: the uplinks' own tables in metric order, backups last; balance:
    // the one table of healthy nexthops, then the backups' tables
    const byMetric = model.uplinks
      .filter((u) => u.default && (!balance || u.backup) && x.routes(u.name, family))
      .map((u) => ({ uplink: u.name, metric: x.metric(u.name) ?? 0, table: x.table(u.name) }))
      .sort((a, b) => a.metric - b.metric);
    const first = BYPASS_PRIORITY + (balance ? 2 : 1);
    return {
      family,
      priority: BYPASS_PRIORITY,
      lookups: byMetric.map((u, i) => ({
        uplink: u.uplink,
        checked: checked.some((c) => c.name === u.uplink),
        priority: first + i,
        table: u.table,
        tableName: x.tableName(u.table),
      })),
      balance,
    };
  });
  return {
    checks,
    config: LSM_CONFIG,
    unit: HEALTH_UNIT,
    bypass,
  };
}
