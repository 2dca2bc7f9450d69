// Backup uplinks: whose return ends a backup's turn, and whose tracked
// connections go then (so that they reconnect through the uplink that is
// back), unless the backup keeps them (failback: keep, keep.ts).
import type { Model } from "../model/types.js";
import type { PlanFailback, PlanLease } from "./types.js";
import { leaseStates } from "./leases.js";

export function failbackPlan(model: Model, leases: PlanLease[]): PlanFailback | undefined {
  const backups = model.uplinks.filter((u) => u.backup);
  if (backups.length === 0) return undefined;
  return {
    primaries: model.uplinks.filter((u) => u.default && !u.backup).map((u) => u.name),
    flush: backups.filter((u) => u.failback !== "keep").map((u) => ({
      uplink: u.name,
      addresses: u.addresses.map((a) => a.address),
      leases: leaseStates(leases, u.name),
    })),
  };
}
