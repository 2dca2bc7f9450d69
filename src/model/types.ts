// The validated, normalized model: what the user said, in one shape. Defaults
// that need reasoning (tables, metrics, priorities) are left to the plan.

export type Family = 4 | 6;

/** An interface address with its prefix, e.g. 198.51.100.2/24. */
export interface Cidr {
  family: Family;
  address: string; // 198.51.100.2
  prefix: number; // 24
  text: string; // 198.51.100.2/24
  network: string; // 198.51.100.0/24
  host: string; // 198.51.100.2/32
}

/** A selector prefix (sources, destinations), normalized: bare hosts get /32 or /128. */
export interface Prefix {
  family: Family;
  text: string;
}

export interface UidRange {
  from: number;
  to: number;
}

export interface Gateway {
  family: Family;
  address: string;
}

export type Nat = "none" | "masquerade" | "snat";

/** Where an uplink learns the address (and gateway) of one family at run time. */
export type LearnedSource = "dhcp" | "slaac" | "ppp";
export const LEARNED_FAMILY: Record<LearnedSource, Family> = { dhcp: 4, slaac: 6, ppp: 4 };

export interface Learned {
  family: Family;
  source: LearnedSource;
}

/** Settings the model passes to the stack as they are, beside what gen-hooks writes itself. */
export interface PassThrough {
  /** ifupdown stanza options in the model's order: mtu 1492. */
  ifupdown: { key: string; value: string }[];
  /** .network sections and their settings: [Link] MTUBytes=1492; a key may repeat (DNS=). */
  networkd: { section: string; entries: { key: string; value: string }[] }[];
}

/** A health check: lsm probes the targets through the uplink. */
export interface HealthCheck {
  targets: string[];
  /** Milliseconds between probes. */
  intervalMs: number;
  /** Probes in a row that no target answers: down. */
  down: number;
  /** Probes in a row that a target answers: up again. */
  up: number;
  /** Percent of the prober's last 100 probes lost: down at or above. */
  lossDown: number;
  /** Percent of the prober's last 100 probes lost: up again at or below. */
  lossUp: number;
  /** Seconds a down uplink must stay healthy before it is used again. */
  hold: number;
}

export interface Uplink {
  index: number;
  name: string;
  interface: string;
  addresses: Cidr[]; // static ones
  /** Families whose address and gateway the uplink learns (at most one source each, none static). */
  learned: Learned[];
  gateways: Gateway[]; // static ones; empty and nothing learned: point-to-point link, routes go "dev IF"
  onlink: boolean;
  table?: number;
  metric?: number;
  weight: number;
  mark?: number;
  users: UidRange[];
  sources: Prefix[];
  /** Inline destinations first, then those of destination-lists. */
  destinations: Prefix[];
  /** How many of destinations come from the model itself (the rest from its lists). */
  inlineDestinations: number;
  nat: Nat;
  watch: boolean;
  check?: HealthCheck;
  /** false: the traffic its selectors choose is refused while it is down (a kill switch). */
  fallback: boolean;
  /** false: selector-only; never main's default nor a balance share. */
  default: boolean;
  /** true: carries nothing while an uplink that is not a backup can; its main default follows theirs; no balance share. */
  backup: boolean;
  /** A backup's tracked connections when an uplink that is not a backup is back: deleted (flush, the default) or left on it (keep); undefined when not given. */
  failback?: "flush" | "keep";
  /** The link may appear after boot (a USB NIC): ifupdown raises it from udev's hotplug, not at boot. */
  hotplug: boolean;
  pass: PassThrough;
}

export interface Lan {
  interface: string;
  addresses: Cidr[];
  pass: PassThrough;
}

export type Stack = "ifupdown" | "networkd";

export interface Options {
  /** The host's network stack: what --target all renders. */
  stack: Stack;
  rpFilter: "loose" | "strict" | "off";
  linkdownFailover: boolean;
  /** The host runs ifplugd with these delays; absent: it does not (no ifplugd settings are rendered). */
  ifplugd?: { delayUp: number; delayDown: number };
}

export interface Model {
  file: string; // as given on the command line
  version: 1;
  mode: "failover" | "balance";
  uplinks: Uplink[];
  lan: Lan[];
  options: Options;
}
