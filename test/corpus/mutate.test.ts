// Randomized: mutate the valid models (the shipped fixtures and example) and
// run the whole pipeline on each. The tool must either render or exit 2 with
// a located message; an internal error (exit 3) or a throw fails the test.
// Reproduce a run with GEN_HOOKS_FUZZ_SEED=<seed printed below>.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { runCli } from "../../src/cli.js";
import { fuzzSeed, prng } from "../helpers/prng.js";

const repo = join(import.meta.dirname, "..", "..");
const bases = [
  ...readdirSync(join(repo, "fixtures")).map((s) => readFileSync(join(repo, "fixtures", s, "model.yaml"), "utf8")),
  readFileSync(join(repo, "examples/uplinks.yaml"), "utf8"),
];

const POOL: unknown[] = [null, 0, -1, 1, 2, 101, 253, 256, 257, 4294967295, 4294967296, 1.5, "", "x", "eth0", "eth1", "ppp0", "a-very-long-interface-name",
  "198.51.100.2", "198.51.100.1", "198.51.100.2/24", "198.51.100.0/24", "203.0.113.1", "10.0.0.1/8", "2001:db8:1::2/64", "2001:db8:1::1", "::/0", "0.0.0.0/0",
  "192.168.0.1/24", "1000-1999", "1999-1000", "0x1", "balance", "failover", "masquerade", "snat", true, false, [], {}, ["198.51.100.9"], { name: "z" }, "é€", "a".repeat(300)];
const KEYS = ["name", "interface", "address", "gateway", "table", "metric", "weight", "mark", "users", "sources", "destinations", "nat", "watch", "onlink", "lan", "mode", "version", "bogus"];

type Json = Record<string, unknown> | unknown[];

function containers(node: unknown, out: Json[] = []): Json[] {
  if (node && typeof node === "object") {
    out.push(node as Json);
    for (const v of Object.values(node)) containers(v, out);
  }
  return out;
}

function mutate(text: string, rand: () => number): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const op = Math.floor(rand() * 8);
  if (op === 0) {
    const lines = text.split("\n");
    lines.splice(Math.floor(rand() * lines.length), 1);
    return lines.join("\n");
  }
  if (op === 1) {
    const at = Math.floor(rand() * text.length);
    return text.slice(0, at) + pick([":", "-", " ", "[", "]", "{", "'", '"', "\t", "\n", "&a", "*a", "#"]) + text.slice(at);
  }
  const data = parse(text);
  const steps = 1 + Math.floor(rand() * 3);
  for (let i = 0; i < steps; i++) {
    const c = pick(containers(data));
    if (!c) break;
    if (Array.isArray(c)) {
      const k = Math.floor(rand() * (c.length + 1));
      if (op === 2 && c.length) c.splice(k % c.length, 1);
      else if (op === 3 && c.length) c.push(structuredClone(c[k % c.length]));
      else c[k] = structuredClone(pick(POOL));
    } else {
      const keys = Object.keys(c);
      if (op === 2 && keys.length) delete c[pick(keys)];
      else if (op === 4) c[pick(KEYS)] = structuredClone(pick(POOL));
      else if (keys.length) c[pick(keys)] = structuredClone(pick(POOL));
    }
  }
  return stringify(data);
}

describe("randomized models", () => {
  it("never crash: each renders, or exits 2 with a located message", () => {
    const seed = fuzzSeed();
    const rand = prng(seed);
    const dir = mkdtempSync(join(tmpdir(), "gh-mutate-"));
    const outcome = { rendered: 0, rejected: 0 };
    try {
      for (let i = 0; i < 500; i++) {
        const text = mutate(bases[i % bases.length], rand);
        const model = join(dir, `m${i}.yaml`);
        writeFileSync(model, text);
        let err = "";
        const status = runCli(["--target", "all", "--model", model, "--root", join(dir, "root")], { out: () => {}, err: (s) => (err += s) });
        const context = `seed ${seed}, case ${i}:\n${text}\n--- stderr:\n${err}`;
        expect([0, 2], context).toContain(status);
        if (status === 2) {
          expect(err, context).toMatch(new RegExp(`^(${model.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+:\\d+: |gen-hooks: )`));
          outcome.rejected++;
        } else {
          expect(err, context).toBe("");
          outcome.rendered++;
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    console.log(`randomized models (seed ${seed}): ${outcome.rendered} rendered, ${outcome.rejected} rejected with a located message`);
    expect(outcome.rendered).toBeGreaterThan(10);
    expect(outcome.rejected).toBeGreaterThan(10);
  });
});
