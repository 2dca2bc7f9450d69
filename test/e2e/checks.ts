// What the model promises, asked of the kernel and of real packets. Derived
// from the model's meaning (gen-hooks(5)), not from the plan's output.
import type { Family, Uplink } from "../../src/model/types.js";
import { REMOTE4, REMOTE6, offset, type Topology } from "./topology.js";
import { isLinkLocal } from "../../src/model/addr.js";
import type { Plan } from "../../src/plan/types.js";
import { explain, type Query } from "../../src/plan/explain.js";

export interface Check {
  what: string;
  ok: boolean;
  detail: string;
}

const remote = (f: Family) => (f === 4 ? REMOTE4 : REMOTE6);
const first = (prefix: string) => prefix.split("/")[0];
/** At most n items, evenly spread, first and last included: large destination sets are sampled. */
export function sample<T>(items: T[], n = 8): T[] {
  if (items.length <= n) return items;
  return Array.from({ length: n }, (_, i) => items[Math.round((i * (items.length - 1)) / (n - 1))]);
}

const routable = (u: Uplink, f: Family) => u.addresses.some((a) => a.family === f) && (u.gateways.length === 0 || u.gateways.some((g) => g.family === f));

/** The plan's main-default metric of an uplink (backups after every other). */
export const metricOf = (topo: Topology, u: Uplink) => topo.plan.uplinks.find((p) => p.name === u.name)?.metric ?? 100 + u.index;

/** The uplink that main-table traffic of family f uses while all links are up (failover); never a selector-only one. */
export function preferredUplink(topo: Topology, f: Family, except: string[] = []): Uplink | undefined {
  return topo.model.uplinks
    .filter((u) => u.default && routable(u, f) && !except.includes(u.interface))
    .sort((a, b) => metricOf(topo, a) - metricOf(topo, b))[0];
}

/** balance: the uplinks sharing the main default (backups only while no other is left). */
export function balanceMembers(topo: Topology, f: Family, except: string[] = []): Uplink[] {
  const live = topo.model.uplinks.filter((u) => u.default && routable(u, f) && !except.includes(u.interface));
  const primaries = live.filter((u) => !u.backup);
  if (primaries.length > 0) return primaries;
  const backup = live.sort((a, b) => metricOf(topo, a) - metricOf(topo, b))[0];
  return backup ? [backup] : [];
}

export function routeCheck(topo: Topology, what: string, args: string[], dev: string): Check {
  const r = topo.lab.routeGet("host", args);
  return { what, ok: r?.dev === dev, detail: `ip route get ${args.join(" ")} -> ${r ? `dev ${r.dev} via ${r.gateway ?? "-"} src ${r.prefsrc ?? "-"}` : "unreachable"}; expected dev ${dev}` };
}

function pingCheck(topo: Topology, what: string, role: string, target: string, from?: string): Check {
  // two echoes, one answer enough: right after the carrier cascade of a
  // three-uplink fixture the first echo to an uplink address went
  // unanswered (the next ones were), a neighbour being learned anew
  const ok = topo.lab.ping(role, target, { from, count: 2, waitS: 2 });
  return { what, ok, detail: `ping from ${role}${from ? ` -I ${from}` : ""} to ${target}: ${ok ? "answered" : "no answer"}` };
}

/** The devices n TCP flows to `to` (source ports 40000 up) are hashed onto, asked in one ip process. */
export function hashedDevices(topo: Topology, to: string, n: number): Set<string> {
  const flows = Array.from({ length: n }, (_, i) => [to, "ipproto", "tcp", "sport", String(40000 + i), "dport", "443"]);
  return new Set(topo.lab.routeGetMany("host", flows).flatMap((r) => (r.dev ? [r.dev] : [])));
}

export function behaviourChecks(topo: Topology): Check[] {
  const { model, lab } = topo;
  const checks: Check[] = [];
  const families = [4, 6].filter((f) => model.uplinks.some((u) => routable(u, f as Family))) as Family[];

  // Symmetric routing: every address answers through its own uplink.
  for (const u of model.uplinks) {
    for (const a of u.addresses) {
      checks.push(routeCheck(topo, `${u.name}: traffic from ${a.address} leaves by ${u.interface}`, [remote(a.family), "from", a.address], u.interface));
      checks.push(pingCheck(topo, `${u.name}: ${a.address} answers the internet through its ISP`, "net", a.address));
      checks.push(pingCheck(topo, `${u.name}: ${a.address} reaches the internet`, "host", remote(a.family), a.address));
    }
  }

  // Every uplink table reaches the LAN and the other uplinks' networks directly.
  for (const u of model.uplinks) {
    for (const a of u.addresses) {
      for (const lan of topo.lans)
        for (const h of lan.hosts.filter((h) => h.includes(":") === (a.family === 6)))
          checks.push(routeCheck(topo, `${u.name}: from ${a.address} the LAN host ${h} is on ${lan.interface}`, [h, "from", a.address], lan.interface));
      for (const o of model.uplinks.filter((o) => o !== u && o.interface !== u.interface))
        for (const g of o.gateways.filter((g) => g.family === a.family && !u.addresses.some((x) => x.network === o.addresses.find((y) => y.family === g.family)?.network))) {
          // a link-local gateway (fe80::1) is on every link: ask for another host of the uplink's network
          const net = o.addresses.find((y) => y.family === g.family)!.network;
          const host = isLinkLocal(g.address) ? offset(net, 7) : g.address;
          checks.push(routeCheck(topo, `${u.name}: from ${a.address} the network of ${o.name} is on ${o.interface}`, [host, "from", a.address], o.interface));
        }
    }
  }

  // Reverse-path filter of the uplinks, as the kernel has it.
  const rp = { loose: "2", strict: "1", off: "0" }[model.options.rpFilter];
  for (const dev of new Set(model.uplinks.filter((u) => u.addresses.some((a) => a.family === 4)).map((u) => u.interface))) {
    const value = lab.readFile("host", `/proc/sys/net/ipv4/conf/${dev}/rp_filter`);
    checks.push({ what: `rp_filter of ${dev} is ${model.options.rpFilter}`, ok: value === rp, detail: `rp_filter=${value}` });
  }

  // The main default.
  for (const f of families) {
    if (model.mode === "failover") {
      const pref = preferredUplink(topo, f)!;
      checks.push(routeCheck(topo, `IPv${f} main default uses ${pref.name}`, [remote(f)], pref.interface));
    } else {
      const members = balanceMembers(topo, f).map((u) => u.interface);
      const seen = hashedDevices(topo, remote(f), 64);
      const ok = members.every((m) => seen.has(m)) && [...seen].every((d) => members.includes(d));
      checks.push({ what: `IPv${f} flows are spread over ${members.join(", ")}`, ok, detail: `64 TCP flows used ${[...seen].sort().join(", ") || "nothing"}` });
    }
    checks.push(pingCheck(topo, `IPv${f}: the host reaches the internet`, "host", remote(f)));
  }

  // Selectors. Destination pins win over marks and uids of other uplinks.
  for (const u of model.uplinks) {
    for (const d of sample(u.destinations)) {
      const target = first(d.text);
      checks.push(routeCheck(topo, `${u.name}: destination ${target} is pinned`, [target], u.interface));
      for (const o of model.uplinks.filter((o) => o !== u)) {
        if (o.mark !== undefined) checks.push(routeCheck(topo, `${u.name}: pin of ${target} wins over mark of ${o.name}`, [target, "mark", String(o.mark)], u.interface));
        if (o.users.length > 0) checks.push(routeCheck(topo, `${u.name}: pin of ${target} wins over uids of ${o.name}`, [target, "uid", String(o.users[0].from)], u.interface));
      }
      checks.push(pingCheck(topo, `${u.name}: pinned ${target} answers`, "host", target));
    }
    for (const f of families.filter((f) => routable(u, f))) {
      if (u.mark !== undefined) checks.push(routeCheck(topo, `${u.name}: fwmark 0x${u.mark.toString(16)} (IPv${f})`, [remote(f), "mark", String(u.mark)], u.interface));
      for (const r of u.users)
        for (const uid of new Set([r.from, r.to]))
          checks.push(routeCheck(topo, `${u.name}: uid ${uid} (IPv${f})`, [remote(f), "uid", String(uid)], u.interface));
    }
    for (const s of u.sources) {
      const host = first(s.text);
      const lan = topo.lans.find((l) => l.hosts.includes(host));
      if (!lan) continue;
      checks.push(routeCheck(topo, `${u.name}: LAN source ${host} is routed through it`, [remote(s.family), "from", host, "iif", lan.interface], u.interface));
      if (u.nat !== "none") {
        const isp = topo.ispOf.get(u.name)!;
        const before = lab.rxPackets("net", isp.netDev);
        const ping = pingCheck(topo, `${u.name}: LAN host ${host} reaches the internet (NAT ${u.nat})`, lan.role, remote(s.family), host);
        const carried = lab.rxPackets("net", isp.netDev) - before;
        checks.push({ ...ping, ok: ping.ok && carried > 0, detail: `${ping.detail}; ${carried} packet(s) arrived from ${isp.role}` });
      }
    }
  }

  // NAT for the rest of the LAN through the main default.
  for (const lan of topo.lans) {
    if (!lan.generic) continue;
    const via = model.mode === "failover" ? [preferredUplink(topo, 4)] : balanceMembers(topo, 4);
    if (via.every((u) => u && u.nat !== "none"))
      checks.push(pingCheck(topo, `LAN host ${lan.generic} reaches the internet through NAT`, lan.role, REMOTE4, lan.generic));
  }
  return checks;
}

/** Kernel rules other than the three defaults, as "priority selector table" lines. */
export function kernelRules(topo: Topology, family: Family): string[] {
  type Rule = { priority: number; src?: string; srclen?: number; fwmark?: string; fwmask?: string; uid_start?: number; uid_end?: number; table?: string; action?: string };
  return topo.lab
    .json<Rule[]>("host", [`-${family}`, "rule", "show"])
    .filter((r) => ![0, 32766, 32767].includes(r.priority))
    .map((r) => {
      const from = r.src && r.src !== "all" ? ` from ${r.src}/${r.srclen ?? (family === 4 ? 32 : 128)}` : "";
      const mark = r.fwmark ? ` fwmark ${r.fwmark}${r.fwmask ? `/${r.fwmask}` : ""}` : "";
      const uid = r.uid_start !== undefined ? ` uidrange ${r.uid_start}-${r.uid_end}` : "";
      return `${r.priority}${from}${mark}${uid} ${r.table ? `table ${r.table}` : r.action}`;
    })
    .sort();
}

/**
 * explain's answers against the kernel's: the same device and next hop for
 * plain, from, mark, uid, iif and destination lookups.
 */
export function explainChecks(topo: Topology, plan: Plan): Check[] {
  const { model } = topo;
  const queries: Query[] = [];
  const families = [...new Set(model.uplinks.flatMap((u) => u.addresses.map((a) => a.family)))];
  for (const f of families) queries.push({ to: remote(f) });
  for (const u of model.uplinks) {
    for (const a of u.addresses) {
      queries.push({ to: remote(a.family), from: a.address });
      for (const lan of topo.lans) for (const h of lan.hosts.filter((h) => h.includes(":") === (a.family === 6))) queries.push({ to: h, from: a.address });
    }
    for (const d of sample(u.destinations)) {
      queries.push({ to: first(d.text) });
      for (const o of model.uplinks) if (o.mark !== undefined) queries.push({ to: first(d.text), mark: o.mark });
    }
    for (const f of families) {
      if (u.mark !== undefined) queries.push({ to: remote(f), mark: u.mark });
      for (const r of u.users) queries.push({ to: remote(f), uid: r.from }, { to: remote(f), uid: r.to }, { to: remote(f), uid: r.to + 1 });
    }
    for (const s of u.sources) {
      const lan = topo.lans.find((l) => l.hosts.includes(first(s.text)));
      if (lan) queries.push({ to: remote(s.family), from: first(s.text), iif: lan.interface });
    }
  }
  return queries.map((q) => {
    const args = [q.to, ...(q.from ? ["from", q.from] : []), ...(q.mark !== undefined ? ["mark", String(q.mark)] : []), ...(q.uid !== undefined ? ["uid", String(q.uid)] : []), ...(q.iif ? ["iif", q.iif] : [])];
    const kernel = topo.lab.routeGet("host", args);
    const answer = explain(plan, q);
    const what = `explain agrees with ip route get ${args.join(" ")}`;
    if ("unreachable" in answer) return { what, ok: kernel === undefined, detail: `explain: unreachable; kernel: ${JSON.stringify(kernel)}` };
    const r = answer.route;
    const ok = r.nexthops
      ? r.nexthops.some((n) => n.dev === kernel?.dev && n.via === kernel?.gateway)
      : kernel?.dev === r.dev && kernel?.gateway === r.via;
    return { what, ok, detail: `explain: ${r.nexthops ? r.nexthops.map((n) => `${n.via ?? "-"}@${n.dev}`).join("|") : `${r.via ?? "-"}@${r.dev}`} (rule ${answer.rule.priority}); kernel: ${kernel ? `${kernel.gateway ?? "-"}@${kernel.dev}` : "unreachable"}` };
  });
}

/**
 * The model's pass-through settings that the kernel shows: the MTU an
 * ifupdown stanza ("mtu") or a .network file ([Link] MTUBytes=) gives an
 * interface.
 */
export function passThroughChecks(topo: Topology, stack: "ifupdown" | "networkd"): Check[] {
  const checks: Check[] = [];
  for (const iface of topo.plan.interfaces) {
    const mtu = stack === "ifupdown" ? iface.pass.ifupdown.find((o) => o.key === "mtu")?.value : iface.pass.networkd.find((s) => s.section === "Link")?.entries.find((e) => e.key === "MTUBytes")?.value;
    if (mtu === undefined) continue;
    const [link] = topo.lab.json<{ mtu: number }[]>("host", ["link", "show", "dev", iface.name]);
    checks.push({ what: `${iface.name}: the MTU the model passes to ${stack}`, ok: String(link?.mtu) === mtu, detail: `mtu ${link?.mtu}, expected ${mtu}` });
  }
  return checks;
}
