// Pass-through settings: what a stack needs beside routing (an MTU, a Wi-Fi
// supplicant's file, DNS servers), given in the model and written into the
// interface's stanza or .network file as they are. gen-hooks keeps the keys
// it decides itself, and values that would reach a shell or break a line.
import type { PassThrough } from "./types.js";
import type { PathSeg } from "./load.js";
import { clip } from "./addr.js";

type Scalar = string | number | boolean;
export interface RawPassThrough {
  ifupdown?: Record<string, Scalar | Scalar[]>;
  networkd?: Record<string, Record<string, Scalar | Scalar[]>>;
}

/**
 * ifupdown words a stanza must not carry: a stanza keyword would start a new
 * stanza; the rest is what gen-hooks writes (addresses, routes, hooks, the
 * router-advertisement settings of inet6 auto).
 */
const IFUPDOWN_OWN: Record<string, string> = {
  ...Object.fromEntries(["auto", "iface", "mapping", "source", "source-directory", "template", "inherits"].map((k) => [k, "a stanza keyword, not an option"])),
  ...Object.fromEntries(["address", "netmask", "broadcast", "pointopoint", "scope"].map((k) => [k, "gen-hooks adds the addresses from 'address'"])),
  ...Object.fromEntries(["gateway", "metric"].map((k) => [k, "gen-hooks adds the routes from 'gateway' and 'metric'"])),
  ...Object.fromEntries(["up", "down", "pre-up", "post-up", "pre-down", "post-down"].map((k) => [k, "gen-hooks writes the stanza's hooks"])),
  ...Object.fromEntries(["accept_ra", "autoconf", "dhcp", "request_prefix"].map((k) => [k, "gen-hooks sets how the address is learned from 'address'"])),
};

/** .network sections and settings gen-hooks writes itself. */
const NETWORKD_OWN_SECTIONS: Record<string, string> = {
  Match: "gen-hooks matches the interface by name",
  Address: "gen-hooks adds the addresses from 'address'",
  Route: "gen-hooks adds the routes",
  RoutingPolicyRule: "gen-hooks adds the rules",
};
const NETWORKD_OWN_KEYS: Record<string, Record<string, string>> = {
  Network: {
    Address: "gen-hooks adds the addresses from 'address'",
    Gateway: "gen-hooks adds the routes from 'gateway'",
    DHCP: "gen-hooks sets how the address is learned from 'address'",
    IPv6AcceptRA: "gen-hooks sets how the address is learned from 'address'",
    ConfigureWithoutCarrier: "gen-hooks decides carrier handling",
    IgnoreCarrierLoss: "gen-hooks decides carrier handling",
  },
  DHCPv4: { UseGateway: "gen-hooks puts the leased gateway into the tables", RouteTable: "gen-hooks puts the leased gateway into the tables", RouteMetric: "gen-hooks sets the failover metric" },
  IPv6AcceptRA: { RouteTable: "gen-hooks puts the advertised router into the tables", RouteMetric: "gen-hooks sets the failover metric", UseGateway: "gen-hooks relies on the advertised router" },
};

/**
 * Characters an ifupdown value may hold: ifupdown substitutes some options
 * (mtu, hwaddress) into shell commands unquoted, and ifupdown2 runs a file
 * with a '%' through a template engine.
 */
const IFUPDOWN_VALUE = /^[A-Za-z0-9._:/@+,=-]+( [A-Za-z0-9._:/@+,=-]+)*$/;
/** A .network value: one line, no control character, no space at either end. */
const NETWORKD_VALUE = /^[^\s\p{Cc}](?:[^\p{Cc}]*[^\s\p{Cc}])?$/u;

const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

export function parsePassThrough(raw: RawPassThrough, base: PathSeg[], issue: (at: PathSeg[], message: string) => void): PassThrough {
  const out: PassThrough = { ifupdown: [], networkd: [] };
  for (const [key, value] of Object.entries(raw.ifupdown ?? {})) {
    const at = [...base, "ifupdown", key];
    const own = IFUPDOWN_OWN[key] ?? (key.startsWith("allow-") ? "a stanza keyword, not an option" : undefined);
    if (own) {
      issue(at, `ifupdown option '${key}' is not passed through: ${own}`);
      continue;
    }
    const text = list(value).map(String).join(" ");
    if (!IFUPDOWN_VALUE.test(text)) {
      issue(at, `ifupdown option '${key}' has the value '${clip(text)}': give words of letters, digits and . _ : / @ + , = - separated by single spaces (ifupdown hands some values to a shell)`);
      continue;
    }
    out.ifupdown.push({ key, value: text });
  }
  for (const [section, settings] of Object.entries(raw.networkd ?? {})) {
    const ownSection = NETWORKD_OWN_SECTIONS[section];
    if (ownSection) {
      issue([...base, "networkd", section], `networkd section [${section}] is not passed through: ${ownSection}`);
      continue;
    }
    const entries: { key: string; value: string }[] = [];
    for (const [key, value] of Object.entries(settings)) {
      const at = [...base, "networkd", section, key];
      const own = NETWORKD_OWN_KEYS[section]?.[key];
      if (own) {
        issue(at, `networkd setting [${section}] ${key}= is not passed through: ${own}`);
        continue;
      }
      for (const v of list(value)) {
        const text = typeof v === "boolean" ? (v ? "yes" : "no") : String(v);
        if (!NETWORKD_VALUE.test(text)) issue(at, `networkd setting [${section}] ${key}= has the value '${clip(text)}': give one line without control characters or spaces at either end`);
        else entries.push({ key, value: text });
      }
    }
    if (entries.length > 0) out.networkd.push({ section, entries });
  }
  return out;
}

/** The settings of several uplinks on one interface, merged; a key given twice with different values is a clash. */
export function mergePassThrough(parts: PassThrough[]): { merged: PassThrough; clash?: string } {
  const merged: PassThrough = { ifupdown: [], networkd: [] };
  for (const p of parts) {
    for (const o of p.ifupdown) {
      const prior = merged.ifupdown.find((x) => x.key === o.key);
      if (prior && prior.value !== o.value) return { merged, clash: `ifupdown option '${o.key}'` };
      if (!prior) merged.ifupdown.push(o);
    }
    for (const s of p.networkd) {
      const prior = merged.networkd.find((x) => x.section === s.section);
      if (!prior) {
        merged.networkd.push({ section: s.section, entries: [...s.entries] });
        continue;
      }
      const theirs = (key: string) => prior.entries.filter((e) => e.key === key).map((e) => e.value);
      for (const key of new Set(s.entries.map((e) => e.key))) {
        const mine = s.entries.filter((e) => e.key === key).map((e) => e.value);
        const had = theirs(key);
        if (had.length > 0 && had.join("\n") !== mine.join("\n")) return { merged, clash: `networkd setting [${s.section}] ${key}=` };
        if (had.length === 0) prior.entries.push(...s.entries.filter((e) => e.key === key));
      }
    }
  }
  return { merged };
}

export const hasPassThrough = (p: PassThrough) => p.ifupdown.length > 0 || p.networkd.length > 0;
