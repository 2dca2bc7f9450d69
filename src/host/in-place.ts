// A change of an ifupdown interface's routes and rules, made in the kernel in
// place instead of ifdown and ifup: a new pinned destination, a selector, a
// renamed uplink's table leave the link, its addresses and every connection
// through it as they are. It is taken only when the stanzas differ in their
// route and rule lines alone (addresses, options, hooks and the link's own
// settings the same) and the interface takes no lease; the commands are
// worked out from the two plans and written with the stanza's own partials,
// so that they are the lines an ifup would run.
import type { Plan, PlanInterface, PlanRoute } from "../plan/types.js";
import { renderPartial } from "../render/engine.js";
import type { Step } from "./step.js";

/** A stanza line that only adds or deletes a route or a rule (what in place does instead). */
const ROUTE_OR_RULE = /^\s*(up ip -[46] route replace |up ip -[46] -force -batch |up \[ -n "\$\(ip -[46] rule show |down ip -[46] rule del )/;
/** The first line of a balance default's rebuild: a shell block (continued with "\") or the event script's "multipath". */
const MULTIPATH = /^\s*((up|down) nh=""; \\$|(up|post-down) \S+ multipath [46]$)/;

/** The stanza without its route, rule and multipath lines: what must stay the same for a change in place. */
function frame(stanza: string): string {
  const out: string[] = [];
  let continued = false;
  for (const line of stanza.split("\n")) {
    const skip: boolean = continued || MULTIPATH.test(line);
    continued = skip && line.endsWith("\\");
    if (!skip && !ROUTE_OR_RULE.test(line)) out.push(line);
  }
  return out.join("\n");
}

const flag = (family: number) => `-${family}`;
const routeSpec = (r: PlanRoute) => renderPartial("ifupdown/route", r);
const routeKey = (r: PlanRoute) => `${r.family} ${renderPartial("ifupdown/route_del", { ...r, dev: "" })}`;

function routesOf(iface: PlanInterface): { inline: PlanRoute[]; batched: { family: number; file: string; routes: PlanRoute[] }[] } {
  const inline: PlanRoute[] = [];
  const batched: { family: number; file: string; routes: PlanRoute[] }[] = [];
  for (const b of iface.families) {
    inline.push(...b.routes);
    for (const set of b.destinationSets) {
      if (set.ifupdownInline) inline.push(...set.routes);
      else batched.push({ family: set.family, file: set.file, routes: set.routes });
    }
  }
  return { inline, batched };
}

const leased = (plan: Plan, name: string) => plan.leases.some((l) => l.dev === name);
/** Which families rebuild a balance default, and how: a change of nexthops or weights is made in place, one of these is not. */
const multipathShape = (iface: PlanInterface) => JSON.stringify(iface.families.map((b) => (b.multipath ? { family: b.family, byEvent: !!b.multipath.byEvent, metric: b.multipath.metric } : null)));

/**
 * The commands that move interface `name` from the previous plan to the next
 * in place, or undefined when it must be brought down and up instead.
 * oldStanza, newStanza: its stanzas' meaningful lines.
 */
export function inPlaceSteps(name: string, previous: Plan, next: Plan, oldStanza: string, newStanza: string): Step[] | undefined {
  const was = previous.interfaces.find((i) => i.name === name);
  const will = next.interfaces.find((i) => i.name === name);
  if (!was || !will || was.dhcp || will.dhcp || was.ra || will.ra || leased(previous, name) || leased(next, name)) return undefined;
  if (frame(oldStanza) !== frame(newStanza) || multipathShape(was) !== multipathShape(will)) return undefined;
  const old = routesOf(was);
  const now = routesOf(will);
  const steps: Step[] = [];

  // routes that go: every old route whose key (table, destination, metric) no new one has
  const keep = new Set([...now.inline, ...now.batched.flatMap((s) => s.routes)].map(routeKey));
  const gone = [...old.inline, ...old.batched.flatMap((s) => s.routes)].filter((r) => !keep.has(routeKey(r)));
  for (const family of [4, 6]) {
    const lines = gone.filter((r) => r.family === family).map((r) => `route del ${renderPartial("ifupdown/route_del", r)}\n`);
    if (lines.length > 0) steps.push({ argv: ["ip", flag(family), "-force", "-batch", "-"], input: lines.join(""), mayFail: true });
  }
  // routes that come or change: replaced, as the stanza's own lines do
  const before = new Set(old.inline.map(routeSpec));
  for (const r of now.inline) if (!before.has(routeSpec(r))) steps.push({ argv: ["ip", flag(r.family), "route", "replace", ...routeSpec(r).split(" ")] });
  // a batched set whose routes changed: its new file, loaded again (every line a replace)
  for (const set of now.batched) {
    const was = old.batched.find((s) => s.file === set.file);
    if (!was || JSON.stringify(was.routes) !== JSON.stringify(set.routes)) steps.push({ argv: ["ip", flag(set.family), "-force", "-batch", set.file] });
  }
  // rules that come (those that go are the previous plan's leftovers, deleted for every interface)
  const had = new Set(was.families.flatMap((b) => b.rules.map((r) => `${r.family} ${renderPartial("ifupdown/rule", r)}`)));
  for (const r of will.families.flatMap((b) => b.rules))
    if (!had.has(`${r.family} ${renderPartial("ifupdown/rule", r)}`)) steps.push({ argv: ["sh", "-c", renderPartial("ifupdown/rule_add", r)] });
  // a balance default whose nexthops or weights changed: rebuilt by the stanza's own block, one route replace
  // (one that follows leases is rebuilt by the event script: the transition runs it)
  for (const b of will.families) {
    const before = was.families.find((o) => o.family === b.family)?.multipath;
    if (b.multipath && !b.multipath.byEvent && JSON.stringify(before) !== JSON.stringify(b.multipath)) steps.push({ argv: ["sh", "-c", renderPartial("ifupdown/multipath", { ...b, hook: "" }).trim()] });
  }
  return steps;
}
