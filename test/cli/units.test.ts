// systemd itself checks the rendered units: unknown keys ("..., ignoring")
// and commands that do not exist fail the test.
import { readdirSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/bin.js";

const analyze = spawnSync("sh", ["-c", "command -v systemd-analyze"]).status === 0;
if (!analyze && process.env.CI === "true") throw new Error("systemd-analyze is missing under CI");

describe.skipIf(!analyze)("rendered systemd units", () => {
  const units = readdirSync(join(repoRoot, "fixtures")).flatMap((s) => {
    const dir = join(repoRoot, "fixtures", s, "expected/etc/systemd/system");
    try {
      return readdirSync(dir).filter((f) => f.endsWith(".service")).map((f) => join(dir, f));
    } catch {
      return [];
    }
  });
  it("there is at least one to check", () => expect(units.length).toBeGreaterThan(0));
  for (const unit of units)
    it(`systemd-analyze verify ${unit.split("/fixtures/")[1]}`, () => {
      const r = spawnSync("systemd-analyze", ["verify", unit], { encoding: "utf8" });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
    });
});
