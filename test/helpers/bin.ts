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
