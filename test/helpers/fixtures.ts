import { readdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./bin.js";

export const fixturesDir = join(repoRoot, "fixtures");

/** Scenario folder names: each has model.yaml and expected/. */
export function scenarios(): string[] {
  return readdirSync(fixturesDir)
    .filter((d) => existsSync(join(fixturesDir, d, "model.yaml")))
    .sort();
}
