// Tests run the installed bin (dist/main.js, built by npm test), not the sources.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
export const binPath = fileURLToPath(new URL("../../dist/gen-hooks.cjs", import.meta.url));

export interface BinResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function runBin(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): BinResult {
  const r = spawnSync(process.execPath, [binPath, ...args], {
    cwd: opts.cwd ?? repoRoot,
    env: { ...process.env, ...opts.env },
    encoding: "utf8",
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Every target's files for one model under root: each stack's targets, named one by one. */
// networkd first: both own /etc/gen-hooks/*.routes, and ifupdown loads every
// set networkd loads from a file (and smaller ones too), so rendered second it
// keeps them all.
export const EVERY_TARGET: [stack: string, target: string][] = [
  ["networkd", "networkd"],
  ["ifupdown", "ifupdown"],
  ["ifupdown", "ifplugd"],
  ["ifupdown", "rt_tables"],
  ["ifupdown", "sysctl"],
  ["ifupdown", "nftables"],
  ["ifupdown", "events"],
  ["ifupdown", "health"],
];

export function renderEveryTarget(model: string, root: string): BinResult {
  for (const [stack, target] of EVERY_TARGET) {
    const r = runBin(["--target", target, "--stack", stack, "--model", model, "--root", root]);
    if (r.status !== 0 || r.stderr !== "") return r;
  }
  return { status: 0, stdout: "", stderr: "" };
}
