import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadModelFile, parseModelText } from "../../src/model/load.js";
import { validateModel } from "../../src/model/validate.js";
import { buildPlan } from "../../src/plan/plan.js";
import { renderTargets } from "../../src/pipeline.js";
import { stanzas, transition } from "../../src/host/transition.js";
import type { Stack } from "../../src/model/types.js";

const plan = (m: string) => buildPlan(validateModel(loadModelFile(`test/e2e/apply/${m}.yaml`)));

/** From model `from` installed (files and record) to model `to`: the commands, one per line. */
function steps(from: string | undefined, to: string, stack: Stack) {
  const old = from ? plan(from) : undefined;
  const installed = new Map((old ? renderTargets(old, "all", stack) : []).map((f) => [f.path, f.content]));
  const next = plan(to);
  const files = renderTargets(next, "all", stack);
  const stale = [...installed.keys()].filter((p) => !files.some((f) => f.path === p));
  const t = transition(stack, old, next, (p) => installed.get(p), files, stale);
  const deleted = [...t.before, ...t.after].flatMap((s) => s.input?.split("\n").filter(Boolean) ?? []);
  return { before: t.before.map((s) => s.argv.join(" ")), after: t.after.map((s) => s.argv.join(" ")), bounced: t.bounced, inPlace: t.inPlace, deleted };
}

describe("transition: from the applied plan to a new one", () => {
  it("the same model: nothing to run", () => {
    for (const stack of ["ifupdown", "networkd"] as const) expect(steps("b", "b", stack)).toEqual({ before: [], after: [], bounced: [], inPlace: [], deleted: [] });
  });

  it("ifupdown: a change of routes and rules alone is made in place; a removed interface goes down; the old plan's leftovers go", () => {
    const t = steps("a", "b", "ifupdown");
    // eth0 (the LAN) lists the uplinks' networks per table: lte's goes; eth1's pinned destination
    // changes; eth2's uplink is renamed: no link goes down for any of them
    expect(t.bounced).toEqual(["eth3"]);
    expect(t.inPlace).toEqual(["eth0", "eth1", "eth2"]);
    expect(t.before).toEqual(["ifdown eth3"]);
    expect(t.after.filter((s) => /^if(up|down)/.test(s))).toEqual([]);
    expect(t.after).toContain("ip -4 route replace 100.127.0.54/32 via 198.51.100.1 dev eth1 src 198.51.100.2 proto static table 1101");
    expect(t.deleted).toEqual(["route del 192.168.0.0/24 dev eth0 table 103", "route del 198.51.100.0/24 dev eth1 table 103", "route del 100.127.0.53/32 dev eth1 table 1101", "route del 203.0.113.0/24 dev eth2 table 103"]);
    // lte's table and rule 3003 are gone from the plan: taken away whatever the stack left
    expect(t.after).toContain("ip -4 rule del priority 3007 from 100.64.3.2/32 table 103");
    expect(t.after).toContain("ip -4 route flush table 103");
    expect(t.after.indexOf("sysctl -q -e -p /etc/sysctl.d/60-gen-hooks.conf")).toBe(0);
    // and back: B to A adds lte's network to the others' tables in place, and brings eth3 up
    const back = steps("b", "a", "ifupdown");
    expect([back.bounced, back.inPlace]).toEqual([["eth3"], ["eth0", "eth1", "eth2"]]);
    expect(back.after).toContain("ip -4 route replace 198.51.100.0/24 dev eth1 src 198.51.100.2 scope link proto static table 103");
    expect(back.after).toContain("ifup eth3");
  });


  it("ifplugd's settings change: a running ifplugd is stopped before any ifdown and started after; one not running is left alone", () => {
    const withIfplugd = (m: string) => buildPlan(validateModel(parseModelText(`${readFileSync(`test/e2e/apply/${m}.yaml`, "utf8")}\noptions:\n  ifplugd: { delay-down: 1 }\n`, `${m}.yaml`)));
    const old = withIfplugd("a");
    const next = withIfplugd("b");
    const installed = new Map(renderTargets(old, "all", "ifupdown").map((f) => [f.path, f.content]));
    const files = renderTargets(next, "all", "ifupdown");
    const stale = [...installed.keys()].filter((p) => !files.some((f) => f.path === p));
    const asked: string[] = [];
    const run = (active: boolean) => {
      const t = transition("ifupdown", old, next, (p) => installed.get(p), files, stale, (u) => (asked.push(u), active));
      return { before: t.before.map((s) => s.argv.join(" ")), after: t.after.map((s) => s.argv.join(" ")) };
    };
    const running = run(true);
    expect(running.before[0]).toBe("systemctl stop ifplugd.service");
    expect(running.before.slice(1).every((s) => s.startsWith("ifdown"))).toBe(true);
    expect(running.after[running.after.length - 1]).toBe("systemctl start ifplugd.service");
    expect(asked).toEqual(["ifplugd.service"]);
    const idle = run(false);
    expect([...idle.before, ...idle.after].filter((s) => s.includes("ifplugd"))).toEqual([]);
  });

  it("an interface not on the host now is neither brought down nor up (networkd configures it when it appears)", () => {
    const old = plan("a");
    const next = plan("b");
    const installed = new Map(renderTargets(old, "all", "ifupdown").map((f) => [f.path, f.content]));
    for (const stack of ["ifupdown", "networkd"] as const) {
      const inst = stack === "ifupdown" ? installed : new Map(renderTargets(old, "all", stack).map((f) => [f.path, f.content]));
      const files = renderTargets(next, "all", stack);
      const stale = [...inst.keys()].filter((p) => !files.some((f) => f.path === p));
      const t = transition(stack, old, next, (p) => inst.get(p), files, stale, () => false, (i) => i !== "eth2");
      const all = [...t.before, ...t.after].map((s) => s.argv.join(" "));
      expect(all.filter((s) => / eth2$/.test(s)), stack).toEqual([]);
      expect([...t.bounced, ...t.inPlace], stack).toContain("eth1");
      expect(t.absent, stack).toEqual(["eth2"]);
      expect(t.bounced, stack).not.toContain("eth2");
    }
  });

  it("a selector added is a rule added in place; a leased interface is still brought down and up", () => {
    const text = (extra: string) => `version: 1\nuplinks:\n  - {name: fibre, interface: eth1, address: 198.51.100.2/24, gateway: 198.51.100.1${extra}}\n  - {name: cable, interface: eth2, address: dhcp}\n`;
    const planOf = (t: string) => buildPlan(validateModel(parseModelText(t, "m.yaml")));
    const [old, next] = [planOf(text("")), planOf(text(", users: [1001]"))];
    const installed = new Map(renderTargets(old, "all", "ifupdown").map((f) => [f.path, f.content]));
    const files = renderTargets(next, "all", "ifupdown");
    const t = transition("ifupdown", old, next, (p) => installed.get(p), files, []);
    expect([t.bounced, t.inPlace]).toEqual([[], ["eth1"]]);
    expect(t.after.map((s) => s.argv.join(" "))).toContain(`sh -c [ -n "$(ip -4 rule show priority 4001 uidrange 1001-1001 table 101 2>/dev/null)" ] || ip -4 rule add priority 4001 uidrange 1001-1001 table 101`);
    // the same selector on the leased uplink: its stanza is the DHCP client's, it is cycled
    const leased = (extra: string) => `version: 1\nuplinks:\n  - {name: fibre, interface: eth1, address: 198.51.100.2/24, gateway: 198.51.100.1}\n  - {name: cable, interface: eth2, address: dhcp${extra}}\n`;
    const [lo, ln] = [planOf(leased(", destinations: [198.18.0.0/24]")), planOf(leased(", destinations: [198.18.1.0/24]"))];
    const inst = new Map(renderTargets(lo, "all", "ifupdown").map((f) => [f.path, f.content]));
    const lt = transition("ifupdown", lo, ln, (p) => inst.get(p), renderTargets(ln, "all", "ifupdown"), []);
    expect(lt.inPlace).toEqual([]);
  });

  it("balance: new weights rebuild the multipath default in place, once, with the stanza's own block; a leased member's by the event script", () => {
    const text = (w: number, cable: string) => `version: 1\nmode: balance\nuplinks:\n  - {name: fibre, interface: eth1, address: 198.51.100.2/24, gateway: 198.51.100.1, weight: ${w}}\n  - {name: cable, interface: eth2, ${cable}}\n`;
    const planOf = (t: string) => buildPlan(validateModel(parseModelText(t, "m.yaml")));
    const move = (from: string, to: string) => {
      const [old, next] = [planOf(from), planOf(to)];
      const installed = new Map(renderTargets(old, "all", "ifupdown").map((f) => [f.path, f.content]));
      const t = transition("ifupdown", old, next, (p) => installed.get(p), renderTargets(next, "all", "ifupdown"), []);
      return { bounced: t.bounced, inPlace: t.inPlace, steps: [...t.before, ...t.after].map((s) => s.argv.join(" ")) };
    };
    const statics = "address: 203.0.113.2/24, gateway: 203.0.113.1";
    const t = move(text(1, statics), text(3, statics));
    expect([t.bounced, t.inPlace]).toEqual([[], ["eth1", "eth2"]]);
    const rebuilds = t.steps.filter((s) => s.includes("route replace default"));
    expect(rebuilds).toHaveLength(1);
    expect(rebuilds[0]).toMatch(/^sh -c nh="";/);
    expect(rebuilds[0]).toContain("nh=\"$nh nexthop via 198.51.100.1 dev eth1 weight 3\"");
    expect(t.steps.filter((s) => /^if(up|down)/.test(s))).toEqual([]);
    // a failover model made a balance one: main's defaults change shape, the links are cycled
    expect(move(text(1, statics).replace("mode: balance\n", ""), text(1, statics)).bounced).toEqual(["eth1", "eth2"]);
    // with a leased member the stanzas call the event script, which holds the weights: run once the new one is in place
    const leased = move(text(1, "address: dhcp"), text(2, "address: dhcp"));
    expect([leased.bounced, leased.inPlace]).toEqual([[], []]);
    expect(leased.steps).toContain("/etc/gen-hooks/uplink-event multipath 4");
  });

  it("ifupdown: the booted proof's hitless changes (weights, a uid selector, NAT) cycle no link; a change of mode does", () => {
    expect(steps("b", "d", "ifupdown").bounced).toEqual(["eth1", "eth2"]);
    for (const [from, to] of [["d", "e"], ["e", "f"], ["f", "g"]]) {
      const t = steps(from, to, "ifupdown");
      expect(t.bounced, `${from} -> ${to}`).toEqual([]);
      expect([...t.before, ...t.after].filter((s) => /^(if(up|down)|networkctl)/.test(s)), `${from} -> ${to}`).toEqual([]);
    }
    expect(steps("f", "g", "ifupdown").after).toEqual(["systemctl enable gen-hooks-nftables.service", "systemctl reload-or-restart gen-hooks-nftables.service"]);
  });

  it("networkd: balance -> failover leaves lo up (unmanaged) and takes main's multipath default away", () => {
    const t = steps("d", "b", "networkd");
    expect(t.after).not.toContain("networkctl down lo");
    expect(t.after).toContain("networkctl reconfigure lo");
    expect(t.after).toContain("sh -c ip -4 route show default table main proto static metric 100 | grep -q nexthop && ip -4 route del default table main proto static metric 100");
    expect(steps("d", "e", "networkd").after.filter((s) => s.includes("route del default"))).toEqual([]);
    // a member link reconfigured (a uid selector added to fibre): lo after it, which holds the multipath default
    const f = steps("e", "f", "networkd").after.filter((s) => s.startsWith("networkctl reconfigure"));
    expect(f).toEqual(["networkctl reconfigure eth1", "networkctl reconfigure lo"]);
  });

  it("an address change bounces only its interface", () => {
    const t = steps("b", "c", "ifupdown");
    expect(t).toEqual({ before: ["ifdown eth1"], after: ["ifup eth1", "ip -4 rule del priority 3001 from 198.51.100.2/32 table 101"], bounced: ["eth1"], inPlace: [], deleted: [] });
  });

  it("networkd: reload, then reconfigure the changed links and take down the removed one", () => {
    const t = steps("a", "b", "networkd");
    expect(t.before).toEqual([]);
    expect(t.after).toContain("networkctl reload");
    expect(t.after).toContain("networkctl down eth3");
    expect(t.after).toContain("networkctl reconfigure eth1");
    expect(t.after.indexOf("networkctl reload")).toBeLessThan(t.after.indexOf("networkctl reconfigure eth1"));
  });

  it("first apply over a package's files: nothing to run", () => {
    const b = plan("b");
    const files = renderTargets(b, "all", "ifupdown");
    const installed = new Map(files.map((f) => [f.path, f.content]));
    expect(transition("ifupdown", undefined, b, (p) => installed.get(p), files, [])).toEqual({ before: [], after: [], bounced: [], inPlace: [], absent: [] });
  });

  it("files that do not include the drop-in (a rollback puts back only what changed) touch no interface", () => {
    const b = plan("b");
    const all = renderTargets(b, "all", "ifupdown");
    const installed = new Map(all.map((f) => [f.path, f.content]));
    const nft = all.filter((f) => f.path === "/etc/nftables.d/gen-hooks.nft").map((f) => ({ ...f, content: f.content.replaceAll("masquerade", "snat to 198.51.100.2") }));
    const t = transition("ifupdown", b, b, (p) => installed.get(p), nft, []);
    expect(t.bounced).toEqual([]);
    // the NAT file changed: its unit (installed, unchanged) reloads it
    expect(t.after.map((s) => s.argv.join(" "))).toEqual(["systemctl enable gen-hooks-nftables.service", "systemctl reload-or-restart gen-hooks-nftables.service"]);
  });

  it("the drop-in's stanzas compare by meaning: comments and blank lines aside", () => {
    const s = stanzas("# header\n\n# LAN\nauto eth0\niface eth0 inet manual\n    up ip link set dev eth0 up\n\n# uplink x\nauto eth1\niface eth1 inet manual\n");
    expect([...s.keys()]).toEqual(["eth0", "eth1"]);
    expect(s.get("eth0")).toBe("auto eth0\niface eth0 inet manual\n    up ip link set dev eth0 up");
  });
});
