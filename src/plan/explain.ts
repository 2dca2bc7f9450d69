// Which rule, table, route and uplink the kernel would use for a packet,
// worked out from the plan as the kernel does it: rules by priority, first
// rule whose selectors match and whose table has a route; in a table the
// longest prefix, then the lowest metric. All links are assumed up.
import { contains, parseIp } from "../model/addr.js";
import type { Family } from "../model/types.js";
import { MAIN_TABLE } from "./plan.js";
import type { Plan, PlanNexthop } from "./types.js";
import { UsageError } from "../errors.js";

export interface Query {
  to: string;
  from?: string;
  mark?: number;
  uid?: number;
  iif?: string;
}

/** A nexthop as explain shows it: the plan's, without the hooks' probe address or lease file. */
export type Nexthop = Omit<PlanNexthop, "probe" | "lease">;

export interface Answer {
  query: Query;
  family: Family;
  rule: { priority: number; selector: string; table: number; tableName: string; why: string };
  route: { to: string; via?: string; dev?: string; src?: string; metric?: number; nexthops?: Nexthop[]; type: "unicast" | "local" };
  uplink?: string; // the uplink the packet leaves by, when it is one
  uplinks: string[]; // the uplinks it may leave by: one, or a multipath route's (the flow hash picks)
}

/**
 * What the kernel refuses to answer: an unknown incoming interface, a
 * source that is not the host's own without one (a forwarded packet needs
 * --iif), families that differ.
 */
function refuse(plan: Plan, query: Query, family: Family): void {
  const names = [...new Set([...plan.interfaces.map((i) => i.name), ...plan.uplinks.map((u) => u.interface)])]; // a ppp link has no stanza
  if (query.iif !== undefined && !names.includes(query.iif))
    throw new UsageError(`--iif ${query.iif} is not an interface of the model (${names.join(", ")}); ip route get would answer "Cannot find device"`);
  if (query.from === undefined) return;
  const from = parseIp(query.from)!;
  if (from.family !== family) throw new UsageError(`--from ${query.from} and --to ${query.to} are of different address families`);
  const own = plan.interfaces.some((i) => i.families.some((b) => b.addresses.some((a) => a.address === from.ip.toString())));
  if (!own && query.iif === undefined)
    throw new UsageError(`--from ${query.from} is not an address of this host; for a packet forwarded from a LAN host, give --iif with the interface it arrives on`);
}

interface SimRoute {
  prefix: string;
  via?: string;
  dev?: string;
  src?: string;
  metric: number;
  nexthops?: PlanNexthop[];
  type: "unicast" | "local";
}

interface SimRule {
  priority: number;
  table: number;
  tableName: string;
  from?: string;
  fwmark?: number;
  /** The mark's bits the rule looks at (0xffffffff: all). */
  fwmask: number;
  uidrange?: [number, number];
  why: string;
}

const LOCAL_TABLE = 255;
const DEFAULT_TABLE = 253;

export function explain(plan: Plan, query: Query): Answer | { query: Query; family: Family; unreachable: true } {
  const parsed = parseIp(query.to);
  if (!parsed) throw new UsageError(`--to '${query.to}' is not an IPv4 or IPv6 address`);
  const family = parsed.family;
  refuse(plan, query, family);
  const host = family === 4 ? 32 : 128;
  const to = parsed.ip.toString();
  const defaultMetric = family === 4 ? 0 : 1024;

  const tables = new Map<number, SimRoute[]>();
  const add = (table: number, r: SimRoute) => {
    const routes = tables.get(table);
    if (routes) routes.push(r);
    else tables.set(table, [r]);
  };
  for (const iface of plan.interfaces)
    for (const b of iface.families.filter((b) => b.family === family)) {
      for (const a of b.addresses) {
        add(LOCAL_TABLE, { prefix: a.host, dev: iface.name, src: a.address, metric: 0, type: "local" });
        // the kernel's own connected route in main
        if (a.prefix < host) add(MAIN_TABLE, { prefix: a.network, dev: iface.name, src: a.address, metric: family === 4 ? 0 : 256, type: "unicast" });
      }
      for (const r of [...b.routes, ...b.destinationSets.flatMap((d) => d.routes)])
        add(r.table, { prefix: r.destination, via: r.via, dev: r.dev, src: r.src, metric: r.metric ?? defaultMetric, type: "unicast" });
    }
  // A learned uplink is assumed to hold a lease: its routes, with the address
  // and gateway named by where they come from; its leased network is unknown.
  const learnedGateway = new Map<string, string>();
  for (const l of plan.leases.filter((l) => l.family === family)) {
    const via = l.source === "ppp" ? undefined : `<${l.source} gateway>`;
    const src = `<${l.source} address>`;
    if (via) learnedGateway.set(l.uplink, via);
    const pinned = l.destinations ? [...l.destinations.routes.map((r) => r.destination), ...l.destinations.prefixes] : [];
    for (const r of [...l.routes, ...[l.mainDefault, l.stackDefault].filter((d) => d !== undefined)])
      if (!isLeaseVariable(r.destination)) add(r.table, { prefix: r.destination, via: r.via && via, dev: r.dev, src, metric: r.metric ?? defaultMetric, type: "unicast" });
    for (const prefix of pinned) add(l.destinations!.table, { prefix, via, dev: l.dev, src, metric: defaultMetric, type: "unicast" });
  }
  for (const m of plan.multipath.filter((m) => m.family === family))
    add(MAIN_TABLE, {
      prefix: family === 4 ? "0.0.0.0/0" : "::/0",
      metric: m.metric,
      nexthops: m.nexthops.map((n) => ({ ...n, via: n.via ?? learnedGateway.get(n.uplink) })),
      type: "unicast",
    });

  const rules: SimRule[] = [
    { priority: 0, table: LOCAL_TABLE, tableName: "local", fwmask: 0xffffffff, why: "local addresses" },
    ...plan.rules
      .filter((r) => r.family === family && !(r.from !== undefined && isLeaseVariable(r.from))) // a leased address is not known here
      .map((r) => ({
        priority: r.priority,
        table: r.table,
        tableName: r.tableName,
        from: r.from,
        fwmark: r.fwmark === undefined ? undefined : Number(r.fwmark),
        fwmask: r.fwmask === undefined ? 0xffffffff : Number(r.fwmask),
        uidrange: r.uidrange === undefined ? undefined : (r.uidrange.split("-").map(Number) as [number, number]),
        why: r.why,
      })),
    { priority: 32766, table: MAIN_TABLE, tableName: "main", fwmask: 0xffffffff, why: "the main table" },
    ...(family === 4 ? [{ priority: 32767, table: DEFAULT_TABLE, tableName: "default", fwmask: 0xffffffff, why: "the default table" }] : []),
  ];

  // Like "ip route get": without a uid the kernel uses the caller's (root, 0)
  // for local traffic, and none for forwarded traffic (iif).
  const uid = query.uid ?? (query.iif ? undefined : 0);
  for (const rule of rules) {
    if (rule.from !== undefined && (query.from === undefined || !contains(rule.from, query.from))) continue;
    if (rule.fwmark !== undefined && ((query.mark ?? 0) & rule.fwmask) >>> 0 !== rule.fwmark) continue;
    if (rule.uidrange !== undefined && (uid === undefined || uid < rule.uidrange[0] || uid > rule.uidrange[1])) continue;
    const candidates = (tables.get(rule.table) ?? []).filter((r) => contains(r.prefix, to));
    if (candidates.length === 0) continue;
    const best = candidates.sort((a, b) => prefixLength(b.prefix) - prefixLength(a.prefix) || a.metric - b.metric)[0];
    const dev = best.dev;
    // a forwarded packet keeps its source; a local one takes the route's
    const src = query.iif ? query.from : (query.from ?? best.src ?? firstAddress(plan, dev, family));
    const uplink = best.type === "local" ? undefined : uplinkOf(plan, best);
    const nexthops = best.nexthops?.map((n) => ({ via: n.via, dev: n.dev, weight: n.weight, uplink: n.uplink }));
    return {
      query,
      family,
      rule: { priority: rule.priority, selector: selectorText(rule), table: rule.table, tableName: rule.tableName, why: rule.why },
      route: { to: best.prefix, via: best.via, dev, src, metric: best.metric, nexthops, type: best.type },
      uplink,
      uplinks: nexthops ? nexthops.map((n) => n.uplink) : uplink ? [uplink] : [],
    };
  }
  return { query, family, unreachable: true };
}

const isLeaseVariable = (text: string) => text.startsWith("$");
const shownPrefix = (p: string) => (p === "0.0.0.0/0" || p === "::/0" ? "default" : p);
const prefixLength = (prefix: string) => Number(prefix.split("/")[1]);

function selectorText(rule: SimRule): string {
  const parts = [rule.from ? `from ${rule.from}` : "from all"];
  if (rule.fwmark !== undefined) parts.push(`fwmark 0x${rule.fwmark.toString(16)}${rule.fwmask === 0xffffffff ? "" : `/0x${rule.fwmask.toString(16)}`}`);
  if (rule.uidrange) parts.push(`uidrange ${rule.uidrange[0]}-${rule.uidrange[1]}`);
  return parts.join(" ");
}

function firstAddress(plan: Plan, dev: string | undefined, family: Family): string | undefined {
  const b = plan.interfaces.find((i) => i.name === dev)?.families.find((f) => f.family === family);
  return b?.addresses[0]?.address;
}

/** The uplink a route leaves by: none for a LAN route or a multipath one (the flow hash picks). */
function uplinkOf(plan: Plan, route: SimRoute): string | undefined {
  if (route.nexthops) return undefined;
  const onDev = plan.uplinks.filter((u) => u.interface === route.dev);
  // several uplinks on one interface: the one whose address the route uses
  return (onDev.length === 1 ? onDev[0] : onDev.find((u) => route.src !== undefined && u.addresses.includes(route.src)))?.name;
}

export function formatAnswer(answer: ReturnType<typeof explain>): string {
  const q = answer.query;
  const head = `to ${q.to}${q.from ? ` from ${q.from}` : ""}${q.mark !== undefined ? ` mark 0x${q.mark.toString(16)}` : ""}${q.uid !== undefined ? ` uid ${q.uid}` : ""}${q.iif ? ` iif ${q.iif}` : ""}`;
  if ("unreachable" in answer) return `${head}\n  unreachable: no rule's table has a route\n`;
  const r = answer.route;
  const lines = [head, `  rule ${answer.rule.priority}: ${answer.rule.selector} lookup ${answer.rule.tableName} (${answer.rule.why})`];
  if (r.type === "local") lines.push(`  local: ${q.to} is an address of this host (${r.dev})`);
  else if (r.nexthops)
    lines.push(`  route: ${shownPrefix(r.to)} in table ${answer.rule.tableName}, one of (by flow hash):`, ...r.nexthops.map((n) => `    nexthop${n.via ? ` via ${n.via}` : ""} dev ${n.dev} weight ${n.weight} (uplink ${n.uplink})`));
  else lines.push(`  route: ${shownPrefix(r.to)}${r.via ? ` via ${r.via}` : ""} dev ${r.dev}${r.src ? ` src ${r.src}` : ""} in table ${answer.rule.tableName}`);
  if (answer.uplink) lines.push(`  uplink: ${answer.uplink}`);
  else if (r.type === "unicast" && !r.nexthops) lines.push(`  leaves by: ${r.dev} (not an uplink)`);
  return lines.join("\n") + "\n";
}

