// A change that keeps every link and address (one more pinned destination
// on fibre), applied on a booted host while a 50-per-second ping reaches
// each uplink address and a TCP connection leaves from each: gen-hooks apply
// on ifupdown and on networkd, and, as the peer, what netplan apply does on
// networkd (netplan 0.106's apply.py: its generated files in place, then
// "networkctl reload" and "networkctl reconfigure" of every managed link;
// its udevadm steps rename nothing here and the container has no udev).
// netplan generate runs on this machine; netplan is not in the booted root.
// Prints JSON: per release and tool, the pings lost and the TCP connections ended.
// usage (as root): vite-node bench/hitless.ts [ROUNDS]
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModelFile } from "../src/model/load.js";
import { validateModel } from "../src/model/validate.js";
import { labUnavailable, waitFor } from "../test/e2e/lab.js";
import { withTopology } from "../test/e2e/stacks.js";
import { runBin } from "../test/helpers/bin.js";
import { addManagement, Container } from "../test/e2e/boot.js";
import { bootUnavailable, ensureRoot, selectedReleases } from "../test/e2e/releases.js";
import { installBin, measured, MODELS, type Losses } from "../test/e2e/apply-lab.js";

const rounds = Number(process.argv[2] ?? 3);

/** Model B of the apply proof for netplan (which has no uid rules), without the LAN: tables, rules, pins; `extra` pins one more. */
function netplanYaml(extra: boolean): string {
  return `network:
  version: 2
  renderer: networkd
  ethernets:
    eth1:
      addresses: [198.51.100.2/24]
      routes:
        - {to: default, via: 198.51.100.1, metric: 100}
        - {to: default, via: 198.51.100.1, table: 101}
        - {to: 100.127.0.54/32, via: 198.51.100.1, table: 1101}
${extra ? "        - {to: 100.127.0.55/32, via: 198.51.100.1, table: 1101}\n" : ""}      routing-policy:
        - {to: 0.0.0.0/0, table: 1101, priority: 1001}
        - {from: 198.51.100.2, table: 101, priority: 3001}
    eth2:
      addresses: [203.0.113.2/24]
      routes:
        - {to: default, via: 203.0.113.1, metric: 101}
        - {to: default, via: 203.0.113.1, table: 102}
      routing-policy:
        - {from: 203.0.113.2, table: 102, priority: 3004}
`;
}

/** netplan generate's networkd files for the YAML, as a tree to install (etc/systemd/network). */
function netplanTree(dir: string, extra: boolean): string {
  const root = join(dir, `netplan-${extra ? "b2" : "b"}`);
  mkdirSync(join(root, "etc/netplan"), { recursive: true });
  writeFileSync(join(root, "etc/netplan/50-lab.yaml"), netplanYaml(extra), { mode: 0o600 });
  const g = spawnSync("netplan", ["generate", "--root-dir", root], { encoding: "utf8" });
  if (g.status !== 0) throw new Error(`netplan generate: ${g.stderr}`);
  const tree = join(dir, `tree-${extra ? "b2" : "b"}`);
  mkdirSync(join(tree, "etc/systemd/network"), { recursive: true });
  for (const f of readdirSync(join(root, "run/systemd/network"))) copyFileSync(join(root, "run/systemd/network", f), join(tree, "etc/systemd/network", f));
  return tree;
}

const sum = (ls: Losses[]) => ({ lost: ls.reduce((n, l) => n + l.pings.reduce((m, p) => m + p.lost, 0), 0), sent: ls.reduce((n, l) => n + l.pings.reduce((m, p) => m + p.sent, 0), 0), tcpEnded: ls.reduce((n, l) => n + l.tcp.filter((t) => t !== undefined).length, 0), tcp: ls.length * 2 });

async function main() {
  const why = labUnavailable() ?? bootUnavailable() ?? (spawnSync("sh", ["-c", "command -v netplan"]).status === 0 ? undefined : "netplan is not installed");
  if (why) {
    console.log(JSON.stringify({ skipped: why }));
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "gh-hitless-"));
  const out: Record<string, ReturnType<typeof sum>> = {};
  try {
    // fibre pins 100.127.0.54 in B; B2 pins 100.127.0.55 too
    const b = validateModel(loadModelFile(join(MODELS, "b.yaml")));
    const b2Path = join(dir, "b2.yaml");
    writeFileSync(b2Path, readFileSync(join(MODELS, "b.yaml"), "utf8").replace("destinations: [100.127.0.54]", "destinations: [100.127.0.54, 100.127.0.55]"));
    const trees = [netplanTree(dir, false), netplanTree(dir, true)];
    for (const release of selectedReleases()) {
      const lower = await ensureRoot(release);
      for (const tool of ["gen-hooks ifupdown", "gen-hooks networkd", "netplan apply (networkd)"] as const) {
        const stack = tool === "gen-hooks ifupdown" ? "ifupdown" : "networkd";
        const rendered = tool.startsWith("gen-hooks") ? join(dir, `rendered-${stack}`) : trees[0];
        if (tool.startsWith("gen-hooks")) {
          const r = runBin(["--target", "all", "--stack", stack, "--model", join(MODELS, "b.yaml"), "--root", rendered]);
          if (r.status !== 0) throw new Error(r.stderr);
        }
        const losses: Losses[] = [];
        await withTopology(b, async (topo) => {
          addManagement(topo);
          const c = new Container(topo, release, lower, stack, join(dir, `c-${release.codename}-${tool.replace(/\W+/g, "-")}`));
          c.install(rendered);
          try {
            await c.boot();
            // fibre's pinned destination (the last route of either stack) and both uplinks' address rules
            const ready = () => topo.lab.routeGet("host", ["100.127.0.54"])?.dev === "eth1" && topo.lab.routeGet("host", ["198.18.0.1", "from", "203.0.113.2"])?.dev === "eth2";
            if (!(await waitFor(ready, 60_000, 50))) throw new Error(`${tool}: the host did not come up as planned`);
            installBin(c);
            copyFileSync(b2Path, c.path("/etc/gen-hooks/b2.yaml"));
            // as a host adopting gen-hooks does: the installed model applied first (recorded, nothing run)
            if (tool.startsWith("gen-hooks")) {
              const r = await c.run(["node", "/usr/local/lib/gen-hooks/gen-hooks.cjs", "apply", "--stack", stack, "--model", "/etc/gen-hooks/b.yaml"], 120_000);
              if (r.status !== 0 || /^\$ /m.test(r.stdout)) throw new Error(`apply of the installed model: ${r.stdout}${r.stderr}`);
            }
            for (let round = 0; round < rounds; round++) {
              const to = round % 2 === 0 ? 1 : 0; // B -> B2 -> B -> ...
              const name = `${tool.replace(/\W+/g, "-")}-${release.codename}-${round}`;
              mkdirSync(join(dir, name), { recursive: true });
              losses.push(
                await measured(topo, dir, name, async () => {
                  if (tool.startsWith("gen-hooks")) {
                    const r = await c.run(["node", "/usr/local/lib/gen-hooks/gen-hooks.cjs", "apply", "--stack", stack, "--model", `/etc/gen-hooks/${to ? "b2" : "b"}.yaml`], 120_000);
                    if (r.status !== 0) throw new Error(`apply: ${r.stderr}`);
                  } else {
                    cpSync(join(trees[to], "etc"), c.path("/etc"), { recursive: true });
                    const links = (await c.run(["networkctl", "--no-pager", "--no-legend"])).stdout.split("\n").map((l) => l.trim().split(/\s+/)).filter((w) => /^\d+$/.test(w[0]) && !["unmanaged", "linger"].includes(w[w.length - 1])).map((w) => w[0]);
                    const r = await c.run(["sh", "-c", `networkctl reload && networkctl reconfigure ${links.join(" ")}`], 120_000);
                    if (r.status !== 0) throw new Error(`netplan's networkctl steps: ${r.stderr}`);
                  }
                }),
              );
            }
          } finally {
            await c.poweroff();
          }
        });
        out[`Debian ${release.version}, ${tool}`] = sum(losses);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(JSON.stringify({ change: "one more pinned destination on fibre, B <-> B2", rounds, results: out }));
}

await main();
