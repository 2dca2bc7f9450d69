// Golden files: the whole expected/ tree of each scenario, every target of
// both stacks rendered by the built bin under one --root. UPDATE_GOLDEN=1
// rewrites them.
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTwoFilesPatch } from "diff";
import { describe, expect, it } from "vitest";
import { renderEveryTarget } from "../helpers/bin.js";
import { fixturesDir, scenarios } from "../helpers/fixtures.js";
import { readTree } from "../helpers/tree.js";

const update = process.env.UPDATE_GOLDEN === "1";

describe("golden files", () => {
  it("has the seed scenarios", () => {
    expect(scenarios().length).toBeGreaterThanOrEqual(5);
  });

  for (const scenario of scenarios()) {
    it(`${scenario}: every target matches expected/`, () => {
      const out = mkdtempSync(join(tmpdir(), "gh-golden-"));
      try {
        const r = renderEveryTarget(`fixtures/${scenario}/model.yaml`, out);
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        const expectedDir = join(fixturesDir, scenario, "expected");
        if (update) {
          rmSync(expectedDir, { recursive: true, force: true });
          cpSync(out, expectedDir, { recursive: true });
        }
        const actual = readTree(out);
        const expected = readTree(expectedDir);
        expect([...actual.keys()], "the same set of files").toEqual([...expected.keys()]);
        const patches = [...actual]
          .filter(([path, text]) => expected.get(path) !== text)
          .map(([path, text]) => createTwoFilesPatch(`expected/${path}`, `actual/${path}`, expected.get(path)!, text));
        expect(patches.join("\n"), "unified diff of expected vs actual (UPDATE_GOLDEN=1 to accept)").toBe("");
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    });
  }
});
