// Learned addresses: what the uplink-event script does when an uplink gets a
// lease (DHCP), a router advertisement (SLAAC) or its ppp link comes up, and
// undoes when it goes. The plan's
// decisions are baked in here; the script only fills in the lease.
import type { Model, Uplink } from "../model/types.js";
import { hasFamily } from "../model/uplink.js";
import type { PlanLease, PlanRoute, PlanRule } from "./types.js";
import { uplinkRules } from "./rules.js";
import { MAIN_TABLE } from "./tables.js";
import { IFUPDOWN_INLINE_MAX, ROUTES_DIR } from "./sets.js";
import { RP_FILTER } from "./sysctl.js";

export const EVENT_SCRIPT = "/etc/gen-hooks/uplink-event";
/** What the event script does whatever the model: a plain shell library it sources. */
export const EVENT_LIBRARY = "/etc/gen-hooks/uplink-lib.sh";
export const LEASE_STATE_DIR = "/run/gen-hooks";

/** The shell variables the script sets from a lease. */
export const LEASE_VARS = { addr: "$addr", host: "$host", net: "$net", gw: "$gw" } as const;

export interface LeaseContext {
  table: (u: Uplink) => number;
  destinationTable: (u: Uplink) => number | undefined;
  tableName: (id: number) => string;
  /** The metric of the uplink's main default (failover; a backup's in balance too), or undefined: none. */
  metric: (u: Uplink) => number | undefined;
  route: (r: Omit<PlanRoute, "destination" | "tableName" | "onlink" | "scopeLink" | "via" | "src" | "metric"> & Partial<PlanRoute>) => PlanRoute;
  /** failback: keep: the mark of the connections that left by the uplink, or undefined. */
  keepMark: (u: Uplink) => string | undefined;
}

/** Why an uplink's main default is where it is, for the rendered comment. */
export const mainDefaultWhy = (u: Uplink) => `${u.name}: main default, ${u.backup ? "after every uplink that is not a backup" : "failover order"}`;

/** The state files (in the state folder) of an uplink's leases. */
export const leaseStates = (leases: PlanLease[], uplink: string) => leases.filter((l) => l.uplink === uplink).map((l) => l.state);

export function leasePlan(model: Model, c: LeaseContext): PlanLease[] {
  const out: PlanLease[] = [];
  for (const u of model.uplinks) {
    for (const l of u.learned) {
      const f = l.family;
      const table = c.table(u);
      const p2p = l.source === "ppp";
      // A ppp link's routes go "dev ppp0" to the peer; a lease's via its router.
      const path = p2p ? { scopeLink: true } : { via: LEASE_VARS.gw };
      const common = { family: f, dev: u.interface, src: LEASE_VARS.addr };
      const routes: PlanRoute[] = [];
      if (!p2p) routes.push(c.route({ ...common, to: LEASE_VARS.net, scopeLink: true, table, why: `${u.name}: its own network` }));
      routes.push(c.route({ ...common, to: "default", ...path, table, why: `${u.name}: default` }));
      const shared = p2p
        ? []
        : model.uplinks
            .filter((o) => o !== u && hasFamily(o, f))
            .map((o) => c.route({ ...common, to: LEASE_VARS.net, scopeLink: true, table: c.table(o), why: `${o.name}: network of uplink ${u.name}` }));
      const metric = c.metric(u);
      const failoverDefault = metric === undefined ? undefined : c.route({ ...common, to: "default", ...path, table: MAIN_TABLE, metric, why: mainDefaultWhy(u) });
      // The stack installs the advertised default router in main itself (and
      // drops it when the router's lifetime ends): it gets the uplink's metric.
      const byStack = l.source === "slaac";
      const destTable = c.destinationTable(u);
      // SLAAC: the whole advertised /64, whose temporary (privacy) addresses are the uplink's too.
      const selector = l.source === "slaac" ? LEASE_VARS.net : LEASE_VARS.host;
      const rules: PlanRule[] = uplinkRules(u, f, { table, destinationTable: destTable, tableName: c.tableName, keepMark: c.keepMark(u) }, [selector], true);
      const pinned = u.destinations.filter((d) => d.family === f);
      // the script adds a route with one ip process, as an ifupdown hook does
      const inline = pinned.length <= IFUPDOWN_INLINE_MAX;
      const sysctl = p2p ? [{ proc: `/proc/sys/net/ipv4/conf/${u.interface}/rp_filter`, value: RP_FILTER[model.options.rpFilter], why: "reverse-path filter of the ppp link: sysctl.d cannot name it before pppd creates it" }] : [];
      out.push({
        uplink: u.name,
        // the index keeps a-b and a_b apart; the family an uplink's IPv4 and IPv6 leases ([dhcp, slaac])
        fn: `u${u.index}_${u.name.replace(/-/g, "_")}_ipv${f}`,
        dev: u.interface,
        family: f,
        source: l.source,
        table,
        routes,
        shared,
        mainDefault: byStack ? undefined : failoverDefault,
        stackDefault: byStack ? failoverDefault : undefined,
        rules,
        destinations:
          pinned.length === 0
            ? undefined
            : {
                table: destTable!,
                tableName: c.tableName(destTable!),
                count: pinned.length,
                routes: inline ? pinned.map((d) => c.route({ ...common, to: d.text, ...path, table: destTable!, why: `${u.name}: pinned destination` })) : [],
                file: inline ? undefined : `${ROUTES_DIR}/${u.name}-ipv${f}.prefixes`,
                prefixes: inline ? [] : pinned.map((d) => d.text),
              },
        sysctl,
        state: `${u.name}-ipv${f}.lease`,
      });
    }
  }
  return out;
}
