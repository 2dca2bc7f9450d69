// A target is data: a name, and the files it produces from a plan (install
// path, template, context). Adding a target is a template folder and an entry.
import type { Plan, PlanDestinationSet, PlanLease } from "../plan/types.js";
import { EVENT_LIBRARY, LEASE_STATE_DIR } from "../plan/leases.js";
import { EVENT_DIR, HEALTH_UNIT, LSM_CONFIG } from "../plan/health.js";
import { KILL_UNIT } from "../plan/killswitch.js";
import { METRICS_UNIT } from "../plan/metrics.js";
import type { Stack } from "../model/types.js";
import { UsageError } from "../errors.js";

export interface TargetFile {
  path: string; // install path, absolute
  template: string; // under templates/
  context: object;
  mode?: number; // default 0o644
}

export interface Target {
  name: string;
  summary: string;
  /** The stack whose host installs it; shared targets have none. */
  stack?: Stack;
  files(plan: Plan): TargetFile[];
  /** What this target cannot express for the plan: throws a UsageError. check runs it too. */
  refuse?(plan: Plan): void;
  /** Install paths this target owns beyond the ones it renders now ("*" within a name): stale ones count as extra. */
  owns?: string[];
}

export const NFT_FILE = "/etc/nftables.d/gen-hooks.nft";
export const SYSCTL_FILE = "/etc/sysctl.d/60-gen-hooks.conf";
export const IFUPDOWN_FILE = "/etc/network/interfaces.d/gen-hooks";
export const IFPLUGD_DEFAULTS_FILE = "/etc/default/ifplugd";

const base = (plan: Plan) => ({ model: plan.model, mode: plan.mode, plan });

/** The ip -batch file of a destination set, shared by the targets that load it. */
const routesFile = (plan: Plan, set: PlanDestinationSet): TargetFile => ({
  path: set.file,
  template: "iproute2/destinations.routes.hbs",
  context: { ...base(plan), set },
});

const DHCLIENT_HOOK = "/etc/dhcp/dhclient-exit-hooks.d/gen-hooks";
const DHCPCD_HOOK = "/usr/lib/dhcpcd/dhcpcd-hooks/62-gen-hooks";
const PPP_UP = "/etc/ppp/ip-up.d/gen-hooks";
const PPP_DOWN = "/etc/ppp/ip-down.d/gen-hooks";
const RA_UNIT = "/etc/systemd/system/gen-hooks-ra.service";
const LEASES_PATH = "/etc/systemd/system/gen-hooks-leases.path";
const LEASES_SERVICE = "/etc/systemd/system/gen-hooks-leases.service";
const NFT_UNIT = "/etc/systemd/system/gen-hooks-nftables.service";
/** The units rendered by a fixed name, whichever targets render them (a destination set's is named by the plan). */
export const FIXED_UNITS = [HEALTH_UNIT, KILL_UNIT, LEASES_PATH, METRICS_UNIT, NFT_UNIT, RA_UNIT];
const EXECUTABLE = 0o755;

const leasesBy = (plan: Plan, source: PlanLease["source"]) => plan.leases.filter((l) => l.source === source);

export const targets: Target[] = [
  {
    name: "ifupdown",
    stack: "ifupdown",
    summary: "/etc/network/interfaces.d/gen-hooks: one stanza per interface with idempotent up/down hooks (a drop-in; the admin's /etc/network/interfaces is never written); with DHCP uplinks, hooks for dhclient and dhcpcd",
    files: (plan) => {
      const dhcp = leasesBy(plan, "dhcp");
      return [
        { path: IFUPDOWN_FILE, template: "ifupdown/interfaces.hbs", context: base(plan) },
        ...plan.destinationSets.filter((d) => !d.ifupdownInline).map((d) => routesFile(plan, d)),
        // ifupdown calls whichever client the host has: dhclient (Debian 12) or dhcpcd (Debian 13).
        ...(dhcp.length > 0
          ? [
              { path: DHCLIENT_HOOK, template: "events/dhclient-exit-hook.hbs", context: { ...base(plan), leases: dhcp } },
              { path: DHCPCD_HOOK, template: "events/dhcpcd-hook.hbs", context: { ...base(plan), leases: dhcp } },
            ]
          : []),
      ];
    },
    owns: ["/etc/gen-hooks/*.routes", IFUPDOWN_FILE, DHCLIENT_HOOK, DHCPCD_HOOK],
  },
  {
    name: "networkd",
    stack: "networkd",
    summary: "/etc/systemd/network/*.network and a networkd.conf.d drop-in naming the tables",
    refuse: (plan) => {
      // MultiPathRoute= takes gateway@device; networkd has no device-only nexthop.
      const p2p = plan.multipath.filter((m) => !m.byEvent).flatMap((m) => m.nexthops).find((n) => n.via === undefined);
      if (p2p)
        throw new UsageError(`networkd cannot balance over uplink '${p2p.uplink}': it has no gateway and MultiPathRoute= needs one; give it a gateway or use mode failover`);
    },
    files: (plan) => networkdFiles(plan),
    owns: [
      "/etc/systemd/network/10-gen-hooks-*.network",
      "/etc/systemd/network/10-gen-hooks-*.netdev",
      "/etc/gen-hooks/*.routes",
      "/etc/systemd/system/gen-hooks-*-routes.service",
      "/etc/systemd/system/systemd-networkd.service.d/gen-hooks.conf",
      "/etc/systemd/networkd.conf.d/gen-hooks.conf",
      LEASES_PATH,
      LEASES_SERVICE,
    ],
  },
  {
    name: "events",
    summary: "/etc/gen-hooks/uplink-event: what a lease, a router advertisement, a ppp link or a health check puts into effect, called by every hook, and uplink-lib.sh, the shell library it sources; gen-hooks-metrics.service (the uplinks' metrics for node_exporter); pppd's ip-up.d and ip-down.d hooks; gen-hooks-ra.service; gen-hooks-killswitch.service and NAME-kill.batch (fallback: false) (only for uplinks that learn their address, have a check or no fallback)",
    files: (plan) => {
      if (plan.eventScript === undefined) return [];
      const ppp = leasesBy(plan, "ppp");
      const slaac = leasesBy(plan, "slaac");
      return [
        { path: plan.eventScript, template: "events/uplink-event.hbs", context: { ...base(plan), stateDir: LEASE_STATE_DIR, eventDir: EVENT_DIR, slaac, libScript: EVENT_LIBRARY }, mode: EXECUTABLE },
        { path: EVENT_LIBRARY, template: "events/uplink-lib.hbs", context: { ...base(plan), eventScript: plan.eventScript } },
        ...(plan.metrics ? [{ path: plan.metrics.unit, template: "events/metrics.service.hbs", context: base(plan) }] : []),
        ...plan.leases.flatMap((l) =>
          l.destinations?.file ? [{ path: l.destinations.file, template: "iproute2/prefixes.hbs", context: { ...base(plan), eventScript: plan.eventScript, set: { ...l.destinations, uplink: l.uplink } } }] : [],
        ),
        ...(ppp.length > 0
          ? [
              { path: PPP_UP, template: "events/ppp-ip-up.hbs", context: { ...base(plan), leases: ppp }, mode: EXECUTABLE },
              { path: PPP_DOWN, template: "events/ppp-ip-down.hbs", context: { ...base(plan), leases: ppp }, mode: EXECUTABLE },
            ]
          : []),
        // Whichever stack takes the advertisements (kernel or networkd), no hook runs for them.
        ...(slaac.length > 0 ? [{ path: RA_UNIT, template: "events/ra.service.hbs", context: { ...base(plan), leases: slaac } }] : []),
        ...(plan.killSwitch
          ? [
              { path: plan.killSwitch.unit, template: "events/killswitch.service.hbs", context: { ...base(plan), guarded: [...new Set(plan.killSwitch.rules.map((r) => r.uplink))] } },
              ...plan.killSwitch.tables.map((table) => ({ path: table.file, template: "iproute2/kill.batch.hbs", context: { ...base(plan), table } })),
            ]
          : []),
      ];
    },
    owns: ["/etc/gen-hooks/uplink-event", EVENT_LIBRARY, "/etc/gen-hooks/*.prefixes", "/etc/gen-hooks/*-kill.batch", PPP_UP, PPP_DOWN, RA_UNIT, KILL_UNIT, METRICS_UNIT],
  },
  {
    name: "health",
    summary: "/etc/gen-hooks/lsm.conf and gen-hooks-health.service: lsm (or foolsm) probes each checked uplink's targets through it and reports to /etc/gen-hooks/uplink-event (only for uplinks with a check)",
    files: (plan) =>
      plan.health === undefined
        ? []
        : [
            { path: plan.health.config, template: "health/lsm.conf.hbs", context: base(plan) },
            { path: plan.health.unit, template: "health/health.service.hbs", context: base(plan) },
          ],
    owns: [LSM_CONFIG, HEALTH_UNIT],
  },
  {
    name: "ifplugd",
    stack: "ifupdown",
    summary: "/etc/default/ifplugd, when the model has options.ifplugd: the uplinks to watch and the daemon's delays (Debian 12 and older; Debian 13 has no ifplugd)",
    files: (plan) => (plan.ifplugd ? [{ path: IFPLUGD_DEFAULTS_FILE, template: "ifplugd/ifplugd.hbs", context: base(plan) }] : []),
    // the package's own file, when gen-hooks replaced it, comes back when no model needs it (see writer.ts)
    owns: [IFPLUGD_DEFAULTS_FILE],
  },
  {
    name: "rt_tables",
    summary: "/etc/iproute2/rt_tables.d/gen-hooks.conf: names of the routing tables",
    files: (plan) => [{ path: "/etc/iproute2/rt_tables.d/gen-hooks.conf", template: "rt_tables/rt_tables.hbs", context: base(plan) }],
  },
  {
    name: "sysctl",
    summary: "/etc/sysctl.d/60-gen-hooks.conf: rp_filter, forwarding, linkdown, multipath hashing",
    files: (plan) => [{ path: SYSCTL_FILE, template: "sysctl/sysctl.hbs", context: base(plan) }],
  },
  {
    name: "nftables",
    summary: "/etc/nftables.d/gen-hooks.nft: source NAT per uplink and the marks of backups that keep their connections (table inet gen_hooks), loaded at boot and after every nftables.service reload by gen-hooks-nftables.service",
    files: (plan) => [
      { path: NFT_FILE, template: "nftables/gen-hooks.nft.hbs", context: base(plan) },
      { path: NFT_UNIT, template: "nftables/gen-hooks-nftables.service.hbs", context: { ...base(plan), nftFile: NFT_FILE } },
    ],
  },
];

function networkdFiles(plan: Plan): TargetFile[] {
  const batched = plan.destinationSets.filter((d) => !d.networkdInline);
  // networkd drops foreign rules and routes when it restarts: the lease watcher puts SLAAC uplinks' back too
  const followed = plan.leases.filter((l) => l.source !== "ppp");
  const staticMultipath = plan.multipath.filter((m) => !m.byEvent);
  return [
    ...plan.interfaces.map((iface) => ({
      path: `/etc/systemd/network/10-gen-hooks-${iface.name}.network`,
      template: "networkd/interface.network.hbs",
      context: { ...base(plan), iface },
    })),
    // networkd creates a VLAN from a .netdev, when its parent's .network names it
    ...plan.interfaces.filter((iface) => iface.vlan).map((iface) => ({ path: `/etc/systemd/network/10-gen-hooks-${iface.name}.netdev`, template: "networkd/vlan.netdev.hbs", context: { ...base(plan), iface } })),
    ...plan.vlanParents.map((parent) => ({ path: `/etc/systemd/network/10-gen-hooks-${parent.name}.network`, template: "networkd/vlan-parent.network.hbs", context: { ...base(plan), parent } })),
    // A multipath route with a learned gateway is the uplink-event script's.
    ...(staticMultipath.length > 0
      ? [{ path: "/etc/systemd/network/10-gen-hooks-lo.network", template: "networkd/lo.network.hbs", context: { ...base(plan), multipath: staticMultipath } }]
      : []),
    { path: "/etc/systemd/networkd.conf.d/gen-hooks.conf", template: "networkd/networkd.conf.hbs", context: base(plan) },
    ...batched.flatMap((set) => [
      routesFile(plan, set),
      { path: `/etc/systemd/system/${set.unit}`, template: "networkd/destinations.service.hbs", context: { ...base(plan), set } },
    ]),
    ...(batched.length > 0
      ? [{ path: "/etc/systemd/system/systemd-networkd.service.d/gen-hooks.conf", template: "networkd/networkd-wants.conf.hbs", context: { ...base(plan), sets: batched } }]
      : []),
    ...(followed.length > 0
      ? [
          { path: LEASES_PATH, template: "networkd/leases.path.hbs", context: base(plan) },
          { path: LEASES_SERVICE, template: "networkd/leases.service.hbs", context: { ...base(plan), leases: followed } },
        ]
      : []),
  ];
}

export const targetNames = targets.map((t) => t.name);

export function findTarget(name: string): Target | undefined {
  return targets.find((t) => t.name === name);
}
