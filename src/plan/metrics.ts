// Metrics for node_exporter's textfile collector: which uplinks the
// uplink-event script writes them for, and where. Written by the script on
// every event and by gen-hooks-metrics.service on every link change.
import type { PlanLease, PlanMetrics, PlanUplink } from "./types.js";
import { leaseStates } from "./leases.js";

/** The folder Debian's prometheus-node-exporter reads (--collector.textfile.directory). */
export const METRICS_FILE = "/var/lib/prometheus/node-exporter/gen-hooks.prom";
export const METRICS_UNIT = "/etc/systemd/system/gen-hooks-metrics.service";

/** Every uplink with its interface and the state files of its leases (an uplink that leases is up only while it holds one). */
export function metricsPlan(uplinks: PlanUplink[], leases: PlanLease[]): PlanMetrics {
  return {
    file: METRICS_FILE,
    unit: METRICS_UNIT,
    uplinks: uplinks.map((u) => ({ name: u.name, dev: u.interface, leases: leaseStates(leases, u.name) })),
  };
}
