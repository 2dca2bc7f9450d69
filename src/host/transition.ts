// What moves a host's kernel from the plan it runs to a new one, through
// its own stack: worked out from the files installed now, the files about
// to be installed and the previous applied plan, as commands. Interfaces
// whose configuration does not change are not bounced.
import { basename } from "node:path";
import type { Plan } from "../plan/types.js";
import type { Stack } from "../model/types.js";
import type { RenderedFile } from "../pipeline.js";
import { FIXED_UNITS, IFPLUGD_DEFAULTS_FILE, IFUPDOWN_FILE, NFT_FILE, SYSCTL_FILE } from "../targets/index.js";
import { ruleSelector } from "../plan/rules.js";
import { EVENT_LIBRARY, EVENT_SCRIPT } from "../plan/leases.js";
import { meaning, meaningful } from "../render/writer.js";
import { inPlaceSteps } from "./in-place.js";
import type { Step } from "./step.js";

export type { Step };

export interface Transition {
  /** Run while the old files are installed (ifdown needs its own stanzas). */
  before: Step[];
  /** Run once the new files are in place. */
  after: Step[];
  /** Interfaces brought down and up (or reconfigured). */
  bounced: string[];
  /** Interfaces whose routes and rules change in the kernel in place, the link and its addresses left as they are. */
  inPlace: string[];
  /** Interfaces of the new plan that are not on the host now (a USB NIC, a VLAN, ppp0): nothing is run for them. */
  absent: string[];
}

const IFPLUGD_UNIT = "ifplugd.service";
const NETWORKD_LO_FILE = "/etc/systemd/network/10-gen-hooks-lo.network";
const NETWORK_FILE = /^\/etc\/systemd\/network\/10-gen-hooks-(.+)\.(network|netdev)$/;
const UNIT = /^\/etc\/systemd\/system\/(gen-hooks-[^/]+\.(service|path|timer))$/;
/** Units an admin enables once (README, gen-hooks(1)); apply enables and (re)starts them. */
const STARTED = /^gen-hooks-(health|killswitch|ra|nftables|.+-routes)\.service$|^gen-hooks-leases\.path$/;

/** The ifupdown drop-in's stanzas by interface, as meaning. */
export function stanzas(text: string | undefined): Map<string, string> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of (text ?? "").split("\n")) {
    const auto = /^(?:auto|allow-hotplug)\s+(\S+)/.exec(line);
    if (auto) out.set(auto[1], (current = []));
    if (current && meaningful(line)) current.push(line);
  }
  return new Map([...out].map(([k, v]) => [k, v.join("\n")]));
}

function changedKeys(old: Map<string, string>, next: Map<string, string>): { changed: string[]; removed: string[]; added: string[] } {
  const changed = [...next.keys()].filter((k) => old.has(k) && old.get(k) !== next.get(k)).sort();
  const removed = [...old.keys()].filter((k) => !next.has(k)).sort();
  const added = [...next.keys()].filter((k) => !old.has(k)).sort();
  return { changed, removed, added };
}

/** ip rule's words for a rule: its priority and selector (ruleSelector's " from X fwmark Y uidrange Z"), then what it does. */
const ruleWords = (priority: number, selector: string, action: string[]) => ["priority", String(priority), ...selector.split(" ").filter(Boolean), ...action];

/**
 * installed: the current content of an install path (undefined when absent);
 * files: what will be installed; stale: installed paths that go; next:
 * the plan they make (none: a rollback to before the first apply);
 * running: whether a service of the host runs now (asked only when needed);
 * present: whether the host has the interface now.
 */
export function transition(
  stack: Stack,
  previous: Plan | undefined,
  next: Plan | undefined,
  installed: (path: string) => string | undefined,
  files: RenderedFile[],
  stale: string[],
  running: (unit: string) => boolean = () => false,
  present: (iface: string) => boolean = () => true,
): Transition {
  const before: Step[] = [];
  // after the install: systemd and sysctl first, the kill switch before any
  // interface comes up, then the stack, the previous plan's leftovers, the services
  const prepare: Step[] = [];
  const stackSteps: Step[] = [];
  const cleanup: Step[] = [];
  const services: Step[] = [];
  const newContent = new Map(files.map((f) => [f.path, f.content]));
  // a header naming another model file is no change to act on
  const touched = (path: string) => meaning(installed(path)) !== meaning(newContent.get(path));
  const paths = [...new Set([...files.map((f) => f.path), ...stale])].sort();

  // units that go are stopped while their files are still there
  const units = (list: string[]) => list.flatMap((p) => UNIT.exec(p)?.[1] ?? []);
  const goneUnits = units(stale);
  for (const u of goneUnits) before.push({ argv: ["systemctl", "disable", "--now", u], mayFail: true });

  // A running ifplugd keeps the interfaces it read at its start: stopped
  // before any ifdown (it would bring a removed uplink back up), started
  // again with the new settings once they are in place.
  const ifplugd = paths.includes(IFPLUGD_DEFAULTS_FILE) && touched(IFPLUGD_DEFAULTS_FILE) && running(IFPLUGD_UNIT);
  if (ifplugd) before.push({ argv: ["systemctl", "stop", IFPLUGD_UNIT] });

  let bounced: string[] = [];
  const inPlace: string[] = [];
  if (stack === "ifupdown") {
    const old = stanzas(installed(IFUPDOWN_FILE));
    // a drop-in neither rewritten nor removed (a rollback puts back only what changed) stays as it is
    const now = paths.includes(IFUPDOWN_FILE) ? stanzas(newContent.get(IFUPDOWN_FILE)) : old;
    const { changed, removed, added } = changedKeys(old, now);
    // a change of routes and rules alone is made in place: no gap for the link's connections
    const cycled = changed.filter((i) => {
      const steps = previous && next && present(i) ? inPlaceSteps(i, previous, next, old.get(i)!, now.get(i)!) : undefined;
      if (steps) {
        // a balance default's rebuild is the same for each of its members: once
        for (const step of steps) if (!stackSteps.some((s) => JSON.stringify(s) === JSON.stringify(step))) stackSteps.push(step);
        inPlace.push(i);
      }
      return steps === undefined;
    });
    for (const i of [...cycled, ...removed].filter(present)) before.push({ argv: ["ifdown", i], mayFail: true });
    for (const i of [...cycled, ...added].filter(present)) stackSteps.push({ argv: ["ifup", i] });
    bounced = [...cycled, ...removed, ...added].filter(present).sort();
  }

  const unitFiles = paths.filter((p) => UNIT.test(p) || p.startsWith("/etc/systemd/system/systemd-networkd.service.d/"));
  if (unitFiles.some(touched)) prepare.push({ argv: ["systemctl", "daemon-reload"] });
  if (touched(SYSCTL_FILE) && newContent.has(SYSCTL_FILE)) prepare.push({ argv: ["sysctl", "-q", "-e", "-p", SYSCTL_FILE] }); // -e: an interface that is not there yet (its keys are set when it appears)

  if (stack === "networkd") {
    const byLink = (read: (p: string) => string | undefined) =>
      new Map(
        paths
          .filter((p) => NETWORK_FILE.test(p))
          .flatMap((p) => {
            const text = read(p);
            return text === undefined ? [] : [[`${NETWORK_FILE.exec(p)![1]}`, `${p}\n${meaning(text)}`] as [string, string]];
          }),
      );
    const { changed, removed, added } = changedKeys(byLink(installed), byLink((p) => newContent.get(p)));
    const any = changed.length + removed.length + added.length > 0 || paths.some((p) => p.startsWith("/etc/systemd/networkd.conf.d/") && touched(p));
    if (any) stackSteps.push({ argv: ["networkctl", "reload"] });
    // lo is never taken down (that drops ::1 and loopback's local routes): it is only left unmanaged
    for (const i of removed.filter(present)) stackSteps.push({ argv: ["networkctl", i === "lo" ? "reconfigure" : "down", i], mayFail: true });
    // networkd configures a link that appears later by itself
    const reconfigured = [...changed, ...added].filter((i) => i === "lo" || present(i));
    // networkd 252 (Debian 12) drops the multipath default on lo when it reconfigures a member link:
    // lo is reconfigured after its members, so that networkd puts the route back
    const members = new Set((next?.multipath ?? []).filter((m) => !m.byEvent).flatMap((m) => m.nexthops.map((n) => n.dev)));
    if (reconfigured.some((i) => members.has(i)) && !reconfigured.includes("lo") && paths.includes(NETWORKD_LO_FILE)) reconfigured.push("lo");
    for (const i of reconfigured) stackSteps.push({ argv: ["networkctl", "reconfigure", i], mayFail: i === "lo" });
    bounced = [...changed, ...removed, ...added].filter((i) => i === "lo" || present(i)).sort();
  }

  // a balance default that follows leases holds its nexthops and weights in the
  // event script: when they change, it is rebuilt now, not at the next lease
  if (previous && next?.eventScript)
    for (const m of next.multipath.filter((x) => x.byEvent))
      if (JSON.stringify(previous.multipath.find((x) => x.family === m.family)) !== JSON.stringify(m)) stackSteps.push({ argv: [next.eventScript, "multipath", String(m.family)] });

  // leftovers of the previous plan that no stack removes: its rules and tables that the new plan has not
  if (previous) {
    // a kill rule is found by priority and selector alone (as its "kill-switch off" deletes it)
    const rules = (p: Plan) => [
      ...p.rules.filter((r) => !r.from?.startsWith("$")).map((r) => ({ family: r.family, words: ruleWords(r.priority, ruleSelector(r), ["table", String(r.table)]) })),
      ...(p.killSwitch?.rules ?? []).map((r) => ({ family: r.family, words: ruleWords(r.priority, r.selector, []) })),
    ];
    const want = new Set(next ? rules(next).map((r) => `${r.family} ${r.words.join(" ")}`) : []);
    for (const r of rules(previous)) if (!want.has(`${r.family} ${r.words.join(" ")}`)) cleanup.push({ argv: ["ip", `-${r.family}`, "rule", "del", ...r.words], mayFail: true });
    // a balance default the new plan has not (balance -> failover): main's multipath route of its metric
    // goes, and no single default of the same metric (the new failover default) with it
    for (const m of previous.multipath.filter((x) => !next?.multipath.some((y) => y.family === x.family))) {
      const route = `default table main proto static metric ${m.metric}`;
      cleanup.push({ argv: ["sh", "-c", `ip -${m.family} route show ${route} | grep -q nexthop && ip -${m.family} route del ${route}`], mayFail: true });
    }
    const tables = new Set((next?.tables ?? []).map((t) => t.id));
    for (const t of previous.tables.filter((x) => !tables.has(x.id)))
      for (const f of [4, 6]) cleanup.push({ argv: ["ip", `-${f}`, "route", "flush", "table", String(t.id)], mayFail: true });
  }

  if (stale.includes(NFT_FILE)) cleanup.push({ argv: ["nft", "delete", "table", "inet", "gen_hooks"], mayFail: true });
  // the units the new files have, and those already installed that stay, each
  // (re)started when it or what it runs changed
  const kept = [...FIXED_UNITS.map((p) => basename(p)), ...(next?.destinationSets.map((d) => d.unit) ?? [])].filter((u) => {
    const path = `/etc/systemd/system/${u}`;
    return installed(path) !== undefined && !stale.includes(path);
  });
  for (const u of [...new Set([...units(files.map((f) => f.path)), ...kept])].sort()) {
    if (!STARTED.test(u)) continue;
    const path = `/etc/systemd/system/${u}`;
    const changed = paths.some((p) => touched(p) && (p === path || reads(u, p)));
    if (!changed && installed(path) !== undefined) continue;
    // the NAT table is replaced in one nft transaction (ExecReload=): a restart would delete it first, and
    // connections starting in between would leave without their source NAT
    const restart = u === "gen-hooks-nftables.service" && installed(path) !== undefined ? "reload-or-restart" : "restart";
    (u === "gen-hooks-killswitch.service" ? prepare : services).push({ argv: ["systemctl", "enable", u] }, { argv: ["systemctl", restart, u] });
  }
  if (ifplugd) services.push({ argv: ["systemctl", "start", IFPLUGD_UNIT] });
  const absent = (next?.interfaces ?? []).map((i) => i.name).filter((i) => !present(i));
  return { before, after: [...prepare, ...stackSteps, ...cleanup, ...services], bounced, inPlace, absent };
}

/** Whether a unit's work depends on this file (it loads or runs it). */
function reads(unit: string, path: string): boolean {
  const event = path === EVENT_SCRIPT || path === EVENT_LIBRARY;
  if (unit === "gen-hooks-nftables.service") return path === NFT_FILE;
  if (unit === "gen-hooks-health.service") return path === "/etc/gen-hooks/lsm.conf" || event;
  if (unit === "gen-hooks-killswitch.service") return event || path.endsWith("-kill.batch");
  if (unit.endsWith("-routes.service")) return path.endsWith(".routes");
  return event;
}
