// Source NAT per uplink: masquerade, or snat to its static address (a leased
// one is masquerade: the address changes with the lease).
import type { Model } from "../model/types.js";
import { learns } from "../model/uplink.js";
import type { PlanNat } from "./types.js";

export function natPlan(model: Model): PlanNat[] {
  const perIface = new Map<string, number>();
  for (const u of model.uplinks) perIface.set(u.interface, (perIface.get(u.interface) ?? 0) + 1);
  const out: PlanNat[] = [];
  for (const u of model.uplinks) {
    if (u.nat === "none") continue;
    const leased = learns(u, 4);
    if (leased) {
      // The address changes with the lease: masquerade is snat to the address the link holds now.
      out.push({ uplink: u.name, dev: u.interface, kind: "masquerade", why: u.nat === "snat" ? `snat to the address ${leased.source} gives (masquerade)` : "masquerade" });
      continue;
    }
    const shared = perIface.get(u.interface)! > 1;
    const via = u.gateways.find((g) => g.family === 4)?.address;
    out.push({
      uplink: u.name,
      dev: u.interface,
      kind: u.nat,
      why: u.nat,
      to: u.nat === "snat" ? u.addresses.find((a) => a.family === 4)!.address : undefined,
      nexthop: shared && u.nat === "snat" ? via : undefined,
    });
  }
  return out;
}
