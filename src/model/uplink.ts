// What an uplink has of one address family: an address (static or learned),
// a learned source, a path out. One answer for validation and the plan.
import type { Family, Uplink } from "./types.js";

type Addressing = Pick<Uplink, "addresses" | "learned" | "gateways">;

/** The uplink has an address of the family, static or learned. */
export const hasFamily = (u: Addressing, f: Family): boolean => u.addresses.some((a) => a.family === f) || u.learned.some((l) => l.family === f);

/** Where the uplink learns the family's address, if it does. */
export const learns = (u: Addressing, f: Family) => u.learned.find((l) => l.family === f);

/**
 * The uplink has a path for the family (a selector of it needs one): a
 * learned family brings its gateway (or is point-to-point); a static one
 * needs a gateway of the family unless the uplink has none at all.
 */
export const routable = (u: Addressing, f: Family): boolean =>
  learns(u, f) !== undefined || (hasFamily(u, f) && (u.gateways.length === 0 || u.gateways.some((g) => g.family === f)));
