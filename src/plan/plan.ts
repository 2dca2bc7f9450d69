// From the validated model to the resolved plan. Everything a target needs to
// know is decided here, so every target says the same thing.
import type { Cidr, Family, Model, Uplink } from "../model/types.js";
import { overlaps } from "../model/addr.js";
import { RESERVED_TABLE_IDS, destinationTableName } from "../model/validate.js";
import type { Plan, PlanDestinationSet, PlanFamilyBlock, PlanInterface, PlanMultipath, PlanNat, PlanRoute, PlanRule, PlanSysctl, PlanTable, PlanUplink } from "./types.js";

export const MAIN_TABLE = 254;
export const FIRST_AUTO_TABLE = 101;
export const DESTINATION_TABLE_OFFSET = 1000;
export const FIRST_AUTO_METRIC = 100;
export const BALANCE_METRIC = 100;

/**
 * Above these sizes a destination set is loaded with one ip -batch from a
 * routes file: an ifupdown hook runs one ip process per line (about 2 ms
 * each), and networkd 252 slows down superlinearly with routes in one link
 * (measured: 1,000 in 0.11 s, 8,000 in 1.1 s, 20,000 in 9.4 s).
 */
export const IFUPDOWN_INLINE_MAX = 64;
export const NETWORKD_INLINE_MAX = 1000;
export const ROUTES_DIR = "/etc/gen-hooks";

/**
 * Rule priorities: one band per selector, uplink index within the band.
 * Destinations win over everything (an ISP's DNS answers only its own
 * network); marks come before source addresses because a packet marked after
 * routing (OUTPUT) already carries the source of the first lookup.
 */
export const PRIORITY = { destinations: 1000, mark: 2000, from: 3000, users: 4000, sources: 5000 } as const;

const FAMILIES: Family[] = [4, 6];
const anyPrefix = (f: Family) => (f === 4 ? "0.0.0.0/0" : "::/0");

export function buildPlan(model: Model): Plan {
  const tableOf = allocateTables(model);
  const metricOf = allocateMetrics(model);
  const tables: PlanTable[] = [];
  for (const u of model.uplinks) {
    tables.push({ id: tableOf.main.get(u.name)!, name: u.name, uplink: u.name, kind: "uplink" });
    const dest = tableOf.destinations.get(u.name);
    if (dest !== undefined) tables.push({ id: dest, name: destinationTableName(u.name), uplink: u.name, kind: "destinations" });
  }
  const tableName = new Map(tables.map((t) => [t.id, t.name]));

  const families = FAMILIES.filter((f) => [...model.uplinks, ...model.lan].some((x) => x.addresses.some((a) => a.family === f)));
  const has = (u: Uplink, f: Family) => u.addresses.some((a) => a.family === f);
  const routable = (u: Uplink, f: Family) => has(u, f) && (u.gateways.length === 0 || u.gateways.some((g) => g.family === f));
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
    interfaces.set(l.interface, { name: l.interface, role: "lan", uplinks: [], why: "LAN", families: [], watch: false, keepOnCarrierLoss: false });
    for (const a of l.addresses) block(l.interface, a.family).addresses.push(a);
  }
  for (const u of model.uplinks) {
    let iface = interfaces.get(u.interface);
    if (!iface) {
      iface = { name: u.interface, role: "uplink", uplinks: [], why: "", families: [], watch: true, keepOnCarrierLoss: model.mode === "balance" };
      interfaces.set(u.interface, iface);
    }
    iface.uplinks.push(u.name);
    iface.watch &&= u.watch; // an explicit watch: false on any uplink of the link wins
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
  const fullRoute = (r: RouteSpec): PlanRoute => ({
    via: undefined,
    src: undefined,
    metric: undefined,
    ...r,
    destination: r.to === "default" ? anyPrefix(r.family) : r.to,
    tableName: r.table === MAIN_TABLE ? "main" : tableName.get(r.table)!,
    onlink: r.onlink ?? false,
    scopeLink: r.scopeLink ?? false,
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

  const rules: PlanRule[] = [];
  const rule = (u: Uplink, r: Omit<PlanRule, "uplink" | "tableName">) => {
    const full: PlanRule = { from: undefined, fwmark: undefined, uidrange: undefined, ...r, uplink: u.name, tableName: tableName.get(r.table)! };
    rules.push(full);
    block(u.interface, r.family).rules.push(full);
  };
  const multipath: PlanMultipath[] = [];
  const destinationSets: PlanDestinationSet[] = [];

  for (const u of model.uplinks) {
    const table = tableOf.main.get(u.name)!;
    const destTable = tableOf.destinations.get(u.name);
    for (const f of FAMILIES) {
      if (!has(u, f)) continue;
      const src = first(u, f).address;
      const via = gatewayOf(u, f);
      const viaFields = { via, onlink: u.onlink && via !== undefined, scopeLink: via === undefined };
      if (routable(u, f)) {
        route({ family: f, to: "default", dev: u.interface, src, table, ...viaFields, why: `${u.name}: default` });
        if (model.mode === "failover")
          route({ family: f, to: "default", dev: u.interface, src, table: MAIN_TABLE, metric: metricOf.get(u.name), ...viaFields, why: `${u.name}: main default, failover order` });
        const pinned = u.destinations.filter((d) => d.family === f);
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
            routes: pinned.map((d) => fullRoute({ family: f, to: d.text, dev: u.interface, src, table: destTable!, ...viaFields, why: `${u.name}: pinned destination` })),
            ifupdownInline: pinned.length <= IFUPDOWN_INLINE_MAX,
            networkdInline: pinned.length <= NETWORKD_INLINE_MAX,
          };
          block(u.interface, f).destinationSets.push(set);
          destinationSets.push(set);
        }
      }
      if (destTable !== undefined && u.destinations.some((d) => d.family === f))
        rule(u, { family: f, priority: PRIORITY.destinations + u.index, table: destTable, why: `${u.name}: pinned destinations first` });
      if (u.mark !== undefined && routable(u, f))
        rule(u, { family: f, priority: PRIORITY.mark + u.index, table, fwmark: `0x${u.mark.toString(16)}`, why: `${u.name}: fwmark` });
      for (const a of u.addresses.filter((a) => a.family === f))
        rule(u, { family: f, priority: PRIORITY.from + u.index, table, from: a.host, why: `${u.name}: replies from its address` });
      if (routable(u, f))
        for (const r of u.users)
          rule(u, { family: f, priority: PRIORITY.users + u.index, table, uidrange: `${r.from}-${r.to}`, why: `${u.name}: sockets of these uids` });
      for (const s of u.sources.filter((s) => s.family === f))
        rule(u, { family: f, priority: PRIORITY.sources + u.index, table, from: s.text, why: `${u.name}: traffic from this source` });
    }
  }

  if (model.mode === "balance") {
    for (const f of FAMILIES) {
      const members = model.uplinks.filter((u) => routable(u, f));
      if (members.length === 0) continue;
      const mp: PlanMultipath = {
        family: f,
        metric: BALANCE_METRIC,
        nexthops: members.map((u) => ({ via: gatewayOf(u, f), dev: u.interface, weight: u.weight, uplink: u.name, probe: first(u, f).host })),
      };
      multipath.push(mp);
      for (const dev of new Set(members.map((u) => u.interface))) block(dev, f).multipath = mp;
    }
  }

  // networkd: a link whose destination set a service loads keeps its
  // configuration over carrier loss; networkd's own carrier handling would
  // take the set with it and never bring it back.
  for (const set of destinationSets) if (!set.networkdInline) interfaces.get(set.dev)!.keepOnCarrierLoss = true;

  rules.sort((a, b) => a.family - b.family || a.priority - b.priority);
  const ordered = [...interfaces.values()];
  return {
    model: model.file,
    stack: model.options.stack,
    mode: model.mode,
    families,
    uplinks: model.uplinks.map((u): PlanUplink => ({
      name: u.name,
      interface: u.interface,
      addresses: u.addresses.map((a) => a.address),
      table: tableOf.main.get(u.name)!,
      destinationTable: tableOf.destinations.get(u.name),
      metric: model.mode === "failover" ? metricOf.get(u.name) : undefined,
      weight: model.mode === "balance" ? u.weight : undefined,
    })),
    tables,
    interfaces: ordered,
    rules,
    multipath,
    destinationSets,
    sysctl: sysctlPlan(model, ordered),
    nat: natPlan(model),
    ifplugd: {
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

/** Explicit ids first; the rest from 101 upward; destination tables at table+1000 or the next free id. */
export function allocateTables(model: Model): { main: Map<string, number>; destinations: Map<string, number> } {
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
  return { main, destinations };
}

/** Explicit metrics stay; the others are 100 + position, skipping taken values. */
export function allocateMetrics(model: Model): Map<string, number> {
  const used = new Set(model.uplinks.flatMap((u) => (u.metric === undefined ? [] : [u.metric])));
  const out = new Map<string, number>();
  for (const u of model.uplinks) {
    if (u.metric !== undefined) {
      out.set(u.name, u.metric);
      continue;
    }
    let m = FIRST_AUTO_METRIC + u.index;
    while (used.has(m)) m++;
    used.add(m);
    out.set(u.name, m);
  }
  return out;
}

/** sysctl keys name an interface between dots; a dot inside the name is written '/'. */
export const sysctlIface = (name: string) => name.replace(/\./g, "/");

function sysctlPlan(model: Model, interfaces: PlanInterface[]): PlanSysctl[] {
  const out: PlanSysctl[] = [];
  const lanFamilies = new Set(model.lan.flatMap((l) => l.addresses.map((a) => a.family)));
  if (lanFamilies.has(4)) out.push({ key: "net.ipv4.ip_forward", value: "1", why: "route for the LAN" });
  if (lanFamilies.has(6)) out.push({ key: "net.ipv6.conf.all.forwarding", value: "1", why: "route for the LAN" });
  if (model.mode === "balance") {
    const fams = new Set(model.uplinks.flatMap((u) => u.addresses.map((a) => a.family)));
    if (fams.has(4)) out.push({ key: "net.ipv4.fib_multipath_hash_policy", value: "1", why: "balance flows, not packets: hash on L4 ports" });
    if (fams.has(6)) out.push({ key: "net.ipv6.fib_multipath_hash_policy", value: "1", why: "balance flows, not packets: hash on L4 ports" });
  }
  const rp = { loose: "2", strict: "1", off: "0" }[model.options.rpFilter];
  if (model.options.rpFilter === "off")
    out.push({ key: "net.ipv4.conf.all.rp_filter", value: "0", why: "the kernel applies the larger of 'all' and the interface's value" });
  for (const iface of interfaces.filter((i) => i.role === "uplink")) {
    const key = sysctlIface(iface.name);
    const fams = iface.families.map((b) => b.family);
    if (fams.includes(4)) {
      out.push({ key: `net.ipv4.conf.${key}.rp_filter`, value: rp, why: `${model.options.rpFilter} reverse-path filter: replies may arrive on another uplink` });
      // Without these, a NIC answers ARP for its neighbours' addresses ("ARP
      // flux"): the gateway then sends one NIC's traffic to another, which
      // breaks when that one goes down (several NICs on one subnet).
      out.push({ key: `net.ipv4.conf.${key}.arp_ignore`, value: "1", why: "answer ARP only for addresses on this interface" });
      out.push({ key: `net.ipv4.conf.${key}.arp_announce`, value: "2", why: "ask ARP with this interface's own address" });
    }
    // Where networkd keeps a link's routes over carrier loss, only the kernel can skip them.
    if (model.options.linkdownFailover || iface.keepOnCarrierLoss)
      for (const f of fams)
        out.push({ key: `net.ipv${f}.conf.${key}.ignore_routes_with_linkdown`, value: "1", why: "skip routes through this link while it has no carrier" });
  }
  return out;
}

function natPlan(model: Model): PlanNat[] {
  const perIface = new Map<string, number>();
  for (const u of model.uplinks) perIface.set(u.interface, (perIface.get(u.interface) ?? 0) + 1);
  const out: PlanNat[] = [];
  for (const u of model.uplinks) {
    if (u.nat === "none") continue;
    const shared = perIface.get(u.interface)! > 1;
    const via = u.gateways.find((g) => g.family === 4)?.address;
    out.push({
      uplink: u.name,
      dev: u.interface,
      kind: u.nat,
      to: u.nat === "snat" ? u.addresses.find((a) => a.family === 4)!.address : undefined,
      nexthop: shared && u.nat === "snat" ? via : undefined,
    });
  }
  return out;
}
