// Address parsing on top of ipaddr.js, strict about the forms iproute2 and
// networkd accept (four-part dotted IPv4, no zone ids).
import ipaddr from "ipaddr.js";
import type { Cidr, Family, Prefix } from "./types.js";

type Parsed = { family: Family; ip: ipaddr.IPv4 | ipaddr.IPv6 };

const INVISIBLE = /[^\S ]|[\u200b-\u200f\u2060]/g;
const visible = (text: string): string => text.replace(INVISIBLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

/**
 * A value as it may be shown in a message: long ones cut, and white space
 * other than a plain space (a no-break space pasted from a web page, a tab,
 * a zero-width space) written as an escape, since it is part of the value and
 * would look like nothing.
 */
export const clip = (text: string, max = 60): string => visible(text.length > max ? `${text.slice(0, max - 3)}... (${text.length} characters)` : text);

export function parseIp(text: string): Parsed | undefined {
  if (text.includes(":")) {
    if (text.includes("%") || !ipaddr.IPv6.isValid(text)) return undefined;
    return { family: 6, ip: ipaddr.IPv6.parse(text) };
  }
  if (!ipaddr.IPv4.isValidFourPartDecimal(text)) return undefined;
  return { family: 4, ip: ipaddr.IPv4.parse(text) };
}

const maxPrefix = (family: Family) => (family === 4 ? 32 : 128);

function splitCidr(text: string): { ip: Parsed; prefix: number } | string {
  const m = /^([^/\s]+)\/(\d{1,3})$/.exec(text);
  if (!m) return `'${clip(text)}' is not in address/prefix form`;
  const ip = parseIp(m[1]);
  if (!ip) return `'${clip(m[1])}' is not an IPv4 or IPv6 address`;
  const prefix = Number(m[2]);
  if (prefix > maxPrefix(ip.family)) return `prefix length /${prefix} is longer than /${maxPrefix(ip.family)}`;
  return { ip, prefix };
}

function networkOf(ip: Parsed, prefix: number): string {
  const net =
    ip.family === 4
      ? ipaddr.IPv4.networkAddressFromCIDR(`${ip.ip.toString()}/${prefix}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${ip.ip.toString()}/${prefix}`);
  return `${net.toString()}/${prefix}`;
}

// Ranges no interface of an uplink or LAN can hold as its address.
const NOT_A_HOST: Record<string, string> = {
  unspecified: "is unspecified (0.0.0.0/8, ::): it names no host",
  broadcast: "is the limited broadcast address",
  multicast: "is a multicast address",
  loopback: "is a loopback address: it belongs to lo",
  linkLocal: "is link-local: the kernel gives every link its own; give the address the provider assigned",
  ipv4Mapped: "is an IPv4-mapped IPv6 address; write the IPv4 address itself",
};

/** Why the address cannot be a host's, or undefined. Link-local is allowed where allowLinkLocal (a gateway). */
export function notAHost(ip: Parsed, allowLinkLocal = false): string | undefined {
  const range = ip.ip.range();
  if (range === "linkLocal" && allowLinkLocal) return undefined;
  return NOT_A_HOST[range];
}

/** An IPv6 link-local address (fe80::/10): always on the link, whatever the subnets. */
export const isLinkLocal = (text: string): boolean => {
  const ip = parseIp(text);
  return ip !== undefined && ip.ip.range() === "linkLocal";
};

/**
 * The network's own address, or its IPv4 broadcast: not a host of the
 * network (IPv4 up to /30; IPv6 up to /126, where the all-zero host is the
 * subnet-router anycast address).
 */
export function networkOrBroadcast(address: string, network: string): string | undefined {
  const [net, len] = network.split("/");
  const family = address.includes(":") ? 6 : 4;
  if (family === 4 ? Number(len) > 30 : Number(len) > 126) return undefined;
  if (address === net) return family === 4 ? `is the network address of ${network}` : `is the subnet-router anycast address of ${network}`;
  if (family === 4 && address === ipaddr.IPv4.broadcastAddressFromCIDR(network).toString()) return `is the broadcast address of ${network}`;
  return undefined;
}

/** An interface address: the host part is kept, the network is derived. */
export function parseInterfaceCidr(text: string): Cidr | string {
  const r = splitCidr(text);
  if (typeof r === "string") return `${r}; expected an address with its prefix length, such as 198.51.100.2/24 or 2001:db8::2/64`;
  const address = r.ip.ip.toString();
  const bad = notAHost(r.ip) ?? networkOrBroadcast(address, networkOf(r.ip, r.prefix));
  if (bad) return `${text}: ${address} ${bad}`;
  return {
    family: r.ip.family,
    address,
    prefix: r.prefix,
    text: `${address}/${r.prefix}`,
    network: networkOf(r.ip, r.prefix),
    host: `${address}/${maxPrefix(r.ip.family)}`,
  };
}

/**
 * A decimal number of 1 to 3 digits without a leading zero at text[at..]
 * ending before `end` (a character code) or the text's end: [value, next
 * index], or undefined.
 */
function decimalAt(text: string, at: number, end: number): [number, number] | undefined {
  let value = 0;
  let i = at;
  for (; i < text.length && i - at < 4; i++) {
    const c = text.charCodeAt(i);
    if (c === end) break;
    if (c < 48 || c > 57) return undefined;
    value = value * 10 + (c - 48);
  }
  const digits = i - at;
  if (digits === 0 || digits > 3 || (digits > 1 && text.charCodeAt(at) === 48)) return undefined;
  return [value, i];
}

/**
 * The common case of parsePrefix without address objects or regular
 * expressions (destination sets run to hundreds of thousands): a canonical
 * IPv4 prefix (dotted quad without leading zeros, optional /len) without host
 * bits. Anything else is undefined and takes the general path, which words
 * errors.
 */
function fastIpv4Prefix(text: string): Prefix | undefined {
  let value = 0;
  let at = 0;
  for (let part = 0; part < 4; part++) {
    const d = decimalAt(text, at, part < 3 ? 46 /* . */ : 47 /* / */);
    if (!d || d[0] > 255) return undefined;
    value = value * 256 + d[0];
    at = d[1];
    if (part < 3) {
      if (text.charCodeAt(at) !== 46) return undefined;
      at++;
    }
  }
  if (at === text.length) return { family: 4, text: `${text}/32` };
  if (text.charCodeAt(at) !== 47) return undefined;
  const len = decimalAt(text, at + 1, -1);
  if (!len || len[1] !== text.length || len[0] > 32) return undefined;
  // host bits set: the general path says so
  if (len[0] < 32 && value % 2 ** (32 - len[0]) !== 0) return undefined;
  return { family: 4, text };
}

/** A selector: a host (becomes /32 or /128) or a prefix without host bits. */
export function parsePrefix(text: string): Prefix | string {
  const fast = fastIpv4Prefix(text);
  if (fast) return fast;
  if (!text.includes("/")) {
    const ip = parseIp(text);
    if (!ip) return `'${clip(text)}' is not an IPv4 or IPv6 address or prefix`;
    return { family: ip.family, text: `${ip.ip.toString()}/${maxPrefix(ip.family)}` };
  }
  const r = splitCidr(text);
  if (typeof r === "string") return r;
  const net = networkOf(r.ip, r.prefix);
  if (net !== `${r.ip.ip.toString()}/${r.prefix}`) return `'${clip(text)}' has host bits set; did you mean ${net}?`;
  return { family: r.ip.family, text: net };
}

// ipaddr.parseCIDR tries IPv6 first and throws for every IPv4 text, and
// the plan compares every uplink's network with every other's: parse by
// family, once per text.
const cidrCache = new Map<string, [ipaddr.IPv4 | ipaddr.IPv6, number]>();
function cidr(text: string): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  let c = cidrCache.get(text);
  if (!c) {
    c = text.includes(":") ? ipaddr.IPv6.parseCIDR(text) : ipaddr.IPv4.parseCIDR(text);
    cidrCache.set(text, c);
  }
  return c;
}

/** True when the two prefixes share any address. */
export function overlaps(a: string, b: string): boolean {
  const pa = cidr(a);
  const pb = cidr(b);
  if (pa[0].kind() !== pb[0].kind()) return false;
  const [wide, narrow] = pa[1] <= pb[1] ? [pa, pb] : [pb, pa];
  return narrow[0].match(wide);
}

/** True when ip lies inside prefix. */
export function contains(prefix: string, ip: string): boolean {
  const p = cidr(prefix);
  const a = ip.includes(":") ? ipaddr.IPv6.parse(ip) : ipaddr.IPv4.parse(ip);
  return a.kind() === p[0].kind() && a.match(p);
}
