// Health checks at work, in network namespaces: fixtures/health-failover on
// ifupdown and on networkd with lsm as gen-hooks-health.service runs it. The
// preferred ISP's upstream dies RUNS times (its link stays up) and comes
// back: the time to traffic on the other uplink, and back. Then 30 s of 10%
// random probe loss, and 60 s of 30 % with the fixture's rule of probes lost
// in a row alone: the state changes. Then fibre with loss
// thresholds (20 %/5 %, fixtures/health-quality): the time from 30 % loss
// starting to the switch, and from its end to the way back. The peer is the
// "simple script" of seed 001: a ping every 0.5 s through the link (ping -I
// IFACE), three misses take the uplink's default out of main, one answer puts
// it back; it too gets 60 s of 30 % loss.
// Prints JSON (medians and every run). usage (as root): vite-node bench/health.ts [RUNS]
import { execFileSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModelFile } from "../src/model/load.js";
import { validateModel } from "../src/model/validate.js";
import { installed, labUnavailable, sleep, waitFor } from "../test/e2e/lab.js";
import { Ifupdown, Networkd, settle, withHost, writeAdminInterfaces } from "../test/e2e/stacks.js";
import { REMOTE4, type Topology } from "../test/e2e/topology.js";
import { dropAt, killUpstream, Prober, reviveUpstream } from "../test/e2e/health-lab.js";

const runs = Number(process.argv[2] ?? 5);
const bin = new URL("../dist/gen-hooks.cjs", import.meta.url).pathname;
const modelPath = new URL("../fixtures/health-failover/model.yaml", import.meta.url).pathname;
const LOSS_S = 30;
const HEAVY_LOSS_S = 60;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const uses = (topo: Topology, dev: string) => topo.lab.routeGet("host", [REMOTE4])?.dev === dev;

/** Kill and revive fibre's upstream RUNS times; each time until traffic moved (and the check said so, when told how). */
async function cycles(topo: Topology, said: (state: string) => boolean, dbg: () => string = () => ""): Promise<{ downMs: number[]; upMs: number[] }> {
  const fibre = topo.model.uplinks[0];
  const out = { downMs: [] as number[], upMs: [] as number[] };
  // lsm decides once a second: death and recovery fall at phases spread evenly
  // over that second, not just after a decision (which the wait for the
  // previous change would otherwise line them up with)
  const phaseMs = (i: number) => Math.round((((i + 0.5) / runs) % 1) * 1000);
  for (let i = 0; i < runs; i++) {
    await sleep(phaseMs(i));
    let t = Date.now();
    killUpstream(topo, fibre);
    if (!(await waitFor(() => uses(topo, "eth2") && said("down"), 20_000, 20))) throw new Error(`run ${i + 1}: traffic never left eth1 (${topo.lab.routeGet("host", [REMOTE4])?.dev}; ${dbg()}; ${topo.lab.sh("host", "ip rule; ip route show table all; ip addr; cat /proc/net/dev | head -20")})`);
    out.downMs.push(Date.now() - t);
    await sleep(phaseMs(i + Math.floor(runs / 2)));
    t = Date.now();
    reviveUpstream(topo, fibre);
    if (!(await waitFor(() => uses(topo, "eth1") && said("up"), 20_000, 20))) throw new Error(`run ${i + 1}: traffic never came back to eth1`);
    out.upMs.push(Date.now() - t);
    await sleep(1000);
  }
  return out;
}

/** 30 % of fibre's probes lost until traffic moved and lsm said so; then none until it is back. */
async function lossCycles(topo: Topology, lsm: Prober): Promise<{ outMs: number[]; backMs: number[] }> {
  const fibre = topo.model.uplinks[0];
  const out = { outMs: [] as number[], backMs: [] as number[] };
  const runsHere = Math.max(1, Math.ceil(runs / 2));
  for (let i = 0; i < runsHere; i++) {
    lsm.clearEvents();
    let t = Date.now();
    const undo = dropAt(topo, fibre.check!.targets, 30);
    try {
      if (!(await waitFor(() => uses(topo, "eth2") && lsm.events().includes("fibre down eth1"), 90_000, 20))) throw new Error(`loss run ${i + 1}: traffic never left eth1 at 30 % loss (${lsm.events().join(",")})`);
      out.outMs.push(Date.now() - t);
    } finally {
      undo();
    }
    t = Date.now();
    if (!(await waitFor(() => uses(topo, "eth1") && lsm.events().includes("fibre up eth1"), 90_000, 20))) throw new Error(`loss run ${i + 1}: traffic never came back to eth1`);
    out.backMs.push(Date.now() - t);
    await sleep(1000);
  }
  return out;
}

/** The peer: seed 001's simple script, one loop per uplink. */
function peerScript(dir: string, topo: Topology): string {
  const path = join(dir, "peer.sh");
  const u = topo.model.uplinks[0];
  const gw = u.gateways[0].address;
  writeFileSync(
    path,
    `#!/bin/sh
# ${u.name}: ping through the link every 0.5 s; 3 misses: default out; 1 answer: back
miss=0 state=up
while :; do
	if ping -n -q -c1 -W1 -I ${u.interface} ${u.check!.targets[0]} > /dev/null 2>&1; then
		miss=0
		if [ $state = down ]; then ip route replace default via ${gw} dev ${u.interface} metric 100; state=up; echo up; fi
	else
		miss=$((miss + 1))
		if [ $state = up ] && [ $miss -ge 3 ]; then ip route del default via ${gw} dev ${u.interface} metric 100; state=down; echo down; fi
	fi
	sleep 0.5
done
`,
    { mode: 0o755 },
  );
  return path;
}

async function main() {
  const why = labUnavailable() ?? (installed("lsm") || installed("foolsm") ? undefined : "neither lsm nor foolsm is installed");
  if (why) {
    console.log(JSON.stringify({ skipped: why }));
    return;
  }
  const model = validateModel(loadModelFile(modelPath));
  const dir = mkdtempSync(join(tmpdir(), "gh-bench-health-"));
  const qualityPath = new URL("../fixtures/health-quality/model.yaml", import.meta.url).pathname;
  const qualityModel = validateModel(loadModelFile(qualityPath));
  const out: Record<string, unknown> = { runs, lossS: LOSS_S, heavyLossS: HEAVY_LOSS_S, hold: model.uplinks[0].check!.hold };
  const results: Record<string, Record<string, unknown>> = { ifupdown: {}, networkd: {} };
  try {
    for (const [stack, kind] of [["ifupdown", "plain"], ["networkd", "plain"], ["ifupdown", "quality"], ["networkd", "quality"]] as const) {
      const root = join(dir, `${stack}-${kind}`);
      execFileSync(process.execPath, [bin, "--target", "all", "--stack", stack, "--model", kind === "plain" ? modelPath : qualityPath, "--root", root]);
      if (stack === "ifupdown") writeAdminInterfaces(root);
      await withHost(kind === "plain" ? model : qualityModel, root, async (topo) => {
        let networkd: Networkd | undefined;
        if (stack === "ifupdown") {
          const r = new Ifupdown(topo, root).up();
          if (r.status !== 0) throw new Error(`ifup -a: ${r.stderr}`);
        } else {
          networkd = new Networkd(topo, root);
          networkd.start();
          if (!(await settle(topo, () => topo.lab.routeGet("host", [REMOTE4])?.dev === "eth1"))) throw new Error("networkd did not settle");
        }
        const lsm = new Prober(topo, root);
        lsm.start();
        await sleep(2000);
        if (!uses(topo, "eth1")) throw new Error(`${stack}: traffic is not on eth1 at the start: ${JSON.stringify(topo.lab.routeGet("host", [REMOTE4]))} ${topo.lab.sh("host", "ip rule; ip route")}`);
        if (kind === "plain") {
          const ours = await cycles(topo, (state) => lsm.events().includes(`fibre ${state} eth1`) && (lsm.clearEvents(), true), () => `${lsm.running()} ${lsm.events().join(",")} ${lsm.log()}`);
          lsm.clearEvents();
          let undo = dropAt(topo, model.uplinks.flatMap((u) => u.check!.targets), 10);
          await sleep(LOSS_S * 1000);
          undo();
          const flapsAt10PercentLoss = lsm.events().length;
          // the rule of probes lost in a row alone (4 of them) at 30 %: how often
          // it changes fibre (two targets: down only when both are) and cable (one)
          lsm.clearEvents();
          undo = dropAt(topo, model.uplinks.flatMap((u) => u.check!.targets), 30);
          await sleep(HEAVY_LOSS_S * 1000);
          undo();
          const changesAt30PercentInARow = Object.fromEntries(model.uplinks.map((u) => [u.name, lsm.events().filter((e) => e.startsWith(`${u.name} `)).length]));
          Object.assign(results[stack], { downMs: median(ours.downMs), upMs: median(ours.upMs), all: ours, flapsAt10PercentLoss, changesAt30PercentInARow });
        } else {
          const loss = await lossCycles(topo, lsm);
          Object.assign(results[stack], { lossOutMs: median(loss.outMs), lossBackMs: median(loss.backMs), loss });
        }
        lsm.stop();
        networkd?.stop();
      });
    }
    // the peer, on ifupdown
    {
      const root = join(dir, "ifupdown-plain");
      await withHost(model, root, async (topo) => {
        // a fresh namespace: what ifupdown remembers of the run above is stale
        const ifupdown = new Ifupdown(topo, root);
        ifupdown.loseState();
        const r = ifupdown.up();
        if (r.status !== 0) throw new Error(`peer: ifup -a: ${r.stderr}`);
        if (!uses(topo, "eth1")) throw new Error(`peer: traffic is not on eth1 at the start`);
        const log = join(dir, "peer.log");
        const peer: ChildProcess = topo.lab.spawn("host", ["sh", peerScript(dir, topo)], log);
        await sleep(1500);
        const times = await cycles(topo, () => true);
        const changes = () => readFileSync(log, "utf8").split("\n").filter((l) => l === "down" || l === "up").length;
        const before = changes();
        const undo = dropAt(topo, [model.uplinks[0].check!.targets[0]], 30);
        const dropped = () => Number(/packets (\d+)/.exec(topo.lab.sh("net", "nft list table inet gh_drop"))?.[1] ?? -1);
        await sleep(HEAVY_LOSS_S * 1000);
        const probesDropped = dropped();
        undo();
        const changesAt30Percent = changes() - before;
        topo.lab.stop(peer);
        out.peer = { downMs: median(times.downMs), upMs: median(times.upMs), all: times, changesAt30Percent, probesDropped };
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(JSON.stringify({ ...out, ...results }));
}

main().catch((e) => {
  console.log(JSON.stringify({ skipped: `health bench failed: ${String(e?.message ?? e).slice(0, 300)}` }));
});
