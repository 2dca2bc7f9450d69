// Apply at scale, in network namespaces: the rendered ifupdown hooks and
// networkd files for PREFIXES destination prefixes over two uplinks, and, as
// the peer, netplan's networkd output for the same setup. Prints JSON.
// usage (as root): vite-node bench/apply.ts [PREFIXES]
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModelFile } from "../src/model/load.js";
import { validateModel } from "../src/model/validate.js";
import { labUnavailable, waitFor, type Lab } from "../test/e2e/lab.js";
import { Ifupdown, Networkd, withHost, withTopology, writeAdminInterfaces } from "../test/e2e/stacks.js";
import { addManagement, Container } from "../test/e2e/boot.js";
import { bootUnavailable, ensureRoot, selectedReleases } from "../test/e2e/releases.js";
import type { Model } from "../src/model/types.js";

const prefixes = Number(process.argv[2] ?? 20000);
const bin = new URL("../dist/gen-hooks.cjs", import.meta.url).pathname;
const LIMIT_MS = 120_000;

function model(dir: string): { path: string; dests: string[][] } {
  const dests: string[][] = [[], []];
  for (let i = 0; i < prefixes; i++) dests[i % 2].push(`198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`);
  const path = join(dir, "model.yaml");
  writeFileSync(path, `version: 1
uplinks:
  - {name: dsl, interface: eth1, address: 198.51.100.2/24, gateway: 198.51.100.1, destinations: [${dests[0].join(",")}]}
  - {name: cable, interface: eth2, address: 203.0.113.2/24, gateway: 203.0.113.1, destinations: [${dests[1].join(",")}]}
`);
  return { path, dests };
}

/** The same setup for netplan: the pins as routes in a table, one rule per table. */
function netplanYaml(dests: string[][]): string {
  const side = (iface: string, addr: string, gw: string, table: number, ds: string[], metric: number) => `    ${iface}:
      addresses: [${addr}]
      routes:
        - {to: default, via: ${gw}, metric: ${metric}}
        - {to: default, via: ${gw}, table: ${table - 1000}}
${ds.map((d) => `        - {to: ${d}, via: ${gw}, table: ${table}}`).join("\n")}
      routing-policy:
        - {to: 0.0.0.0/0, table: ${table}, priority: ${table - 100}}
`;
  return `network:
  version: 2
  renderer: networkd
  ethernets:
${side("eth1", "198.51.100.2/24", "198.51.100.1", 1101, dests[0], 100)}${side("eth2", "203.0.113.2/24", "203.0.113.1", 1102, dests[1], 101)}`;
}

const rulesCount = (lab: Lab) => lab.run("host", ["ip", "-4", "rule", "show"]).trim().split("\n").length;
const lastRoute = (lab: Lab, table: number, dest: string) => lab.tryRun("host", ["ip", "route", "show", "table", String(table), dest]).stdout.trim() !== "";

/**
 * Per release and stack: boot -> the last pinned route in place, and the
 * stack's own start after a stop (ifdown -a / ifup -a; networkd stopped and
 * started, which starts the service that loads the sets) -> the last route
 * back.
 */
async function booted(m: Model, path: string, dir: string, last: string[]): Promise<Record<string, { bootMs: number | null; applyMs: number | null }>> {
  const out: Record<string, { bootMs: number | null; applyMs: number | null }> = {};
  for (const release of selectedReleases()) {
    const lower = await ensureRoot(release);
    for (const stack of ["ifupdown", "networkd"] as const) {
      const root = join(dir, `booted-${release.codename}-${stack}`);
      execFileSync(process.execPath, [bin, "--target", "all", "--stack", stack, "--model", path, "--root", root]);
      if (stack === "ifupdown") writeAdminInterfaces(root);
      out[`Debian ${release.version} ${stack}`] = await withTopology(m, async (topo) => {
        addManagement(topo);
        const held = () => lastRoute(topo.lab, 1101, last[0]) && lastRoute(topo.lab, 1102, last[1]);
        const gone = () => !lastRoute(topo.lab, 1101, last[0]) && !lastRoute(topo.lab, 1102, last[1]);
        const c = new Container(topo, release, lower, stack, join(dir, `c-${release.codename}-${stack}`));
        c.install(root);
        try {
          const t0 = Date.now();
          await c.boot();
          const bootMs = (await waitFor(held, LIMIT_MS, 20)) ? Date.now() - t0 : null;
          const [stop, start] = stack === "ifupdown" ? [["ifdown", "-a"], ["ifup", "-a"]] : [["systemctl", "stop", "systemd-networkd.service", "systemd-networkd.socket"], ["systemctl", "start", "systemd-networkd.service"]];
          await c.run(stop, LIMIT_MS);
          if (!(await waitFor(gone, 30_000, 50))) return { bootMs, applyMs: null };
          const t1 = Date.now();
          await c.run(start, LIMIT_MS);
          const applyMs = (await waitFor(held, LIMIT_MS, 20)) ? Date.now() - t1 : null;
          return { bootMs, applyMs };
        } finally {
          await c.poweroff();
        }
      });
    }
  }
  return out;
}

async function main() {
  const why = labUnavailable();
  if (why) {
    console.log(JSON.stringify({ skipped: why }));
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "gh-apply-"));
  const out: Record<string, unknown> = { prefixes };
  try {
    const { path, dests } = model(dir);
    const m = validateModel(loadModelFile(path));
    const last = [dests[0][dests[0].length - 1].split("/")[0], dests[1][dests[1].length - 1].split("/")[0]];

    // ifupdown
    {
      const root = join(dir, "ifupdown");
      execFileSync(process.execPath, [bin, "--target", "all", "--stack", "ifupdown", "--model", path, "--root", root]);
      writeAdminInterfaces(root);
      await withHost(m, root, async (topo) => {
        const { lab } = topo;
        const ifupdown = new Ifupdown(topo, root);
        const t0 = Date.now();
        const r = ifupdown.up();
        out.ifupdownMs = Date.now() - t0;
        if (r.status !== 0) throw new Error(`ifup -a: ${r.stderr}`);
        out.ifupdownRules = rulesCount(lab);
        out.ifupdownComplete = lastRoute(lab, 1101, last[0]) && lastRoute(lab, 1102, last[1]);
        const d0 = Date.now();
        ifupdown.down();
        out.ifdownMs = Date.now() - d0;
      });
    }

    // networkd, with the service that loads the sets
    {
      const root = join(dir, "networkd");
      execFileSync(process.execPath, [bin, "--target", "all", "--stack", "networkd", "--model", path, "--root", root]);
      await withHost(m, root, async (topo) => {
        const { lab } = topo;
        const networkd = new Networkd(topo, root);
        const t0 = Date.now();
        networkd.start();
        await waitFor(() => lab.routeGet("host", ["198.51.100.1"])?.dev === "eth1" && lab.routeGet("host", ["203.0.113.1"])?.dev === "eth2", LIMIT_MS, 20);
        const failures = networkd.runUnits("ExecStart");
        if (failures.length) throw new Error(failures.join("\n"));
        const done = await waitFor(() => lastRoute(lab, 1101, last[0]) && lastRoute(lab, 1102, last[1]), LIMIT_MS, 50);
        out.networkdMs = done ? Date.now() - t0 : null;
        out.networkdRules = rulesCount(lab);
      });
    }

    // under the real init: each release's systemd booted with the stack's files, then the stack taken down and up again
    if (!bootUnavailable()) out.booted = await booted(m, path, dir, last);

    // peer: netplan generate, then networkd applying its output
    if (spawnSync("sh", ["-c", "command -v netplan"]).status === 0) {
      const root = join(dir, "netplan");
      mkdirSync(join(root, "etc/netplan"), { recursive: true });
      writeFileSync(join(root, "etc/netplan/50-bench.yaml"), netplanYaml(dests), { mode: 0o600 });
      const g0 = Date.now();
      const g = spawnSync("netplan", ["generate", "--root-dir", root], { encoding: "utf8" });
      out.netplanGenerateMs = Date.now() - g0;
      if (g.status !== 0) throw new Error(`netplan generate: ${g.stderr}`);
      // netplan writes to run/systemd/network; serve it where the lab's networkd reads
      mkdirSync(join(root, "etc/systemd/networkd.conf.d"), { recursive: true });
      rmSync(join(root, "etc/systemd/network"), { recursive: true, force: true });
      execFileSync("cp", ["-r", join(root, "run/systemd/network"), join(root, "etc/systemd/network")]);
      execFileSync(process.execPath, [bin, "--target", "sysctl", "--model", path, "--root", root]);
      execFileSync(process.execPath, [bin, "--target", "nftables", "--model", path, "--root", root]);
      await withHost(m, root, async (topo) => {
        const { lab } = topo;
        const networkd = new Networkd(topo, root);
        const t0 = Date.now();
        networkd.start();
        const done = await waitFor(() => lastRoute(lab, 1101, last[0]) && lastRoute(lab, 1102, last[1]), LIMIT_MS, 100);
        out.netplanNetworkdMs = done ? Date.now() - t0 : null;
        out.netplanNetworkdRules = rulesCount(lab);
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(JSON.stringify(out));
}

await main();
process.exit(0);
