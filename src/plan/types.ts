// The resolved plan: every default filled in. Templates only lay this out.
import type { Cidr, Family, Learned, PassThrough, Stack } from "../model/types.js";

export interface PlanTable {
  id: number;
  name: string;
  uplink: string;
  kind: "uplink" | "destinations" | "health" | "kill";
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
  /** The bits of the mark the rule looks at (failback: keep's rules); all of them when undefined. */
  fwmask?: string;
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
  /** A learned uplink: its lease's state file (in the state folder), present while it holds a lease (the gateway is read from it). */
  lease?: string;
}

export interface PlanMultipath {
  family: Family;
  metric: number;
  nexthops: PlanNexthop[];
  /** Some nexthop is learned: the route is rebuilt by the uplink-event script, from every hook and lease. */
  byEvent: boolean;
}

/**
 * What the uplink-event script does for one learned family of an uplink when
 * a lease comes (a DHCP lease, a router advertisement, a ppp link up) and
 * when it goes. Routes and rules hold shell variables the script sets from
 * the lease: $addr, $host ($addr/32 or /128), $net (the leased network) and
 * $gw.
 */
export interface PlanLease {
  uplink: string;
  /** The function name in the script: the uplink name made a shell word. */
  fn: string;
  dev: string;
  family: Family;
  source: Learned["source"];
  table: number;
  /** Into the uplink's own table, replaced on every lease. */
  routes: PlanRoute[];
  /** The leased network in the other uplinks' tables: added unless the table has that network already (a static uplink on it). */
  shared: PlanRoute[];
  /** failover: the uplink's main-table default, added by the script. */
  mainDefault?: PlanRoute;
  /** failover, SLAAC: the main-table default the stack installs from router advertisements with the uplink's metric (the script leaves it alone). */
  stackDefault?: PlanRoute;
  rules: PlanRule[];
  destinations?: PlanLeaseDestinations;
  /** Per-interface keys written when the link appears (pppd creates its interface: sysctl.d cannot name it at boot). */
  sysctl: { proc: string; value: string; why: string }[];
  state: string; // NAME-ipv4.lease (or -ipv6) in the state folder: "ADDRESS PREFIX GATEWAY" while a lease is held
}

export interface PlanLeaseDestinations {
  table: number;
  tableName: string;
  count: number;
  /** Small sets: one route each; large ones: a file of prefixes the script turns into one ip -batch. */
  routes: PlanRoute[];
  file?: string;
  prefixes: string[];
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
  /** The stack's DHCP client configures the IPv4 address (the uplink-event script does the rest). */
  dhcp: boolean;
  /**
   * failover: the metric the DHCP client gives its own default route, the
   * uplink's: the script's route has the same key, so a client that re-adds
   * its default on renewal (dhcpcd) replaces it in place, never leaving a gap.
   */
  dhcpMetric?: number;
  /** The stack takes the IPv6 address and default router from router advertisements (SLAAC). */
  ra: boolean;
  /** failover: the metric of the default router learned from advertisements, the uplink's. */
  raMetric?: number;
  uplinks: string[];
  why: string;
  families: PlanFamilyBlock[];
  watch: boolean;
  /** networkd: keep configuration over carrier loss and let the kernel skip dead nexthops */
  keepOnCarrierLoss: boolean;
  /** The model's own settings for the stack (stanza options, .network sections), of every uplink on the interface. */
  pass: PassThrough;
  /** Its own kernel settings (of plan.sysctl), set again as the stack brings it up: it may appear after boot. */
  sysctl: PlanSysctl[];
  /** Some uplink on it may appear after boot: ifupdown's allow-hotplug instead of auto. */
  hotplug: boolean;
  /** A VLAN interface (eth0.2): its parent and id. */
  vlan?: { parent: string; id: number };
  /** The VLANs this interface carries (networkd: VLAN= lines). */
  vlans: string[];
}

/** The parent of VLAN interfaces that the model does not configure itself (networkd needs a .network for it). */
export interface PlanVlanParent {
  name: string;
  vlans: string[];
}

export interface PlanSysctl {
  key: string;
  value: string;
  why: string;
  /** The interface the key is of: it may not exist yet when sysctl.d is read (a USB NIC, a VLAN, ppp0), so its line may fail. */
  iface?: string;
}

export interface PlanNat {
  uplink: string;
  dev: string;
  kind: "masquerade" | "snat";
  why: string;
  to?: string; // snat address
  nexthop?: string; // set when the interface carries several uplinks
}

export interface PlanUplink {
  name: string;
  interface: string;
  addresses: string[];
  learned: Learned[];
  table: number;
  destinationTable?: number;
  metric?: number; // failover only
  weight?: number; // balance only
  /** backup: true: carries traffic only while no other uplink can. */
  backup: boolean;
}

/** A rule the health script adds while an uplink is down: traffic its rule selects jumps past it. */
export interface PlanSkip {
  family: Family;
  /** The free slot just before the uplink's rule. */
  skip: number;
  /** The free slot just after it: a nop rule lands the jump there. */
  land: number;
  /** " fwmark 0x1", " uidrange 1001-1001", "" (every packet: a destination table's rule). */
  selector: string;
  why: string;
}

export interface PlanCheck {
  uplink: string;
  dev: string;
  /** One lsm connection each, in a group named after the uplink that is down only when all are. */
  targets: { name: string; address: string }[];
  intervalMs: number;
  timeoutMs: number;
  down: number;
  /** lsm's min_successive_pkts_rcvd: it needs one reply more than this. */
  upAfter: number;
  /** lsm max_packet_loss and min_packet_loss: percent of the last 100 probes lost (down at or above, up at or below). */
  maxLoss: number;
  minLoss: number;
  /** Seconds healthy before a down uplink is used again (the event script's timer). */
  hold: number;
  skips: PlanSkip[];
  /** The landing slots of the skips, once each: a nop rule there while the uplink is down. */
  lands: { family: Family; priority: number }[];
  /** Static addresses, and the state files of leases: the tracked connections through the uplink reply to these. */
  addresses: string[];
  leases: string[];
}

/** Where traffic that reaches no selector goes while some checked uplink is down. */
export interface PlanBypass {
  family: Family;
  /** main without its defaults first (connected and LAN routes), then the healthy uplinks. */
  priority: number;
  /** failover: the healthy uplinks' own tables in metric order, backups last; balance: the backups' tables, after the healthy multipath. A table without a usable default (link down, no lease) falls through. */
  lookups: { uplink: string; checked: boolean; priority: number; table: number; tableName: string }[];
  /** balance: the multipath default is rebuilt over the healthy uplinks in the health table, looked up at this priority. */
  balance?: { route: PlanMultipath; priority: number; table: number; tableName: string };
}

export interface PlanHealth {
  checks: PlanCheck[];
  config: string;
  unit: string;
  bypass: PlanBypass[];
}

/** fallback: false: a rule after each of the uplink's rules that refuses what it selects. */
export interface PlanKillRule {
  family: Family;
  priority: number;
  selector: string;
  /** A destination table's rule: look up the table of unreachable routes for its prefixes (else the rule itself is unreachable). */
  table?: number;
  tableName?: string;
  uplink: string;
  why: string;
}

export interface PlanKillSwitch {
  rules: PlanKillRule[];
  /** Unreachable routes for the pinned destinations of each guarded uplink, loaded from a file of its own (ip -batch). */
  tables: { uplink: string; families: Family[]; table: number; tableName: string; prefixes: string[]; file: string }[];
  unit: string;
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
  vlanParents: PlanVlanParent[];
  rules: PlanRule[]; // every rule, by priority
  multipath: PlanMultipath[];
  destinationSets: PlanDestinationSet[];
  leases: PlanLease[];
  /** Install path of the uplink-event script, when some uplink learns its address. */
  eventScript?: string;
  /** Health checks, when some uplink has one. */
  health?: PlanHealth;
  /** The kill switch, when some uplink says fallback: false. */
  killSwitch?: PlanKillSwitch;
  /** Backup uplinks: their connections handed back when a primary returns (by the uplink-event script). */
  failback?: PlanFailback;
  /** The uplinks' metrics, written by the uplink-event script (when there is one). */
  metrics?: PlanMetrics;
  /** Rules (and routes) the uplink-event script keeps without a stack: networkd must leave foreign ones alone. */
  keepForeign: { rules: boolean; routes: boolean };
  sysctl: PlanSysctl[];
  nat: PlanNat[];
  /** Backups whose connections stay on them (failback: keep). */
  keep: PlanKeep[];
  /** ifplugd's settings, when the model uses ifplugd (options.ifplugd). */
  ifplugd?: { interfaces: string[]; args: string };
}

/** A backup with failback: keep: the mark of the connections that left by it (ct mark, and fwmark of their packets from the LAN). */
export interface PlanKeep {
  uplink: string;
  dev: string;
  mark: string;
  mask: string;
  /** The mark's other bits (the admin's), kept when the keep byte is set. */
  rest: string;
}

/** Backup uplinks (backup: true), when the model has some. */
export interface PlanFailback {
  /** The uplinks that are neither backups nor selector-only: one of them up again while none was ends the backups' turn. */
  primaries: string[];
  /** The backups whose connections go (failback: flush): their fixed addresses and the state files of their leases (their tracked connections reply to these). */
  flush: { uplink: string; addresses: string[]; leases: string[] }[];
}

export interface PlanMetrics {
  /** The Prometheus text file (node_exporter's textfile collector). */
  file: string;
  /** The unit that rewrites it on every link change. */
  unit: string;
  uplinks: { name: string; dev: string; leases: string[] }[];
}
