// Start-up: the installed bin rendering every target of the example model
// under --root, against a bare `node -e 0`; the two alternate run by run so
// that drift of the machine hits both alike. Prints medians and the ratio.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function startup({ runs = 40, bin = new URL("../dist/gen-hooks.cjs", import.meta.url).pathname, model = new URL("../examples/uplinks.yaml", import.meta.url).pathname } = {}) {
  const root = mkdtempSync(join(tmpdir(), "gh-bench-"));
  const time = (args) => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { stdio: "ignore" });
    if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}`);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  const bare = [];
  const ours = [];
  for (let i = 0; i < runs + 3; i++) {
    const b = time(["-e", "0"]);
    const o = time([bin, "--target", "all", "--model", model, "--root", root]);
    if (i >= 3) { bare.push(b); ours.push(o); } // first runs warm the page cache
  }
  rmSync(root, { recursive: true, force: true });
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { bare: median(bare), ours: median(ours), ratio: median(ours) / median(bare), runs };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = startup();
  console.log(`start-up: node -e 0 ${r.bare.toFixed(1)} ms, gen-hooks --target all --root ${r.ours.toFixed(1)} ms, ratio ${r.ratio.toFixed(2)} (medians of ${r.runs})`);
}
