// failback: keep: a backup's connections stay on it when an uplink that is
// not a backup is back. nft marks each connection that leaves by the backup
// (ct mark) and gives its packets from the LAN that mark again (fwmark); a
// rule in the mark band sends them to the backup's table. Without it their
// next packet would leave by the main default, and the kernel kills a
// masqueraded connection whose way out changes.
import type { Model } from "../model/types.js";
import { KEEP_MARK_BASE, KEEP_MARK_MASK } from "../model/validate.js";
import type { PlanKeep } from "./types.js";

const hex = (n: number) => `0x${n.toString(16).padStart(8, "0")}`;
export const KEEP_MASK = hex(KEEP_MARK_MASK);
/** The bits of a mark outside the keep byte, which the admin's marks use. */
export const KEEP_REST = hex(~KEEP_MARK_MASK >>> 0);

/** Each backup with failback: keep and its mark: the n-th one's is 0x80000000 + n * 0x01000000. */
export function keepPlan(model: Model): PlanKeep[] {
  const keepers = model.uplinks.filter((u) => u.backup && u.failback === "keep");
  return keepers.map((u, n) => ({ uplink: u.name, dev: u.interface, mark: hex((KEEP_MARK_BASE + n * 0x01000000) >>> 0), mask: KEEP_MASK, rest: KEEP_REST }));
}
