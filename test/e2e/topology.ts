// Build the world around the host under test from a model: each uplink's
// wire is an L2 segment (a bridge) shared by the host NICs and the ISP
// routers on it; every ISP drops packets from sources it would not route back
// the same way (strict reverse-path check, both families); an "internet"
// namespace holds the remote addresses and routes each customer network back
// through its own ISP only. LAN networks are not routed there: they need NAT.
import { vlanOf } from "../../src/plan/vlan.js";
import ipaddr from "ipaddr.js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Model, Uplink } from "../../src/model/types.js";
import type { Plan } from "../../src/plan/types.js";
import { buildPlan } from "../../src/plan/plan.js";
import { Lab } from "./lab.js";

export const REMOTE4 = "198.19.255.1";
export const REMOTE6 = "2001:db8:ff::1";

export interface Isp {
  role: string;
  index: number;
  uplinks: Uplink[];
  /** the internet's interface towards this ISP: its rx counter tells which ISP carried a packet */
  netDev: string;
}

export interface LanSide {
  role: string;
  interface: string; // on the host
  hosts: string[]; // addresses configured in the LAN namespace
  generic: string; // a host with no selector of its own
}

export interface Topology {
  lab: Lab;
  model: Model;
  plan: Plan;
  isps: Isp[];
  ispOf: Map<string, Isp>;
  /** per host interface: the segment namespace and the peer whose state is the host NIC's carrier */
  wire: Map<string, { role: string; peer: string }>;
  /** per host interface: how the lab takes its link away and gives it back (the carrier; a ppp link's hangup and redial) */
  link: Map<string, { cut(): void; restore(): void }>;
  lans: LanSide[];
  remotes: string[]; // every address the internet answers on
}

export const offset = (network: string, n: number): string => {
  const [ip, prefix] = ipaddr.parseCIDR(network);
  const bytes = ip.toByteArray();
  let carry = n;
  for (let i = bytes.length - 1; i >= 0 && carry > 0; i--) {
    const sum = bytes[i] + carry;
    bytes[i] = sum % 256;
    carry = Math.floor(sum / 256);
  }
  void prefix;
  return ipaddr.fromByteArray(bytes).toString();
};

const firstAddress = (prefix: string) => prefix.split("/")[0];

export function buildTopology(lab: Lab, model: Model): Topology {
  const plan = buildPlan(model);
  lab.addNs("host");
  // every flow reports its removal to a listener (with the default, 2, only flows started while one listens do): the health proofs watch them
  lab.sh("host", "sysctl -q -w net.netfilter.nf_conntrack_events=1");
  lab.addNs("net");
  lab.sh("net", "sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1");
  const remotes = [REMOTE4, REMOTE6, ...model.uplinks.flatMap((u) => u.destinations.map((d) => firstAddress(d.text))), ...model.uplinks.flatMap((u) => u.check?.targets ?? [])];
  // one ip -batch: a destination set can hold thousands of addresses
  const batch = [...new Set(remotes)].map((r) => `addr add ${r}${r.includes(":") ? "/128" : "/32"} dev lo${r.includes(":") ? " nodad" : ""}`).join("\n");
  const batchDir = mkdtempSync(join(tmpdir(), "gh-remotes-"));
  try {
    writeFileSync(join(batchDir, "addresses"), batch + "\n");
    lab.run("net", ["ip", "-batch", join(batchDir, "addresses")]);
  } finally {
    rmSync(batchDir, { recursive: true, force: true });
  }

  // Segments: uplinks on one interface, or behind one gateway, share a wire.
  const segOf = new Map<string, number>(); // interface -> segment
  const gwSeg = new Map<string, number>();
  let segments = 0;
  for (const u of model.uplinks) {
    const gw = u.gateways.find((g) => g.family === 4)?.address ?? u.gateways[0]?.address;
    let seg = segOf.get(u.interface) ?? (gw !== undefined ? gwSeg.get(gw) : undefined);
    if (seg === undefined) seg = segments++;
    segOf.set(u.interface, seg);
    if (gw !== undefined) gwSeg.set(gw, seg);
  }
  for (let s = 0; s < segments; s++) {
    lab.addNs(`seg${s}`);
    lab.sh(`seg${s}`, "ip link add br0 type bridge && ip link set br0 up");
  }
  const wire = new Map<string, { role: string; peer: string }>();
  let port = 0;
  for (const [iface, seg] of segOf) {
    const peer = `h${port++}`;
    lab.veth("host", iface, `seg${seg}`, peer);
    lab.run(`seg${seg}`, ["ip", "link", "set", peer, "master", "br0"]);
    wire.set(iface, { role: `seg${seg}`, peer });
  }

  // ISPs: one per gateway (a point-to-point uplink has an ISP of its own).
  const isps: Isp[] = [];
  const ispOf = new Map<string, Isp>();
  for (const u of model.uplinks) {
    const key = u.gateways.map((g) => g.address).join(",") || `p2p:${u.name}`;
    let isp = isps.find((i) => i.uplinks.some((o) => (o.gateways.map((g) => g.address).join(",") || `p2p:${o.name}`) === key));
    if (!isp) {
      const index = isps.length;
      isp = { role: `isp${index}`, index, uplinks: [], netDev: `isp${index}` };
      isps.push(isp);
      setUpIsp(lab, isp, `seg${segOf.get(u.interface)}`);
    }
    isp.uplinks.push(u);
    ispOf.set(u.name, isp);
    for (const g of u.gateways) {
      const net = u.addresses.find((a) => a.family === g.family)!;
      lab.tryRun(isp.role, ["ip", `-${g.family}`, "addr", "add", `${g.address}/${net.prefix}`, "dev", "lan", ...(g.family === 6 ? ["nodad"] : [])]);
    }
    const upstream4 = `100.65.${isp.index}.1`;
    const upstream6 = `2001:db8:ffff:${isp.index}::1`;
    for (const a of u.addresses) {
      const customer = u.gateways.length === 0 ? a.host : a.network;
      if (u.gateways.length === 0) {
        lab.run(isp.role, ["ip", `-${a.family}`, "route", "replace", a.host, "dev", "lan"]);
      }
      lab.run("net", ["ip", `-${a.family}`, "route", "replace", customer, "via", a.family === 4 ? upstream4 : upstream6]);
    }
  }

  // LANs: one namespace per LAN interface, holding a generic host and every
  // model source that falls inside the LAN.
  const lans: LanSide[] = [];
  model.lan.forEach((l, i) => {
    const role = `lan${i}`;
    lab.addNs(role);
    lab.veth(role, "eth0", "host", l.interface);
    // the host end stays down: bringing it up is the stack's job
    lab.run("host", ["ip", "link", "set", l.interface, "down"]);
    lab.run(role, ["ip", "link", "set", "eth0", "up"]);
    const hosts: string[] = [];
    let generic = "";
    for (const a of l.addresses) {
      const candidate = offset(a.network, 50);
      if (a.family === 4 && !generic) generic = candidate;
      hosts.push(candidate);
      lab.run(role, ["ip", `-${a.family}`, "addr", "add", `${candidate}/${a.prefix}`, "dev", "eth0", ...(a.family === 6 ? ["nodad"] : [])]);
      for (const u of model.uplinks)
        for (const s of u.sources) {
          const host = firstAddress(s.text);
          if (s.family === a.family && ipaddr.parse(host).match(ipaddr.parseCIDR(a.network)) && !hosts.includes(host)) {
            hosts.push(host);
            lab.run(role, ["ip", `-${a.family}`, "addr", "add", `${host}/${a.prefix}`, "dev", "eth0", ...(a.family === 6 ? ["nodad"] : [])]);
          }
        }
      lab.run(role, ["ip", `-${a.family}`, "route", "replace", "default", "via", a.address]);
    }
    lans.push({ role, interface: l.interface, hosts, generic });
  });

  // The host's uplink NICs start down too, as on a booting machine.
  for (const iface of wire.keys()) lab.run("host", ["ip", "link", "set", iface, "down"]);
  const link = new Map([...wire].map(([iface, w]) => [iface, { cut: () => lab.run(w.role, ["ip", "link", "set", w.peer, "down"]), restore: () => lab.run(w.role, ["ip", "link", "set", w.peer, "up"]) }]));
  return { lab, model, plan, isps, ispOf, wire, link, lans, remotes };
}

function setUpIsp(lab: Lab, isp: Isp, segRole: string): void {
  lab.addNs(isp.role);
  lab.veth(isp.role, "lan", segRole, `i${isp.index}`);
  lab.run(segRole, ["ip", "link", "set", `i${isp.index}`, "master", "br0"]);
  lab.veth(isp.role, "wan", "net", isp.netDev);
  lab.sh(
    isp.role,
    [
      "ip link set lan up",
      "ip link set wan up",
      `ip addr add 100.65.${isp.index}.1/30 dev wan`,
      `ip -6 addr add 2001:db8:ffff:${isp.index}::1/64 dev wan nodad`,
      `ip route add default via 100.65.${isp.index}.2`,
      `ip -6 route add default via 2001:db8:ffff:${isp.index}::2`,
      "sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1",
      "sysctl -q -w net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.lan.rp_filter=1 net.ipv4.conf.lan.proxy_arp=1",
      // Strict reverse-path check for both families: a packet whose source
      // this ISP would not route back out of the same interface is dropped.
      `nft -f - <<'EOF'
table inet rpf {
  chain pre { type filter hook prerouting priority raw; policy accept; fib saddr . iif oif missing counter drop; }
}
EOF`,
    ].join(" && "),
  );
  lab.run("net", ["ip", "addr", "add", `100.65.${isp.index}.2/30`, "dev", isp.netDev]);
  lab.run("net", ["ip", "-6", "addr", "add", `2001:db8:ffff:${isp.index}::2/64`, "dev", isp.netDev, "nodad"]);
}

/** The model has a VLAN interface (eth0.2), which this kernel (no 8021q driver) cannot create. */
export const needsVlan = (model: Model) => [...model.uplinks, ...model.lan].some((x) => vlanOf(x.interface) !== undefined);
