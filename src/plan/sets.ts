// How pinned destination sets are loaded, whatever adds them (a stanza, a
// networkd unit, the uplink-event script).

/**
 * Above these sizes a destination set is loaded with one ip -batch from a
 * routes file: an ifupdown hook (and the uplink-event script) runs one ip
 * process per line (about 2 ms each), and networkd 252 slows down superlinearly with routes in one link
 * (measured: 1,000 in 0.11 s, 8,000 in 1.1 s, 20,000 in 9.4 s).
 */
export const IFUPDOWN_INLINE_MAX = 64;
export const NETWORKD_INLINE_MAX = 1000;
export const ROUTES_DIR = "/etc/gen-hooks";
