// VLAN interfaces, named as ifupdown names them: PARENT.ID (eth0.2 is VLAN 2
// on eth0). ifupdown creates such an interface itself from its stanza's
// name; networkd needs a .netdev and a VLAN= line in its parent's .network.
import type { PlanInterface, PlanVlanParent } from "./types.js";

const VLAN_NAME = /^(.+)\.(\d{1,4})$/;

/** eth0.2 -> VLAN 2 on eth0; undefined for a name that is no VLAN's. */
export function vlanOf(name: string): { parent: string; id: number } | undefined {
  const m = VLAN_NAME.exec(name);
  if (!m) return undefined;
  const id = Number(m[2]);
  return id >= 1 && id <= 4094 ? { parent: m[1], id } : undefined;
}

/**
 * Each VLAN's parent gets VLAN= lines: in its own .network when the model
 * configures it, else in one gen-hooks writes for it (no address of its own).
 */
export function vlanParents(interfaces: PlanInterface[]): PlanVlanParent[] {
  const out: PlanVlanParent[] = [];
  for (const iface of interfaces) {
    if (!iface.vlan) continue;
    const parent = interfaces.find((i) => i.name === iface.vlan!.parent);
    if (parent) {
      parent.vlans.push(iface.name);
      continue;
    }
    let p = out.find((x) => x.name === iface.vlan!.parent);
    if (!p) out.push((p = { name: iface.vlan.parent, vlans: [] }));
    p.vlans.push(iface.name);
  }
  return out;
}
