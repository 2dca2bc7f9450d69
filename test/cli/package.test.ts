// The package as npm installs it: a self-contained bin (no runtime
// dependency), the manual where man finds it, the schema, the licence.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/bin.js";

const dir = mkdtempSync(join(tmpdir(), "gh-pack-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("package", () => {
  it("installs globally from its tarball without the network: the command runs, man finds both pages", () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"));
    expect(pkg.dependencies ?? {}, "the bin is one bundle: nothing to install beside it").toEqual({});
    const pack = spawnSync("npm", ["pack", "--ignore-scripts", "--pack-destination", dir], { cwd: repoRoot, encoding: "utf8" });
    expect(pack.status, pack.stderr).toBe(0);
    const tarball = join(dir, `gen-hooks-${pkg.version}.tgz`);
    const prefix = join(dir, "prefix");
    const install = spawnSync("npm", ["install", "--global", "--offline", "--no-audit", "--no-fund", "--prefix", prefix, tarball], { encoding: "utf8" });
    expect(install.status, install.stderr).toBe(0);
    const run = spawnSync(join(prefix, "bin/gen-hooks"), ["check", "--model", join(prefix, "lib/node_modules/gen-hooks/examples/uplinks.yaml")], { encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    for (const page of ["share/man/man1/gen-hooks.1", "share/man/man5/gen-hooks.5"]) expect(existsSync(join(prefix, page)), page).toBe(true);
    for (const file of ["schema/model.schema.json", "LICENSE"]) expect(existsSync(join(prefix, "lib/node_modules/gen-hooks", file)), file).toBe(true);
    expect(existsSync(join(prefix, "lib/node_modules/gen-hooks/node_modules")), "no dependency installed").toBe(false);
  }, 120_000);
});
