// systemd itself checks the rendered units: unknown keys ("..., ignoring")
// and commands that do not exist fail the test. Each fixture's tree is
// checked as a root (--root), so a command it renders itself (the
// uplink-event script) must be there and executable; the host's own commands
// are copied in from the host, so one the host lacks fails too.
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/bin.js";

const analyze = spawnSync("sh", ["-c", "command -v systemd-analyze"]).status === 0;
if (!analyze && process.env.CI === "true") throw new Error("systemd-analyze is missing under CI");

const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

/** The fixture's expected tree, with the host's unit folder and the commands its units run. */
function rootFor(expected: string, units: string[]): string {
  const root = mkdtempSync(join(tmpdir(), "gh-units-"));
  roots.push(root);
  cpSync(expected, root, { recursive: true });
  cpSync("/usr/lib/systemd/system", join(root, "usr/lib/systemd/system"), { recursive: true });
  for (const unit of units)
    for (const [, command] of readFileSync(unit, "utf8").matchAll(/^Exec\w+=[-@!+]*(\/\S+)/gm)) {
      if (existsSync(join(root, command)) || !existsSync(command)) continue;
      mkdirSync(join(root, dirname(command)), { recursive: true });
      copyFileSync(command, join(root, command));
    }
  return root;
}

describe.skipIf(!analyze)("rendered systemd units", () => {
  const fixtures = readdirSync(join(repoRoot, "fixtures")).flatMap((s) => {
    const expected = join(repoRoot, "fixtures", s, "expected");
    const dir = join(expected, "etc/systemd/system");
    const units = existsSync(dir) ? readdirSync(dir).filter((f) => /\.(service|path)$/.test(f)) : [];
    return units.length > 0 ? [{ scenario: s, expected, units }] : [];
  });
  it("there is at least one to check", () => expect(fixtures.length).toBeGreaterThan(0));
  for (const { scenario, expected, units } of fixtures)
    it(`systemd-analyze verify ${scenario}: ${units.join(", ")}`, () => {
      const root = rootFor(expected, units.map((u) => join(expected, "etc/systemd/system", u)));
      for (const unit of units) {
        const r = spawnSync("systemd-analyze", ["verify", `--root=${root}`, `/etc/systemd/system/${unit}`], { encoding: "utf8" });
        expect(r.stderr, unit).toBe("");
        expect(r.status, unit).toBe(0);
      }
    });
});
