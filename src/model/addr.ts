// Address parsing on top of ipaddr.js, strict about the forms iproute2 and
// networkd accept (four-part dotted IPv4, no zone ids).
import ipaddr from "ipaddr.js";
import type { Cidr, Family, Prefix } from "./types.js";

type Parsed = { family: Family; ip: ipaddr.IPv4 | ipaddr.IPv6 };

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
  if (!m) return "is not in address/prefix form";
  const ip = parseIp(m[1]);
  if (!ip) return `'${m[1]}' is not an IPv4 or IPv6 address`;
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

/** An interface address: the host part is kept, the network is derived. */
export function parseInterfaceCidr(text: string): Cidr | string {
  const r = splitCidr(text);
  if (typeof r === "string") return `${r}; expected an address with its prefix length, such as 198.51.100.2/24 or 2001:db8::2/64`;
  const address = r.ip.ip.toString();
  return {
    family: r.ip.family,
    address,
    prefix: r.prefix,
    text: `${address}/${r.prefix}`,
    network: networkOf(r.ip, r.prefix),
    host: `${address}/${maxPrefix(r.ip.family)}`,
  };
}

/** A selector: a host (becomes /32 or /128) or a prefix without host bits. */
export function parsePrefix(text: string): Prefix | string {
  if (!text.includes("/")) {
    const ip = parseIp(text);
    if (!ip) return `'${text}' is not an IPv4 or IPv6 address or prefix`;
    return { family: ip.family, text: `${ip.ip.toString()}/${maxPrefix(ip.family)}` };
  }
  const r = splitCidr(text);
  if (typeof r === "string") return r;
  const net = networkOf(r.ip, r.prefix);
  if (net !== `${r.ip.ip.toString()}/${r.prefix}`) return `'${text}' has host bits set; did you mean ${net}?`;
  return { family: r.ip.family, text: net };
}

/** True when the two prefixes share any address. */
export function overlaps(a: string, b: string): boolean {
  const pa = ipaddr.parseCIDR(a);
  const pb = ipaddr.parseCIDR(b);
  if (pa[0].kind() !== pb[0].kind()) return false;
  const [wide, narrow] = pa[1] <= pb[1] ? [pa, pb] : [pb, pa];
  return narrow[0].match(wide);
}

/** True when ip lies inside prefix. */
export function contains(prefix: string, ip: string): boolean {
  const p = ipaddr.parseCIDR(prefix);
  const a = ipaddr.parse(ip);
  return a.kind() === p[0].kind() && a.match(p);
}
