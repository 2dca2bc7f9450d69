// The resolved plan: every default filled in. Templates only lay this out.
import type { Cidr, Family, Stack } from "../model/types.js";

export interface PlanTable {
  id: number;
  name: string;
  uplink: string;
  kind: "uplink" | "destinations";
}

export interface PlanRoute {
  family: Family;
  to: string; // "default" or a prefix, as ip(8) takes it
  destination: string; // always a prefix (0.0.0.0/0 for default), as networkd takes it
  via?: string;
  dev: string;
  src?: string;
  onlink: boolean;
  scopeLink: boolean;
  table: number;
  tableName: string;
  metric?: number;
  why: string; // one-line comment
}

export interface PlanRule {
  family: Family;
  priority: number;
  table: number;
  tableName: string;
  from?: string;
  fwmark?: string; // 0x1
  uidrange?: string; // 500-500
  uplink: string;
  why: string;
}

export interface PlanNexthop {
  via?: string;
  dev: string;
  weight: number;
  uplink: string;
  /** The uplink's address: the hook includes the nexthop only while it is configured. */
  probe: string;
}

export interface PlanMultipath {
  family: Family;
  metric: number;
  nexthops: PlanNexthop[];
}

/**
 * An uplink's pinned destinations of one family. Small sets are written out
 * route by route; large ones go to a routes file loaded with one ip -batch.
 */
export interface PlanDestinationSet {
  uplink: string;
  family: Family;
  table: number;
  tableName: string;
  dev: string;
  count: number;
  file: string; // install path of the ip -batch file, when a target uses it
  unit: string; // networkd: the service that loads the file
  routes: PlanRoute[];
  ifupdownInline: boolean;
  networkdInline: boolean;
}

export interface PlanFamilyBlock {
  family: Family;
  addresses: Cidr[];
  routes: PlanRoute[]; // routes through this interface, into any table, but destination sets
  destinationSets: PlanDestinationSet[];
  rules: PlanRule[]; // rules of the uplinks on this interface
  waitDad: boolean;
  /** balance mode: the multipath default to rebuild when this interface goes up or down */
  multipath: PlanMultipath | undefined;
}

export interface PlanInterface {
  name: string;
  role: "uplink" | "lan";
  uplinks: string[];
  why: string;
  families: PlanFamilyBlock[];
  watch: boolean;
  /** networkd: keep configuration over carrier loss and let the kernel skip dead nexthops */
  keepOnCarrierLoss: boolean;
}

export interface PlanSysctl {
  key: string;
  value: string;
  why: string;
}

export interface PlanNat {
  uplink: string;
  dev: string;
  kind: "masquerade" | "snat";
  to?: string; // snat address
  nexthop?: string; // set when the interface carries several uplinks
}

export interface PlanUplink {
  name: string;
  interface: string;
  addresses: string[];
  table: number;
  destinationTable?: number;
  metric?: number; // failover only
  weight?: number; // balance only
}

export interface Plan {
  model: string;
  /** The host's network stack: what --target all renders. */
  stack: Stack;
  mode: "failover" | "balance";
  families: Family[];
  uplinks: PlanUplink[];
  tables: PlanTable[];
  interfaces: PlanInterface[];
  rules: PlanRule[]; // every rule, by priority
  multipath: PlanMultipath[];
  destinationSets: PlanDestinationSet[];
  sysctl: PlanSysctl[];
  nat: PlanNat[];
  ifplugd: { interfaces: string[]; args: string };
}
