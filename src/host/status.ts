// gen-hooks status: what the kernel of this host holds now, against the plan.
// It only reads (ip -j, the uplink-event script's lease files), so monitoring
// can run it. An uplink is "up" when its link is up and it holds its address
// (static, or a lease); "as planned" when its rules and routes are there too.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Family } from "../model/types.js";
import { contains, parseInterfaceCidr } from "../model/addr.js";
import type { Plan, PlanRule } from "../plan/types.js";
import { LEASE_STATE_DIR } from "../plan/leases.js";
import { MAIN_TABLE } from "../plan/tables.js";
import { ruleSelector } from "../plan/rules.js";

/** Runs "ip ARGS" and returns its stdout (JSON), or undefined when ip refused (no such device). */
export type IpRunner = (args: string[]) => string | undefined;

interface IpLink {
  ifname: string;
  flags?: string[];
  operstate?: string;
}
interface IpAddr {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}
interface IpRule {
  priority: number;
  src?: string;
  srclen?: number;
  fwmark?: string;
  fwmask?: string;
  uid_start?: number;
  uid_end?: number;
  table?: string;
}
interface IpRoute {
  dst: string;
  dev?: string;
  gateway?: string;
  metric?: number;
  flags?: string[];
  nexthops?: { dev: string; gateway?: string; flags?: string[] }[];
}

export interface Held {
  address: string; // with prefix length
  gateway?: string;
  source: "static" | "dhcp" | "slaac" | "ppp";
}

export interface UplinkStatus {
  name: string;
  interface: string;
  link: "up" | "no carrier" | "down" | "absent";
  /** What the uplink holds now, per family: static, or the lease the uplink-event script put in effect. */
  held: Held[];
  /** The health check's verdict (the uplink-event script marks a dead provider in its state folder). */
  health: "up" | "down" | "returning" | "not checked";
  /** Planned rules and routes of a live uplink that the kernel lacks. */
  missing: string[];
  state: "as planned" | "down" | "incomplete";
  /** The figures of the metrics file, as the uplink-event script last wrote them (absent before it ran). */
  metrics?: UplinkMetrics;
}

/** gen_hooks_uplink_up, _changes_total and _last_change_seconds of one uplink. */
export interface UplinkMetrics {
  up: 0 | 1;
  changes: number;
  /** Seconds since the epoch. */
  lastChange: number;
}

export interface HostStatus {
  uplinks: UplinkStatus[];
  /** Which uplink carries the main table's default now, per family (balance: the live nexthops). */
  mainDefault: { family: Family; uplinks: string[] }[];
  ok: boolean;
}

const json = <T>(run: IpRunner, args: string[]): T[] => {
  const out = run(["-j", ...args]);
  if (!out || !out.trim()) return [];
  return JSON.parse(out) as T[];
};

/** The lease the uplink-event script keeps for an uplink's family: "ADDRESS PREFIX GATEWAY". */
export function readLease(stateDir: string, file: string): { address: string; prefix: string; gateway?: string } | undefined {
  let text: string;
  try {
    text = readFileSync(join(stateDir, file), "utf8");
  } catch {
    return undefined;
  }
  const [address, prefix, gateway] = text.trim().split(/\s+/);
  return address ? { address, prefix, gateway: gateway || undefined } : undefined;
}

const ruleText = (r: { priority: number; from?: string; fwmark?: string; fwmask?: string; uidrange?: string }, table: string) => `rule ${r.priority}${ruleSelector(r)} lookup ${table}`;

/** A kernel rule in the plan's words; the table by name when rt_tables names it, else by id. */
const kernelRuleText = (r: IpRule, family: Family, names: Map<string, string>) =>
  ruleText(
    {
      priority: r.priority,
      from: r.src && r.src !== "all" ? `${r.src}/${r.srclen ?? (family === 4 ? 32 : 128)}` : undefined,
      fwmark: r.fwmark ? `0x${Number(r.fwmark).toString(16)}` : undefined,
      // ip shows a mask only when it is not 0xffffffff
      fwmask: r.fwmask && Number(r.fwmask) !== 0xffffffff ? `0x${Number(r.fwmask).toString(16)}` : undefined,
      uidrange: r.uid_start !== undefined ? `${r.uid_start}-${r.uid_end}` : undefined,
    },
    names.get(r.table ?? "") ?? r.table ?? "",
  );

/** The uplink-event script's record of an uplink for the metrics, NAME.metric: "UP CHANGES SINCE". */
export function readMetrics(stateDir: string, uplink: string): UplinkMetrics | undefined {
  let text: string;
  try {
    text = readFileSync(join(stateDir, `${uplink}.metric`), "utf8");
  } catch {
    return undefined;
  }
  const [up, changes, since] = text.trim().split(/\s+/);
  if ((up !== "0" && up !== "1") || !/^\d+$/.test(changes ?? "") || !/^\d+$/.test(since ?? "")) return undefined;
  return { up: up === "1" ? 1 : 0, changes: Number(changes), lastChange: Number(since) };
}

/** Where no model network is: a destination whose route can only be a default. */
function probeAddress(plan: Plan, family: Family): string {
  const candidates = family === 4 ? ["192.0.2.1", "198.51.100.1", "203.0.113.1", "198.18.0.1", "100.64.0.1"] : ["2001:db8::1", "2001:db8:ffff:ffff::1", "2001:db8:1234:5678::1"];
  const prefixes = plan.interfaces.flatMap((i) => i.families.flatMap((b) => [...b.addresses.map((a) => a.network), ...b.routes.filter((r) => r.to !== "default").map((r) => r.destination)]));
  const pinned = plan.destinationSets.flatMap((s) => s.routes.map((r) => r.destination));
  return candidates.find((c) => ![...prefixes, ...pinned].some((p) => p.includes(":") === (family === 6) && contains(p, c))) ?? candidates[0];
}

export function hostStatus(plan: Plan, run: IpRunner, stateDir = LEASE_STATE_DIR): HostStatus {
  const links = new Map(json<IpLink>(run, ["link", "show"]).map((l) => [l.ifname, l]));
  const addrs = json<IpAddr>(run, ["addr", "show"]);
  // table ids -> names as ip prints them, so that either spelling matches
  const names = new Map(plan.tables.flatMap((t) => [[String(t.id), t.name] as const, [t.name, t.name] as const]));
  names.set(String(MAIN_TABLE), "main");
  const kernelRules = new Map<Family, Set<string>>(([4, 6] as Family[]).map((f) => [f, new Set(json<IpRule>(run, [`-${f}`, "rule", "show"]).map((r) => kernelRuleText(r, f, names)))]));
  // one ip per table, however many uplinks ask for it (main)
  const routesOf = new Map<string, IpRoute[]>();
  const tableRoutes = (f: Family, table: number): IpRoute[] => {
    const key = `${f} ${table}`;
    if (!routesOf.has(key)) routesOf.set(key, json<IpRoute>(run, [`-${f}`, "route", "show", "table", String(table)]));
    return routesOf.get(key)!;
  };
  // a lease's rules are checked with the lease's address filled in
  const leaseRules = new Set(plan.leases.flatMap((l) => l.rules));

  const uplinks = plan.uplinks.map((u): UplinkStatus => {
    const link = links.get(u.interface);
    const linkState: UplinkStatus["link"] = !link ? "absent" : !(link.flags ?? []).includes("UP") ? "down" : (link.flags ?? []).includes("NO-CARRIER") ? "no carrier" : "up";
    const onLink = addrs.filter((a) => a.ifname === u.interface).flatMap((a) => a.addr_info ?? []).map((i) => `${i.local}/${i.prefixlen}`);
    const held: Held[] = [];
    const rules: { rule: PlanRule; text: string }[] = [];
    let holdsAll = true;
    const blocks = plan.interfaces.find((i) => i.name === u.interface)?.families ?? [];
    for (const b of blocks)
      for (const a of b.addresses.filter((a) => u.addresses.includes(a.address))) {
        const gw = b.routes.find((r) => r.to === "default" && r.table === u.table)?.via;
        held.push({ address: a.text, gateway: gw, source: "static" });
        if (!onLink.includes(a.text)) holdsAll = false;
      }
    for (const r of plan.rules.filter((r) => r.uplink === u.name && !leaseRules.has(r))) rules.push({ rule: r, text: ruleText(r, r.tableName) });
    for (const l of plan.leases.filter((l) => l.uplink === u.name)) {
      const lease = readLease(stateDir, l.state);
      // parsed as the model parses an address: the kernel keeps a rule's prefix as its network
      const cidr = lease && parseInterfaceCidr(`${lease.address}/${lease.prefix}`);
      if (!lease || !cidr || typeof cidr === "string") {
        holdsAll = false;
        continue;
      }
      held.push({ address: cidr.text, gateway: lease.gateway, source: l.source });
      for (const r of l.rules) {
        const from = r.from === "$host" ? cidr.host : r.from === "$net" ? cidr.network : r.from;
        rules.push({ rule: r, text: ruleText({ ...r, from }, r.tableName) });
      }
    }
    const up = linkState === "up" && holdsAll;
    const missing: string[] = [];
    if (up) {
      for (const { rule, text } of rules) if (!kernelRules.get(rule.family)!.has(text)) missing.push(text);
      // the defaults the plan gives the uplink: its table's, and in failover main's
      const planned = [
        ...blocks.flatMap((b) => b.routes.filter((r) => r.to === "default" && (r.table === u.table || (r.table === MAIN_TABLE && r.dev === u.interface)))),
        ...plan.leases.filter((l) => l.uplink === u.name).flatMap((l) => [...l.routes, ...[l.mainDefault, l.stackDefault].filter((r) => r !== undefined)].filter((r) => r.to === "default")),
      ];
      for (const f of new Set(planned.map((r) => r.family))) {
        if (planned.some((r) => r.family === f && r.table === u.table) && !tableRoutes(f, u.table).some((r) => r.dst === "default")) missing.push(`IPv${f} default in table ${u.name}`);
        const failover = planned.find((r) => r.family === f && r.table === MAIN_TABLE);
        if (failover && !tableRoutes(f, MAIN_TABLE).some((r) => r.dst === "default" && r.dev === u.interface && r.metric === failover.metric))
          missing.push(`IPv${f} failover default in main (metric ${failover.metric})`);
        const mp = plan.multipath.find((m) => m.family === f && m.nexthops.some((n) => n.uplink === u.name));
        if (mp && !tableRoutes(f, MAIN_TABLE).some((r) => r.dst === "default" && r.metric === mp.metric && (r.nexthops ?? []).some((n) => n.dev === u.interface)))
          missing.push(`IPv${f} nexthop in the multipath default`);
      }
      for (const set of plan.destinationSets.filter((s) => s.uplink === u.name)) {
        const held = tableRoutes(set.family, set.table).length;
        if (held < set.count) missing.push(`${set.count - held} of ${set.count} IPv${set.family} pinned destinations in table ${set.tableName}`);
      }
    }
    const marked = (what: string) => existsSync(join(stateDir, `${u.name}.${what}`));
    // returning: answering again, still out until its hold has passed
    const health: UplinkStatus["health"] = !plan.health?.checks.some((c) => c.uplink === u.name) ? "not checked" : marked("down") ? (marked("rising") ? "returning" : "down") : "up";
    const metrics = plan.metrics ? readMetrics(stateDir, u.name) : undefined;
    return { name: u.name, interface: u.interface, link: linkState, held, health, missing, state: !up || health === "down" || health === "returning" ? "down" : missing.length > 0 ? "incomplete" : "as planned", ...(metrics ? { metrics } : {}) };
  });

  const byDev = (dev?: string, gateway?: string) =>
    plan.uplinks.filter((u) => u.interface === dev).find((u, _, same) => same.length === 1 || uplinks.find((s) => s.name === u.name)!.held.some((h) => h.gateway === gateway))?.name;
  const mainDefault = plan.families.map((family) => {
    const mp = json<IpRoute>(run, [`-${family}`, "route", "show", "table", "main", "default"]).find((r) => r.nexthops);
    const live = (mp?.nexthops ?? []).filter((n) => !(n.flags ?? []).some((x) => x === "linkdown" || x === "dead"));
    // every nexthop dead: the kernel goes on to the next default (a backup's)
    if (plan.mode === "balance" && live.length > 0) return { family, uplinks: live.flatMap((n) => byDev(n.dev, n.gateway) ?? []) };
    const [answer] = json<IpRoute>(run, [`-${family}`, "route", "get", probeAddress(plan, family)]);
    const name = byDev(answer?.dev, answer?.gateway);
    return { family, uplinks: name ? [name] : [] };
  });
  return { uplinks, mainDefault, ok: uplinks.every((u) => u.state === "as planned") };
}

export function formatStatus(s: HostStatus): string {
  const lines = s.uplinks.map((u) => {
    const held = u.held.length === 0 ? "no address" : u.held.map((h) => `${h.address}${h.source === "static" ? "" : ` (${h.source})`}${h.gateway ? ` via ${h.gateway}` : ""}`).join(", ");
    const changes = u.metrics ? `; ${u.metrics.changes} change${u.metrics.changes === 1 ? "" : "s"}, last ${new Date(u.metrics.lastChange * 1000).toISOString().replace(".000Z", "Z")}` : "";
    return `${u.name}: ${u.interface} ${u.link}; ${held}; health ${u.health}; ${u.state}${changes}${u.missing.length ? `, missing:\n    ${u.missing.join("\n    ")}` : ""}`;
  });
  for (const m of s.mainDefault) lines.push(`main default, IPv${m.family}: ${m.uplinks.length ? m.uplinks.join(", ") : "none"}`);
  return lines.join("\n") + "\n";
}
