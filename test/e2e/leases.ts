// Learned addresses in the lab. Each leased uplink is handed exactly one
// address, so the state it ends up in is known in advance: the lab proves it
// against the plan of the same model with that address written in
// (concreteModel). DHCP comes from a real server (dnsmasq) in the ISP's
// namespace, router advertisements too; this kernel has no PPP driver, so a
// ppp link is a veth the lab configures as pppd would, then runs Debian's own
// /etc/ppp/ip-up and ip-down with pppd's arguments and environment (pppd(8),
// "SCRIPTS").
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import type { Cidr, Model, Uplink } from "../../src/model/types.js";
import type { Plan } from "../../src/plan/types.js";
import { buildPlan } from "../../src/plan/plan.js";
import { parseInterfaceCidr } from "../../src/model/addr.js";
import type { Topology } from "./topology.js";

export interface LabLease {
  uplink: string;
  dev: string;
  source: "dhcp" | "ppp" | "slaac";
  address: string;
  prefix: number;
  gateway?: string; // dhcp, slaac: the router the server announces
  peer?: string; // ppp: the remote end
  mac?: string; // slaac: the host NIC's, whose EUI-64 interface identifier the address ends in
}

/** What each learned uplink holds in the lab; generation n moves every DHCP lease to another network (a renumbering ISP). */
export function labLeases(model: Model, generation = 0): LabLease[] {
  const out: LabLease[] = [];
  for (const u of model.uplinks)
    for (const l of u.learned) {
      if (l.source === "dhcp") {
        const net = `100.64.${110 + u.index + 40 * generation}`;
        out.push({ uplink: u.name, dev: u.interface, source: "dhcp", address: `${net}.100`, prefix: 24, gateway: `${net}.1` });
      } else if (l.source === "ppp") {
        out.push({ uplink: u.name, dev: u.interface, source: "ppp", address: `100.100.${u.index}.5`, prefix: 32, peer: `100.100.${u.index}.1` });
      } else {
        // 02:00:00:00:00:NN -> interface identifier ::ff:fe00:NN (the universal/local bit flipped)
        const nn = (u.index + 1).toString(16).padStart(2, "0");
        out.push({ uplink: u.name, dev: u.interface, source: "slaac", address: `2001:db8:${110 + u.index}::ff:fe00:${nn}`, prefix: 64, gateway: "fe80::1", mac: `02:00:00:00:00:${nn}` });
      }
    }
  return out;
}

/** The lease as an interface address, parsed as the model parses one. */
export const leaseCidr = (l: LabLease): Cidr => parseInterfaceCidr(`${l.address}/${l.prefix}`) as Cidr;

/** The model with each lease written in as a static address (and gateway): what the kernel must hold while the leases are. */
export function concreteModel(model: Model, leases: LabLease[]): Model {
  const uplinks = model.uplinks.map((u): Uplink => {
    const held = leases.filter((x) => x.uplink === u.name);
    if (held.length === 0) return u;
    const cidrs = held.map(leaseCidr);
    return {
      ...u,
      addresses: [...cidrs, ...u.addresses].sort((a, b) => a.family - b.family),
      learned: u.learned.filter((x) => !cidrs.some((c) => c.family === x.family)),
      gateways: [...held.flatMap((l, i) => (l.gateway ? [{ family: cidrs[i].family, address: l.gateway }] : [])), ...u.gateways].sort((a, b) => a.family - b.family),
    };
  });
  return { ...model, uplinks };
}

/**
 * The plan the kernel must match while the leases are held: the concrete
 * model's, but a SLAAC uplink's replies are chosen by its whole advertised
 * prefix (temporary addresses come from it), not by its one address.
 */
export function concretePlan(model: Model, leases: LabLease[]): Plan {
  const plan = buildPlan(model);
  for (const c of leases.filter((l) => l.source === "slaac").map(leaseCidr)) for (const r of plan.rules) if (r.from === c.host) r.from = c.network;
  return plan;
}

export const hasLeases = (model: Model) => model.uplinks.some((u) => u.learned.length > 0);

/** dnsmasq on the ISP's customer side (its "lan"), in the foreground, with nothing of this machine's configuration and no DNS. */
const ISP_DNSMASQ = ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--port=0", "--user=root", "--interface=lan", "--bind-dynamic"];

let servers = 0;

/**
 * dnsmasq as the ISP's DHCP server on its customer side, handing out one
 * address per network it serves (the lease's, and those of later
 * generations once the ISP's link has their network): renewals every few
 * seconds. It is never restarted: a request that came while it restarted
 * would go unanswered (networkd then waits a minute to rebind). An address
 * is taken away by reserving it for another machine (a hosts file, reread
 * on SIGHUP): the renewal is refused (NAK), and a new request gets that
 * network's address no more. Each server starts with no lease on record: a
 * new lab's host has new MAC addresses.
 */
export class DhcpServer {
  private readonly hosts: string;
  private readonly process: ChildProcess;

  constructor(topo: Topology, leases: LabLease[], logDir: string) {
    servers++;
    this.hosts = join(logDir, `dnsmasq-${servers}.hosts`);
    writeFileSync(this.hosts, "");
    const uplink = leases[0].uplink;
    this.process = topo.lab.spawn(
      topo.ispOf.get(uplink)!.role,
      [
        ...ISP_DNSMASQ,
        "--dhcp-authoritative",
        "--no-ping",
        "--log-dhcp",
        "--log-facility=-",
        "--pid-file=",
        `--dhcp-leasefile=${join(logDir, `dnsmasq-${servers}.leases`)}`,
        `--dhcp-hostsfile=${this.hosts}`,
        ...leases.flatMap((l) => [`--dhcp-range=set:n${l.address},${l.address},${l.address},255.255.255.0,2m`, `--dhcp-option=tag:n${l.address},option:router,${l.gateway}`]),
        // renew after 4 s, rebind after 6 s: a changed server is followed within seconds
        "--dhcp-option=option:T1,4",
        "--dhcp-option=option:T2,6",
      ],
      join(logDir, `dnsmasq-${uplink}.log`),
    );
  }

  /** Reserve these addresses for another machine (none: every address is free again). */
  reserve(addresses: string[]): void {
    writeFileSync(this.hosts, addresses.map((a, i) => `02:00:00:00:00:${(i + 1).toString(16).padStart(2, "0")},${a}\n`).join(""));
    if (this.process.pid) process.kill(this.process.pid, "SIGHUP");
  }
}

/** pppd's environment for its scripts (pppd(8), "SCRIPTS"), on a serial line. */
function pppScript(script: "ip-up" | "ip-down", l: LabLease, extra: string[] = []): string {
  const env = ["PATH=/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin", `IFNAME=${l.dev}`, `IPLOCAL=${l.address}`, `IPREMOTE=${l.peer}`, "DEVICE=/dev/ttyS0", "SPEED=115200", "ORIG_UID=0", "PPPLOGNAME=root", `LINKNAME=${l.uplink}`, ...extra];
  return `env -i ${env.join(" ")} /etc/ppp/${script} ${l.dev} /dev/ttyS0 115200 ${l.address} ${l.peer} ''`;
}

interface Shell {
  sh(script: string): { status: number; stdout: string; stderr: string };
}

/** What pppd does once IPCP is up: the link with its local and peer address, then /etc/ppp/ip-up. */
export function dialPpp(c: Shell, l: LabLease): void {
  // a ppp link has no IPv6 link-local address without IPv6CP
  const r = c.sh(`echo 1 > /proc/sys/net/ipv6/conf/${l.dev}/disable_ipv6 && ip addr flush dev ${l.dev} && ip link set ${l.dev} up && ip addr add ${l.address}/32 peer ${l.peer} dev ${l.dev} && ${pppScript("ip-up", l)}`);
  if (r.status !== 0) throw new Error(`dialling ${l.dev}: ${r.stderr}`);
}

/** What pppd does when the link goes: the interface down without addresses, then /etc/ppp/ip-down. */
export function hangUpPpp(c: Shell, l: LabLease): void {
  const r = c.sh(`ip addr flush dev ${l.dev} && ip link set ${l.dev} down && ${pppScript("ip-down", l, ["CONNECT_TIME=60", "BYTES_SENT=0", "BYTES_RCVD=0"])}`);
  if (r.status !== 0) throw new Error(`hanging up ${l.dev}: ${r.stderr}`);
}

let routers = 0;

/**
 * dnsmasq as the ISP's router on its customer side, advertising the lease's
 * /64 for SLAAC (ra-only: no DHCPv6) from fe80::1, as providers' routers
 * announce themselves. The host NIC gets the lease's MAC first, so its
 * EUI-64 address is the lease's. lifetime(0) restarts it announcing that it
 * is no default router any more (an ISP router going away); lifetime(90)
 * brings it back.
 */
export class RaServer {
  private process: ChildProcess | undefined;
  private readonly role: string;
  private readonly log: string;

  constructor(
    private readonly topo: Topology,
    private readonly lease: LabLease,
    private readonly logDir: string,
  ) {
    routers++;
    this.role = topo.ispOf.get(lease.uplink)!.role;
    this.log = join(logDir, `dnsmasq-ra-${lease.uplink}.log`);
    topo.lab.run("host", ["ip", "link", "set", lease.dev, "address", lease.mac!]);
    const c = leaseCidr(lease);
    // only fe80::1 as the router's link-local address: the one the advertisements come from
    topo.lab.sh(
      this.role,
      `sysctl -q -w net.ipv6.conf.lan.addr_gen_mode=1 && ip -6 addr flush dev lan scope link && ip -6 addr add ${lease.gateway}/64 dev lan nodad && ip -6 addr add ${c.network.replace("::/", "::1/")} dev lan nodad`,
    );
    this.lifetime(90);
  }

  lifetime(seconds: number): void {
    if (this.process) this.topo.lab.stop(this.process);
    const net = leaseCidr(this.lease).network.split("/")[0];
    this.process = this.topo.lab.spawn(
      this.role,
      [
        ...ISP_DNSMASQ,
        "--enable-ra",
        `--dhcp-range=${net},ra-only,64,1h`,
        // an advertisement every 4 s, the router a default router for the seconds given
        `--ra-param=lan,4,${seconds}`,
        "--log-facility=-",
        "--pid-file=",
        `--dhcp-leasefile=${join(this.logDir, `dnsmasq-ra-${routers}.leases`)}`,
      ],
      this.log,
    );
  }
}
