// A target is data: a name, and the files it produces from a plan (install
// path, template, context). Adding a target is a template folder and an entry.
import type { Plan, PlanDestinationSet } from "../plan/types.js";
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

const NFT_FILE = "/etc/nftables.d/gen-hooks.nft";
export const IFUPDOWN_FILE = "/etc/network/interfaces.d/gen-hooks";

const base = (plan: Plan) => ({ model: plan.model, mode: plan.mode, plan });

/** The ip -batch file of a destination set, shared by the targets that load it. */
const routesFile = (plan: Plan, set: PlanDestinationSet): TargetFile => ({
  path: set.file,
  template: "iproute2/destinations.routes.hbs",
  context: { ...base(plan), set },
});

export const targets: Target[] = [
  {
    name: "ifupdown",
    stack: "ifupdown",
    summary: "/etc/network/interfaces.d/gen-hooks: one stanza per interface with idempotent up/down hooks (a drop-in; the admin's /etc/network/interfaces is never written)",
    files: (plan) => [
      { path: IFUPDOWN_FILE, template: "ifupdown/interfaces.hbs", context: base(plan) },
      ...plan.destinationSets.filter((d) => !d.ifupdownInline).map((d) => routesFile(plan, d)),
    ],
    owns: ["/etc/gen-hooks/*.routes", IFUPDOWN_FILE],
  },
  {
    name: "networkd",
    stack: "networkd",
    summary: "/etc/systemd/network/*.network and a networkd.conf.d drop-in naming the tables",
    refuse: (plan) => {
      // MultiPathRoute= takes gateway@device; networkd has no device-only nexthop.
      const p2p = plan.multipath.flatMap((m) => m.nexthops).find((n) => n.via === undefined);
      if (p2p)
        throw new UsageError(`networkd cannot balance over uplink '${p2p.uplink}': it has no gateway and MultiPathRoute= needs one; give it a gateway or use mode failover`);
    },
    files: (plan) => networkdFiles(plan),
    owns: ["/etc/systemd/network/10-gen-hooks-*.network", "/etc/gen-hooks/*.routes", "/etc/systemd/system/gen-hooks-*-routes.service", "/etc/systemd/system/systemd-networkd.service.d/gen-hooks.conf", "/etc/systemd/networkd.conf.d/gen-hooks.conf"],
  },
  {
    name: "ifplugd",
    stack: "ifupdown",
    summary: "/etc/default/ifplugd: the uplinks to watch and the daemon's delays (Debian 12 and older; Debian 13 has no ifplugd)",
    files: (plan) => [{ path: "/etc/default/ifplugd", template: "ifplugd/ifplugd.hbs", context: base(plan) }],
  },
  {
    name: "rt_tables",
    summary: "/etc/iproute2/rt_tables.d/gen-hooks.conf: names of the routing tables",
    files: (plan) => [{ path: "/etc/iproute2/rt_tables.d/gen-hooks.conf", template: "rt_tables/rt_tables.hbs", context: base(plan) }],
  },
  {
    name: "sysctl",
    summary: "/etc/sysctl.d/60-gen-hooks.conf: rp_filter, forwarding, linkdown, multipath hashing",
    files: (plan) => [{ path: "/etc/sysctl.d/60-gen-hooks.conf", template: "sysctl/sysctl.hbs", context: base(plan) }],
  },
  {
    name: "nftables",
    summary: "/etc/nftables.d/gen-hooks.nft: source NAT per uplink (table inet gen_hooks), loaded at boot and after every nftables.service reload by gen-hooks-nftables.service",
    files: (plan) => [
      { path: NFT_FILE, template: "nftables/gen-hooks.nft.hbs", context: base(plan) },
      { path: "/etc/systemd/system/gen-hooks-nftables.service", template: "nftables/gen-hooks-nftables.service.hbs", context: { ...base(plan), nftFile: NFT_FILE } },
    ],
  },
];

function networkdFiles(plan: Plan): TargetFile[] {
  const batched = plan.destinationSets.filter((d) => !d.networkdInline);
  return [
    ...plan.interfaces.map((iface) => ({
      path: `/etc/systemd/network/10-gen-hooks-${iface.name}.network`,
      template: "networkd/interface.network.hbs",
      context: { ...base(plan), iface },
    })),
    ...(plan.multipath.length > 0
      ? [{ path: "/etc/systemd/network/10-gen-hooks-lo.network", template: "networkd/lo.network.hbs", context: base(plan) }]
      : []),
    { path: "/etc/systemd/networkd.conf.d/gen-hooks.conf", template: "networkd/networkd.conf.hbs", context: base(plan) },
    ...batched.flatMap((set) => [
      routesFile(plan, set),
      { path: `/etc/systemd/system/${set.unit}`, template: "networkd/destinations.service.hbs", context: { ...base(plan), set } },
    ]),
    ...(batched.length > 0
      ? [{ path: "/etc/systemd/system/systemd-networkd.service.d/gen-hooks.conf", template: "networkd/networkd-wants.conf.hbs", context: { ...base(plan), sets: batched } }]
      : []),
  ];
}

export const targetNames = targets.map((t) => t.name);

export function findTarget(name: string): Target | undefined {
  return targets.find((t) => t.name === name);
}
