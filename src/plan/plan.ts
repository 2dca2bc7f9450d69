// From the validated model to the resolved plan. Everything a target needs to
// know is decided here, so every target says the same thing.
import type { Cidr, Family, Model, Uplink } from "../model/types.js";
import { overlaps } from "../model/addr.js";
import { destinationTableName, killTableName } from "../model/validate.js";
import type { Plan, PlanDestinationSet, PlanFamilyBlock, PlanInterface, PlanMultipath, PlanRoute, PlanRule, PlanTable, PlanUplink } from "./types.js";
import { hasFamily as has, learns, routable } from "../model/uplink.js";
import { EVENT_SCRIPT, leasePlan, mainDefaultWhy } from "./leases.js";
import { healthPlan } from "./health.js";
import { killSwitchPlan } from "./killswitch.js";
import { metricsPlan } from "./metrics.js";
import { failbackPlan } from "./failback.js";
import { uplinkRules } from "./rules.js";
import { HEALTH_TABLE_NAME, MAIN_TABLE, allocateMetrics, allocateTables } from "./tables.js";
import { IFUPDOWN_INLINE_MAX, NETWORKD_INLINE_MAX, ROUTES_DIR } from "./sets.js";
import { sysctlPlan } from "./sysctl.js";
import { natPlan } from "./nat.js";
import { keepPlan } from "./keep.js";
import { mergePassThrough } from "../model/passthrough.js";
import { vlanOf, vlanParents } from "./vlan.js";

export { PRIORITY } from "./rules.js";
export { MAIN_TABLE } from "./tables.js";
export const BALANCE_METRIC = 100;

const FAMILIES: Family[] = [4, 6];
const anyPrefix = (f: Family) => (f === 4 ? "0.0.0.0/0" : "::/0");

export function buildPlan(model: Model): Plan {
  const tableOf = allocateTables(model);
  const metricOf = allocateMetrics(model);
  // Main defaults by metric: every uplink's in failover; in balance a backup's
  // only, after the balanced default. A selector-only uplink has none.
  const mainMetric = (u: Uplink) => (u.default && (model.mode === "failover" || u.backup) ? metricOf.get(u.name) : undefined);
  const tables: PlanTable[] = [];
  for (const u of model.uplinks) {
    tables.push({ id: tableOf.main.get(u.name)!, name: u.name, uplink: u.name, kind: "uplink" });
    const dest = tableOf.destinations.get(u.name);
    if (dest !== undefined) tables.push({ id: dest, name: destinationTableName(u.name), uplink: u.name, kind: "destinations" });
    const kill = tableOf.kill.get(u.name);
    if (kill !== undefined) tables.push({ id: kill, name: killTableName(u.name), uplink: u.name, kind: "kill" });
  }
  if (tableOf.health !== undefined) tables.push({ id: tableOf.health, name: HEALTH_TABLE_NAME, uplink: "", kind: "health" });
  const tableName = new Map(tables.map((t) => [t.id, t.name]));

  const families = FAMILIES.filter((f) => model.uplinks.some((u) => has(u, f)) || model.lan.some((l) => l.addresses.some((a) => a.family === f)));
  const first = (u: Uplink, f: Family) => u.addresses.find((a) => a.family === f)!;
  const gatewayOf = (u: Uplink, f: Family) => u.gateways.find((g) => g.family === f)?.address;

  // Interfaces in bring-up order: LANs first (a router's inside), then uplinks.
  const interfaces = new Map<string, PlanInterface>();
  const block = (dev: string, f: Family): PlanFamilyBlock => {
    const iface = interfaces.get(dev)!;
    let b = iface.families.find((x) => x.family === f);
    if (!b) {
      b = { family: f, addresses: [], routes: [], destinationSets: [], rules: [], waitDad: false, multipath: undefined };
      iface.families.push(b);
      iface.families.sort((x, y) => x.family - y.family);
    }
    return b;
  };
  for (const l of model.lan) {
    interfaces.set(l.interface, { name: l.interface, role: "lan", dhcp: false, dhcpMetric: undefined, ra: false, raMetric: undefined, uplinks: [], why: "LAN", families: [], watch: false, keepOnCarrierLoss: false, hotplug: false, pass: l.pass, vlan: vlanOf(l.interface), vlans: [], sysctl: [] });
    for (const a of l.addresses) block(l.interface, a.family).addresses.push(a);
  }
  for (const u of model.uplinks) {
    // pppd creates and configures its link: no stack has a stanza for it.
    if (u.learned.some((l) => l.source === "ppp")) continue;
    let iface = interfaces.get(u.interface);
    if (!iface) {
      iface = { name: u.interface, role: "uplink", dhcp: false, dhcpMetric: undefined, ra: false, raMetric: undefined, uplinks: [], why: "", families: [], watch: true, keepOnCarrierLoss: model.mode === "balance", hotplug: false, pass: { ifupdown: [], networkd: [] }, vlan: vlanOf(u.interface), vlans: [], sysctl: [] };
      interfaces.set(u.interface, iface);
    }
    if (u.learned.some((l) => l.source === "dhcp")) {
      iface.dhcp = true;
      iface.dhcpMetric = model.mode === "failover" || u.backup ? metricOf.get(u.name) : undefined;
    }
    if (u.learned.some((l) => l.source === "slaac")) {
      iface.ra = true;
      iface.raMetric = model.mode === "failover" || u.backup ? metricOf.get(u.name) : undefined;
    }
    iface.uplinks.push(u.name);
    iface.pass = mergePassThrough([iface.pass, u.pass]).merged; // validation refused a clash
    iface.watch &&= u.watch; // an explicit watch: false on any uplink of the link wins
    iface.hotplug ||= u.hotplug;
    for (const a of u.addresses) block(u.interface, a.family).addresses.push(a);
  }
  for (const iface of interfaces.values()) {
    if (iface.role === "uplink")
      iface.why = `uplink${iface.uplinks.length > 1 ? "s" : ""} ${iface.uplinks
        .map((n) => `${n} (table ${tableOf.main.get(n)})`)
        .join(", ")}`;
    for (const b of iface.families) b.waitDad = b.family === 6;
  }

  type RouteSpec = Omit<PlanRoute, "destination" | "tableName" | "onlink" | "scopeLink"> & Partial<Pick<PlanRoute, "onlink" | "scopeLink">>;
  // field by field, not by spreading: a destination set makes hundreds of thousands
  const fullRoute = (r: RouteSpec): PlanRoute => ({
    family: r.family,
    to: r.to,
    destination: r.to === "default" ? anyPrefix(r.family) : r.to,
    via: r.via,
    dev: r.dev,
    src: r.src,
    onlink: r.onlink ?? false,
    scopeLink: r.scopeLink ?? false,
    table: r.table,
    tableName: r.table === MAIN_TABLE ? "main" : tableName.get(r.table)!,
    metric: r.metric,
    why: r.why,
  });
  /** A route through dev, added by dev's own hook. */
  const route = (r: RouteSpec): void => {
    block(r.dev, r.family).routes.push(fullRoute(r));
  };

  // Connected networks of every uplink, in every uplink table of the family,
  // added by the hook of the interface they go through (it is up by then).
  for (const o of model.uplinks) {
    for (const f of FAMILIES) {
      for (const net of uniqueNetworks(o.addresses, f)) {
        for (const u of model.uplinks) {
          if (!has(u, f)) continue;
          if (u !== o && u.addresses.some((a) => a.family === f && overlaps(a.network, net.network))) continue; // u reaches it on its own link
          route({
            family: f, to: net.network, dev: o.interface, src: net.address, scopeLink: true, table: tableOf.main.get(u.name)!,
            why: u === o ? `${o.name}: its own network` : `${u.name}: network of uplink ${o.name}`,
          });
        }
      }
    }
  }
  // LAN networks in every uplink table of the family; no src, so DNAT keeps working.
  for (const l of model.lan) {
    for (const f of FAMILIES) {
      for (const net of uniqueNetworks(l.addresses, f)) {
        for (const u of model.uplinks) {
          if (!has(u, f)) continue;
          route({ family: f, to: net.network, dev: l.interface, scopeLink: true, table: tableOf.main.get(u.name)!, why: `${u.name}: LAN network` });
        }
      }
    }
  }

  const keep = keepPlan(model);
  const keeps = new Map(keep.map((k) => [k.uplink, k.mark]));
  const rules: PlanRule[] = [];
  const multipath: PlanMultipath[] = [];
  const destinationSets: PlanDestinationSet[] = [];

  for (const u of model.uplinks) {
    const table = tableOf.main.get(u.name)!;
    const destTable = tableOf.destinations.get(u.name);
    for (const f of FAMILIES) {
      if (!has(u, f) || learns(u, f)) continue; // a learned family is the uplink-event script's
      const src = first(u, f).address;
      const via = gatewayOf(u, f);
      const viaFields = { via, onlink: u.onlink && via !== undefined, scopeLink: via === undefined };
      if (routable(u, f)) {
        route({ family: f, to: "default", dev: u.interface, src, table, ...viaFields, why: `${u.name}: default` });
        const metric = mainMetric(u);
        if (metric !== undefined)
          route({ family: f, to: "default", dev: u.interface, src, table: MAIN_TABLE, metric, ...viaFields, why: mainDefaultWhy(u) });
        const pinned = u.destinations.filter((d) => d.family === f);
        const pinnedWhy = `${u.name}: pinned destination`;
        if (pinned.length > 0) {
          const set: PlanDestinationSet = {
            uplink: u.name,
            family: f,
            table: destTable!,
            tableName: tableName.get(destTable!)!,
            dev: u.interface,
            count: pinned.length,
            file: `${ROUTES_DIR}/${u.name}-ipv${f}.routes`,
            unit: `gen-hooks-${u.name}-ipv${f}-routes.service`,
            routes: pinned.map((d) => fullRoute({ family: f, to: d.text, dev: u.interface, src, table: destTable!, ...viaFields, why: pinnedWhy })),
            ifupdownInline: pinned.length <= IFUPDOWN_INLINE_MAX,
            networkdInline: pinned.length <= NETWORKD_INLINE_MAX,
          };
          block(u.interface, f).destinationSets.push(set);
          destinationSets.push(set);
        }
      }
      const own = uplinkRules(u, f, { table, destinationTable: destTable, tableName: (id) => tableName.get(id)!, keepMark: keeps.get(u.name) }, u.addresses.filter((a) => a.family === f).map((a) => a.host), routable(u, f));
      rules.push(...own);
      block(u.interface, f).rules.push(...own);
    }
  }

  const leases = leasePlan(model, {
    table: (u) => tableOf.main.get(u.name)!,
    destinationTable: (u) => tableOf.destinations.get(u.name),
    tableName: (id) => tableName.get(id)!,
    metric: mainMetric,
    route: (r) => fullRoute(r),
    keepMark: (u) => keeps.get(u.name),
  });
  for (const l of leases) rules.push(...l.rules);

  if (model.mode === "balance") {
    for (const f of FAMILIES) {
      const members = model.uplinks.filter((u) => u.default && !u.backup && routable(u, f));
      if (members.length === 0) continue;
      const mp: PlanMultipath = {
        family: f,
        metric: BALANCE_METRIC,
        nexthops: members.map((u) =>
          learns(u, f)
            ? { via: undefined, dev: u.interface, weight: u.weight, uplink: u.name, probe: "", lease: leases.find((l) => l.uplink === u.name && l.family === f)!.state }
            : { via: gatewayOf(u, f), dev: u.interface, weight: u.weight, uplink: u.name, probe: first(u, f).host },
        ),
        byEvent: members.some((u) => learns(u, f)),
      };
      multipath.push(mp);
      // The static interfaces' hooks rebuild it (a learned uplink's lease does too).
      for (const dev of new Set(members.filter((u) => !learns(u, f)).map((u) => u.interface))) block(dev, f).multipath = mp;
    }
  }

  // networkd: a link whose destination set a service loads keeps its
  // configuration over carrier loss; networkd's own carrier handling would
  // take the set with it and never bring it back.
  for (const set of destinationSets) if (!set.networkdInline) interfaces.get(set.dev)!.keepOnCarrierLoss = true;

  rules.sort((a, b) => a.family - b.family || a.priority - b.priority);
  const health = healthPlan(model, {
    rules,
    leases,
    multipath,
    table: (u) => tableOf.main.get(u)!,
    tableName: (id) => tableName.get(id)!,
    metric: (u) => metricOf.get(u),
    routes: (name, f) => routable(model.uplinks.find((u) => u.name === name)!, f),
    families,
    balanceTable: tableOf.health,
  });
  const killSwitch = killSwitchPlan(model, {
    rules,
    destinationTable: (u) => tableOf.destinations.get(u),
    killTable: (u) => tableOf.kill.get(u),
    tableName: (id) => tableName.get(id)!,
  });
  const ordered = [...interfaces.values()];
  const sysctl = sysctlPlan(model, ordered);
  for (const i of ordered) i.sysctl = sysctl.filter((s) => s.iface === i.name);
  const parents = vlanParents(ordered);
  const uplinks = model.uplinks.map((u): PlanUplink => ({
    name: u.name,
    interface: u.interface,
    addresses: u.addresses.map((a) => a.address),
    learned: u.learned,
    table: tableOf.main.get(u.name)!,
    destinationTable: tableOf.destinations.get(u.name),
    metric: model.mode === "failover" ? metricOf.get(u.name) : undefined,
    weight: model.mode === "balance" ? u.weight : undefined,
    backup: u.backup,
  }));
  // the uplink-event script: for leases, health checks, the kill switch and backups
  const failback = failbackPlan(model, leases);
  const events = leases.length > 0 || health !== undefined || killSwitch !== undefined || failback !== undefined;
  return {
    model: model.file,
    stack: model.options.stack,
    mode: model.mode,
    families,
    uplinks,
    tables,
    interfaces: ordered,
    vlanParents: parents,
    rules,
    multipath,
    destinationSets,
    leases,
    eventScript: events ? EVENT_SCRIPT : undefined,
    health,
    killSwitch,
    failback,
    metrics: events ? metricsPlan(uplinks, leases) : undefined,
    keepForeign: {
      rules: health !== undefined || killSwitch !== undefined,
      routes: (health !== undefined && model.mode === "balance") || (killSwitch?.tables.length ?? 0) > 0,
    },
    sysctl,
    nat: natPlan(model),
    keep,
    ifplugd: model.options.ifplugd && {
      interfaces: ordered.filter((i) => i.role === "uplink" && i.watch).map((i) => i.name),
      args: `-q -f -u${model.options.ifplugd.delayUp} -d${model.options.ifplugd.delayDown} -w -I`,
    },
  };
}

/** Networks with room for a neighbour; a /32 or /128 (point-to-point) has none. */
function uniqueNetworks(addresses: Cidr[], f: Family): Cidr[] {
  const seen = new Set<string>();
  const hostPrefix = f === 4 ? 32 : 128;
  return addresses.filter((a) => a.family === f && a.prefix < hostPrefix && !seen.has(a.network) && seen.add(a.network));
}
