// The kernel settings the plan needs: forwarding, multipath hashing,
// reverse-path filtering, ARP behaviour and linkdown handling per uplink.
import type { Family, Model } from "../model/types.js";
import { hasFamily } from "../model/uplink.js";
import type { PlanInterface, PlanSysctl } from "./types.js";

export const RP_FILTER = { loose: "2", strict: "1", off: "0" } as const;

/** sysctl keys name an interface between dots; a dot inside the name is written '/'. */
export const sysctlIface = (name: string) => name.replace(/\./g, "/");

export function sysctlPlan(model: Model, interfaces: PlanInterface[]): PlanSysctl[] {
  const out: PlanSysctl[] = [];
  const lanFamilies = new Set(model.lan.flatMap((l) => l.addresses.map((a) => a.family)));
  if (lanFamilies.has(4)) out.push({ key: "net.ipv4.ip_forward", value: "1", why: "route for the LAN" });
  if (lanFamilies.has(6)) out.push({ key: "net.ipv6.conf.all.forwarding", value: "1", why: "route for the LAN" });
  if (model.mode === "balance") {
    const fams = new Set(model.uplinks.flatMap((u) => [...u.addresses, ...u.learned].map((a) => a.family)));
    if (fams.has(4)) out.push({ key: "net.ipv4.fib_multipath_hash_policy", value: "1", why: "balance flows, not packets: hash on L4 ports" });
    if (fams.has(6)) out.push({ key: "net.ipv6.fib_multipath_hash_policy", value: "1", why: "balance flows, not packets: hash on L4 ports" });
  }
  const rp = RP_FILTER[model.options.rpFilter];
  if (model.options.rpFilter === "off")
    out.push({ key: "net.ipv4.conf.all.rp_filter", value: "0", why: "the kernel applies the larger of 'all' and the interface's value" });
  for (const iface of interfaces.filter((i) => i.role === "uplink")) {
    const key = sysctlIface(iface.name);
    // A leased family has no static block on the interface but needs its keys all the same.
    const onIface = model.uplinks.filter((u) => u.interface === iface.name);
    const fams = ([4, 6] as Family[]).filter((f) => onIface.some((u) => hasFamily(u, f)));
    if (fams.includes(4)) {
      out.push({ key: `net.ipv4.conf.${key}.rp_filter`, value: rp, why: `${model.options.rpFilter} reverse-path filter: replies may arrive on another uplink`, iface: iface.name });
      // Without these, a NIC answers ARP for its neighbours' addresses ("ARP
      // flux"): the gateway then sends one NIC's traffic to another, which
      // breaks when that one goes down (several NICs on one subnet).
      out.push({ key: `net.ipv4.conf.${key}.arp_ignore`, value: "1", why: "answer ARP only for addresses on this interface", iface: iface.name });
      out.push({ key: `net.ipv4.conf.${key}.arp_announce`, value: "2", why: "ask ARP with this interface's own address", iface: iface.name });
    }
    // ifupdown's inet6 auto leaves the advertised default router to the kernel (networkd sets its own RouteMetric=).
    if (iface.raMetric !== undefined)
      out.push({ key: `net.ipv6.conf.${key}.ra_defrtr_metric`, value: String(iface.raMetric), why: "failover order of the default router learned from advertisements", iface: iface.name });
    // Where networkd keeps a link's routes over carrier loss, only the kernel can skip them.
    if (model.options.linkdownFailover || iface.keepOnCarrierLoss)
      for (const f of fams)
        out.push({ key: `net.ipv${f}.conf.${key}.ignore_routes_with_linkdown`, value: "1", why: "skip routes through this link while it has no carrier", iface: iface.name });
  }
  return out;
}
