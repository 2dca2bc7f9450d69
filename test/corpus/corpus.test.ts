// Bad models, one per file; the first line of each says where the error must
// be reported and the words it must use: "# expect: LINE:COL PATH: REGEX".
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../src/cli.js";

const dir = join(import.meta.dirname, "bad");
const files = readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort();

function run(args: string[]) {
  let out = "";
  let err = "";
  const status = runCli(args, { out: (s) => (out += s), err: (s) => (err += s) });
  return { status, out, err };
}

describe("corpus of bad models", () => {
  it("has at least 30 models", () => {
    expect(files.length).toBeGreaterThanOrEqual(30);
  });

  for (const f of files) {
    it(f, () => {
      const path = join(dir, f);
      const header = /^# expect: (\d+):(\d+) ([^ ]*): (.*)$/m.exec(readFileSync(path, "utf8").split("\n")[0]);
      expect(header, "expectation header").not.toBeNull();
      const [, line, col, escapedKey, words] = header!;
      const key = escapedKey.replace(/\\/g, "");
      for (const args of [["check", "--model", path], ["--target", "all", "--model", path, "--root", "/nonexistent/never-written"]]) {
        const r = run(args);
        expect(r.status, r.err).toBe(2);
        expect(r.out).toBe("");
        const first = r.err.split("\n")[0];
        expect(first.startsWith(`${path}:${line}:${col}: ${key ? `${key}: ` : ""}`), `${first}\nexpected at ${line}:${col} ${key}`).toBe(true);
        expect(first).toMatch(new RegExp(words));
        expect(r.err).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/); // no stack trace
      }
    });
  }

  it("reports at most 20 errors in one run, all of them located", () => {
    const many = ["version: 1", "uplinks:"];
    for (let i = 0; i < 25; i++) many.push(`  - {name: u${i}, interface: e${i}, address: 198.51.100.${i + 1}/24, weight: 0}`);
    const path = join(import.meta.dirname, "..", "..", "node_modules", ".many-errors.yaml");
    writeFileSync(path, many.join("\n") + "\n");
    const r = run(["check", "--model", path]);
    expect(r.status).toBe(2);
    const located = r.err.split("\n").filter((l) => l.startsWith(`${path}:`));
    expect(located.length).toBe(20);
  });
});
