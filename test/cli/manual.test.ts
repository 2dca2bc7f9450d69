// The manual says what the program does: every model key of the schema is in
// gen-hooks(5), every option and target of --help is in gen-hooks(1), and
// both pages render without warnings.
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot, runBin } from "../helpers/bin.js";

const page = (n: 1 | 5) => readFileSync(join(repoRoot, `man/gen-hooks.${n}`), "utf8").replace(/\\-/g, "-");
const schema = JSON.parse(readFileSync(join(repoRoot, "schema/model.schema.json"), "utf8"));

function schemaKeys(node: unknown, out = new Set<string>()): Set<string> {
  if (node && typeof node === "object") {
    const props = (node as { properties?: Record<string, unknown> }).properties;
    if (props) for (const k of Object.keys(props)) out.add(k);
    for (const v of Object.values(node)) schemaKeys(v, out);
  }
  return out;
}

describe("manual pages", () => {
  it("gen-hooks(5) documents every key of the schema", () => {
    const text = page(5);
    const missing = [...schemaKeys(schema)].filter((k) => !new RegExp(`^\\.(TP\\n\\.)?B ${k}\\b|\\.B ${k}$`, "m").test(text) && !text.includes(`.B ${k}\n`));
    expect(missing).toEqual([]);
  });

  it("gen-hooks(1) documents every option, command and target that --help lists", () => {
    const text = page(1);
    const help = ["--help", "diff --help", "render --help", "explain --help", "check --help"].map((a) => runBin(a.split(" ")).stdout).join("");
    const options = [...new Set(help.match(/--[a-z]+/g))];
    expect(options.length).toBeGreaterThan(5);
    for (const o of options) expect(text, o).toContain(o);
    for (const t of ["ifupdown", "networkd", "events", "health", "ifplugd", "rt_tables", "sysctl", "nftables", "render", "check", "diff", "explain"]) expect(text).toMatch(new RegExp(`^\\.B ${t}$`, "m"));
  });

  const groff = spawnSync("sh", ["-c", "command -v groff"]).status === 0;
  it.skipIf(!groff)("both pages render without groff warnings", () => {
    for (const n of [1, 5]) {
      const r = spawnSync("groff", ["-man", "-Tutf8", "-ww", "-z", join(repoRoot, `man/gen-hooks.${n}`)], { encoding: "utf8" });
      expect(r.stderr, `gen-hooks.${n}`).toBe("");
      expect(r.status).toBe(0);
    }
  });
});
