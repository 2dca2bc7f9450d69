// npm run bench: start-up, render at scale and (as root) apply at scale,
// each beside its peer (netplan) where one exists, and the machine it ran on.
// Commands compared are alternated run by run; medians are printed.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, release, tmpdir } from "node:os";
import { join } from "node:path";
import { startup } from "./startup.mjs";
import { benchPrefix, prefixesPerUplink, uplinkNet } from "./prefixes.mjs";

const here = new URL(".", import.meta.url).pathname;
const bin = join(here, "../dist/gen-hooks.cjs");
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const has = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
const work = mkdtempSync(join(tmpdir(), "gh-bench-"));

function scaleModel(uplinks, prefixes) {
  const r = spawnSync(process.execPath, [join(here, "scale-model.mjs"), String(uplinks), String(prefixes)], { encoding: "utf8", maxBuffer: 1 << 28 });
  const path = join(work, `model-${uplinks}-${prefixes}.yaml`);
  writeFileSync(path, r.stdout);
  return path;
}

/** The same model with each uplink's prefixes in a list file (destination-lists) instead of inline. */
function scaleListModel(uplinks, prefixes) {
  const dir = join(work, `lists-${uplinks}-${prefixes}`);
  mkdirSync(join(dir, "lists"), { recursive: true });
  const per = prefixesPerUplink(uplinks, prefixes);
  const lines = ["version: 1", "uplinks:"];
  for (let u = 0; u < uplinks; u++) {
    const net = uplinkNet(u);
    writeFileSync(join(dir, `lists/u${u}.txt`), `# bench: uplink u${u}\n${per[u].join("\n")}\n`);
    lines.push(`  - name: u${u}`, `    interface: e${u}`, `    address: ${net}.2/24`, `    gateway: ${net}.1`, `    destination-lists: [lists/u${u}.txt]`);
  }
  const path = join(dir, "model.yaml");
  writeFileSync(path, lines.join("\n") + "\n");
  return path;
}

/** The scale model as netplan YAML: pins as routes in a table, one rule per table. */
function scaleNetplan(uplinks, prefixes) {
  const per = prefixesPerUplink(uplinks, prefixes);
  const lines = ["network:", "  version: 2", "  renderer: networkd", "  ethernets:"];
  for (let u = 0; u < uplinks; u++) {
    const net = uplinkNet(u);
    lines.push(`    e${u}:`, `      addresses: [${net}.2/24]`, "      routes:", `        - {to: default, via: ${net}.1, metric: ${100 + u}}`);
    for (const d of per[u]) lines.push(`        - {to: ${d}, via: ${net}.1, table: ${1101 + u}}`);
    lines.push("      routing-policy:", `        - {to: 0.0.0.0/0, table: ${1101 + u}, priority: ${1000 + u}}`);
  }
  const root = join(work, `netplan-${uplinks}-${prefixes}`);
  mkdirSync(join(root, "etc/netplan"), { recursive: true });
  writeFileSync(join(root, "etc/netplan/50-bench.yaml"), lines.join("\n") + "\n", { mode: 0o600 });
  return root;
}

function timeRun(args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(args[0], args.slice(1), { encoding: "utf8", maxBuffer: 1 << 26 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(" ")}: ${r.stderr}`);
  const rss = /GEN_HOOKS_MAX_RSS_KIB=(\d+)/.exec(r.stderr ?? "");
  return { ms, rssMiB: rss ? Number(rss[1]) / 1024 : undefined };
}

/**
 * Median time and peak memory of `runs` runs of gen-hooks with these
 * arguments; between() runs after each, so that a peer's runs alternate with
 * ours. A render (--root) gets a fresh folder each time.
 */
function timeOurs(args, runs, between = () => {}) {
  const times = [];
  let rss = 0;
  for (let i = 0; i < runs; i++) {
    const root = join(work, `out-${i}`);
    const argv = args.map((a) => (a === "ROOT" ? root : a));
    const r = timeRun([process.execPath, "--require", join(here, "rss.cjs"), bin, ...argv]);
    times.push(r.ms);
    rss = Math.max(rss, r.rssMiB ?? 0);
    rmSync(root, { recursive: true, force: true });
    between();
  }
  return { ms: median(times), rssMiB: rss };
}

const timeRenders = (model, extra, runs, between) => timeOurs(["--target", "all", ...extra, "--model", model, "--root", "ROOT"], runs, between);

/**
 * 64 uplinks sharing `prefixes` prefixes, inline and from lists: render
 * (networkd's files and the shared ones: what netplan generate writes),
 * check and explain, each alternated with netplan generate on the
 * equivalent netplan file.
 */
function renderAtScale(prefixes, runs = 5) {
  const inline = scaleModel(64, prefixes);
  const lists = scaleListModel(64, prefixes);
  const netplanRoot = has("netplan") ? scaleNetplan(64, prefixes) : undefined;
  const peer = [];
  const netplan = () => {
    if (netplanRoot) peer.push(timeRun(["netplan", "generate", "--root-dir", netplanRoot]).ms);
  };
  const out = {};
  for (const [name, model] of [["inline", inline], ["lists", lists]]) {
    out[name] = {
      render: timeRenders(model, ["--stack", "networkd"], runs, netplan),
      check: timeOurs(["check", "--model", model], runs, netplan),
      explain: timeOurs(["explain", "--model", model, "--to", benchPrefix(prefixes - 1).split("/")[0]], runs, netplan),
    };
  }
  return { ...out, netplanMs: netplanRoot ? median(peer) : undefined };
}

/** Two uplinks, n prefixes pinned to one of them from a list file (destination-lists). */
function renderList(n, runs = 3) {
  const dir = join(work, `list-${n}`);
  mkdirSync(join(dir, "lists"), { recursive: true });
  const lines = ["# bench: one prefix a line"];
  for (let i = 0; i < n; i++) lines.push(benchPrefix(i));
  writeFileSync(join(dir, "lists/big.txt"), lines.join("\n") + "\n");
  const model = join(dir, "model.yaml");
  writeFileSync(model, "version: 1\nuplinks:\n  - {name: vpn, interface: eth1, address: 203.0.113.2/24, gateway: 203.0.113.1, destination-lists: [lists/big.txt]}\n  - {name: isp, interface: eth2, address: 192.0.2.2/24, gateway: 192.0.2.1}\n");
  return timeRenders(model, [], runs);
}

const cpu = cpus()[0]?.model ?? "unknown CPU";
const machine = `${new Date().toISOString().slice(0, 10)}, ${cpu}, ${cpus().length} cores, Linux ${release()}, Node ${process.version}`;
console.log(`gen-hooks bench — ${machine}\n`);

const s = startup();
let netplanSmall;
if (has("netplan")) {
  const root = scaleNetplan(2, 2);
  netplanSmall = median(Array.from({ length: 20 }, () => timeRun(["netplan", "generate", "--root-dir", root]).ms));
}
const r20 = renderAtScale(20000);
const r40 = renderAtScale(40000);
const list = renderList(250000);
// memory per prefix: the peak's growth over the two halves of 250,000
const list0 = renderList(0);
const list125 = renderList(125000);
const kibPer1000 = (a, b, n) => ((b.rssMiB - a.rssMiB) * 1024) / (n / 1000);

// GEN_HOOKS_BENCH_SKIP=apply,health,hitless leaves out the lab parts (minutes, root)
const skip = new Set((process.env.GEN_HOOKS_BENCH_SKIP ?? "").split(",").filter(Boolean));
const viteNode = join(here, "../node_modules/.bin/vite-node");
/** A lab part of the bench (bench/NAME.ts ARG), whose last line is JSON; or why it has no figures. */
function labPart(name, arg) {
  if (skip.has(name)) return { skipped: "GEN_HOOKS_BENCH_SKIP" };
  const r = spawnSync(viteNode, [join(here, `${name}.ts`), arg], { encoding: "utf8", maxBuffer: 1 << 26 });
  try {
    return JSON.parse(r.stdout.trim().split("\n").pop());
  } catch {
    return { skipped: `${name} bench failed: ${r.stderr.slice(-400)}` };
  }
}
const apply = labPart("apply", "20000");
// health checks: a dead provider behind a live link, 5 times per stack, beside seed 001's ping loop
const health = labPart("health", "5");
// a change kept in place (one more pinned destination), 4 applies per tool, beside netplan apply's networkd steps
const hitless = labPart("hitless", "4");

const f = (ms) => (ms === undefined || ms === null ? "n/a" : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const vs = (r, peerMs) => (peerMs ? ` (${(r.ms / peerMs).toFixed(2)}x netplan)` : "");
const rows = [["start-up, --target all --root, example model", `${f(s.ours)} (${s.ratio.toFixed(2)}x node -e 0 = ${f(s.bare)})`, "≤ 1.5x", netplanSmall !== undefined ? `netplan generate, 2 uplinks: ${f(netplanSmall)}` : "n/a"]];
for (const [n, r, prev] of [["20,000", r20], ["40,000", r40, r20]])
  for (const kind of ["inline", "lists"]) {
    const m = r[kind];
    const growth = (what) => (prev ? `; 40k/20k ${(m[what].ms / prev[kind][what].ms).toFixed(2)}` : "");
    rows.push(
      [`render, 64 uplinks, ${n} prefixes ${kind === "inline" ? "inline" : "from lists"}`, `${f(m.render.ms)}, ${m.render.rssMiB.toFixed(0)} MiB peak${vs(m.render, r.netplanMs)}${growth("render")}`, `≤ 1.0x netplan, ≤ 200 MiB${prev ? ", ratio ≤ 2" : ""}`, `netplan generate: ${f(r.netplanMs)}`],
      [`check / explain, same model`, `${f(m.check.ms)}${vs(m.check, r.netplanMs)} / ${f(m.explain.ms)}${vs(m.explain, r.netplanMs)}; ${Math.max(m.check.rssMiB, m.explain.rssMiB).toFixed(0)} MiB peak`, "≤ 1.0x netplan", `netplan generate: ${f(r.netplanMs)}`],
    );
  }
rows.push([
  "render, 250,000 prefixes from a list, 2 uplinks",
  `${f(list.ms)}, ${list.rssMiB.toFixed(0)} MiB peak (${list0.rssMiB.toFixed(0)} MiB with an empty list; per 1,000 prefixes ${kibPer1000(list0, list125, 125000).toFixed(0)} KiB up to 125,000, ${kibPer1000(list125, list, 125000).toFixed(0)} KiB beyond)`,
  "≤ 2 s, ≤ 300 MiB, linear",
  "n/a",
]);
if ("skipped" in apply) rows.push(["apply, 20,000 prefixes, 2 uplinks", `skipped: ${apply.skipped}`, "", ""]);
else
  rows.push(
    ["apply, ifupdown: ifup -a, 20,000 prefixes", `${f(apply.ifupdownMs)} (ifdown -a ${f(apply.ifdownMs)}), ${apply.ifupdownRules} IPv4 rules`, "≤ 2 s, ≤ 40 rules", "n/a (netplan has no ifupdown backend)"],
    ["apply, networkd: last route held", `${f(apply.networkdMs)}, ${apply.networkdRules} IPv4 rules`, "≤ 2 s", `networkd applying netplan's output: ${apply.netplanNetworkdMs === null ? "not settled in 120 s" : f(apply.netplanNetworkdMs)} (netplan generate ${f(apply.netplanGenerateMs)})`],
    // under the real init: the stack started again after a stop (ifup -a; networkd started), and a boot
    ...Object.entries(apply.booted ?? {}).map(([what, b]) => [`apply under the real init, ${what}: stack start -> last route held (boot -> held)`, `${f(b.applyMs)} (${f(b.bootMs)})`, "≤ 2 s", "n/a"]),
  );
if ("skipped" in health) rows.push(["health check, dead provider", `skipped: ${health.skipped}`, "", ""]);
else {
  const worst = (xs) => f(Math.max(...xs));
  const peer = `seed 001's ping loop (0.5 s, 3 misses): down ${f(health.peer.downMs)}, back ${f(health.peer.upMs)}`;
  for (const stack of ["ifupdown", "networkd"]) {
    const h = health[stack];
    rows.push(
      [
        `health check, ${stack}: dead provider -> traffic moved / back, hold ${health.hold} s included (median of ${health.runs}, max)`,
        `${f(h.downMs)} (${worst(h.all.downMs)}) / ${f(h.upMs)} (${worst(h.all.upMs)}); ${h.flapsAt10PercentLoss} state changes in ${health.lossS} s of 10% probe loss`,
        `≤ 1.5 s / ≤ 3 s after the hold, 0 changes`,
        peer,
      ],
      [
        `health check, ${stack}: 30 % loss, loss-down 20 / loss-up 5 -> traffic moved / back after the loss ended (median of ${h.loss.outMs.length}, max)`,
        `${f(h.lossOutMs)} (${worst(h.loss.outMs)}) / ${f(h.lossBackMs)} (${worst(h.loss.backMs)}); without thresholds (4 lost in a row), state changes in ${health.heavyLossS} s of 30 % loss: ${Object.entries(h.changesAt30PercentInARow).map(([u, n]) => `${u} ${n}`).join(", ")}`,
        "out while the loss lasts",
        `seed 001's ping loop: ${health.peer.changesAt30Percent} state changes in ${health.heavyLossS} s of 30 % loss (${health.peer.probesDropped} pings dropped)`,
      ],
    );
  }
}
if ("skipped" in hitless) rows.push(["apply of a pinned destination, pings lost", `skipped: ${hitless.skipped}`, "", ""]);
else
  for (const release of ["Debian 12", "Debian 13"]) {
    const r = (tool) => hitless.results[`${release}, ${tool}`];
    const shown = (x) => (x ? `${x.lost} of ${x.sent} pings lost, ${x.tcpEnded} of ${x.tcp} TCP connections ended` : "n/a");
    rows.push([`${release}: ${hitless.rounds} applies of one more pinned destination (50 pings/s to each uplink, a TCP connection from each)`, `ifupdown: ${shown(r("gen-hooks ifupdown"))}; networkd: ${shown(r("gen-hooks networkd"))}`, "0 lost, 0 ended", `netplan apply's networkd steps: ${shown(r("netplan apply (networkd)"))}`]);
  }
console.log("| measure | gen-hooks | goal | peer |\n| --- | --- | --- | --- |");
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
rmSync(work, { recursive: true, force: true });
