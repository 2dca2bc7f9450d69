// The one shortcut of the loader (long one-line destination lists read
// without a YAML node per item, src/model/flow-lists.ts) against the yaml
// package alone, on generated models: the same data, the same verdict (every
// message and position) and the same position for every value and key.
// The generator writes long lists in the layouts a model has and in the ones
// that fooled earlier shortcuts: Unicode spaces and tabs, items ending in
// ':', a marker-like word, no space after the colon, a directive, CRLF, a
// byte order mark, a list inside a block scalar, a quoted string or a
// multi-line flow map, aliases, duplicate keys, and random characters
// inserted anywhere. GEN_HOOKS_FUZZ_SEED replays a run.
import { describe, expect, it } from "vitest";
import { packageModel, parseModelText, type LoadedModel, type PathSeg } from "../../src/model/load.js";
import { cutFlowLists } from "../../src/model/flow-lists.js";
import { validateModel } from "../../src/model/validate.js";
import { ModelError } from "../../src/errors.js";
import { fuzzSeed, prng } from "../helpers/prng.js";

const seed = fuzzSeed();
const CASES = 1000;

const GOOD = ["198.18.0.0/24", "198.18.7.9", "198.18.7.9/32", "2001:db8:53::/48", "2001:db8::1", "::1", "::/0", "2001:db8:0:0:0:0:0:1", "1:2:3:4:5:6:7:8", "0.0.0.0/0", "198.18.300.1", "198.18.4.1/24"];
const ODD = ["2001:db8:53::", "::", ":", "198.18.0.1:", "__gen_hooks_list_0__", "dns.example.net", "0x1f", "1e3", "~", "null", "true", "'198.18.0.1'", '"2001:db8::"', "-1", "", "198.18.0.1 # x", "&a 198.18.0.1", "!!str 198.18.0.1", "[198.18.0.1]", "{a: b}", "198.18.0.1\u00a0", "\u3000198.18.0.1", "198.18.0.1\u200b", "198.18.0.1\t", "é"];
const SEPARATORS = [", ", ", ", ", ", ",", " , ", ",  ", ",\t", " ,", ",\u00a0"];
const INSERTS = [":", "-", " ", "[", "]", "{", "}", "'", '"', "\t", "\n", "\r\n", "&a", "*a", "#", ",", "\u00a0", "\ufeff", "\u2028", "|", ">", "%", "?", "!", "...", "---"];

function generate(rand: () => number): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const chance = (p: number) => rand() < p;
  const list = (): string => {
    const n = chance(0.2) ? 1 + Math.floor(rand() * 5) : 40 + Math.floor(rand() * 80);
    const sep = chance(0.9) ? pick(SEPARATORS.slice(0, 6)) : pick(SEPARATORS);
    const items = Array.from({ length: n }, () => pick(GOOD));
    if (chance(0.25)) items[Math.floor(rand() * n)] = pick(ODD);
    const open = pick(["[", "[", "[", "[ ", "[  "]);
    const close = pick(["]", "]", "]", " ]", ",]", ", ]"]);
    if (chance(0.05)) items[Math.floor(rand() * n)] = ""; // two commas in a row
    return `${open}${items.join(sep)}${close}`;
  };
  const key = () => (chance(0.85) ? "destinations: " : pick(["destinations:  ", "destinations:", "destinations:\t", "destinations : ", "'destinations': ", "destination: "]));
  const tail = () => (chance(0.8) ? "" : pick(["  # pins", " #x", "#x", "   ", " ,", " }"]));
  const uplink = (i: number): string => {
    const lines = [`name: u${i}`, `interface: eth${i}`, "address: 198.51.100.2/24", "gateway: 198.51.100.1"];
    if (chance(0.8)) lines.splice(Math.floor(rand() * (lines.length + 1)), 0, `${key()}${list()}${tail()}`);
    if (chance(0.05)) lines.push(`${key()}${list()}`); // a duplicate key
    const layout = rand();
    if (layout < 0.75) return lines.map((l, k) => `${k === 0 ? "  - " : "    "}${l}`).join("\n");
    if (layout < 0.85) return `  - {${lines.join(", ")}}`;
    if (layout < 0.92) return `  - {${lines.join(",\n     ")}\n    }`;
    return `  -\n${lines.map((l) => `    ${l}`).join("\n")}`;
  };
  const parts = ["version: 1", "uplinks:", ...Array.from({ length: 1 + Math.floor(rand() * 3) }, (_, i) => uplink(i))];
  const extras = [
    () => `note: |\n  ${key()}${list()}`,
    () => `note: >\n  text\n  ${key()}${list()}`,
    () => `note: "a\n  ${key()}${list()}\n  b"`,
    () => `note: plain\n  ${key()}${list()}`,
    () => `base: &a\n  ${key()}${list()}\ncopy: *a`,
    () => `# ${key()}${list()}`,
    () => `${"k".repeat(1030)}: 1`,
  ];
  if (chance(0.3)) parts.splice(2 + Math.floor(rand() * (parts.length - 1)), 0, pick(extras)());
  let text = parts.join("\n") + "\n";
  if (chance(0.05)) text = `%YAML ${pick(["1.1", "1.2"])}\n---\n${text}`;
  if (chance(0.05)) text = `---\n${text}`;
  if (chance(0.05)) text = `${text}...\n`;
  if (chance(0.03)) text = `\ufeff${text}`;
  if (chance(0.05)) text = text.replace(/\n/g, "\r\n");
  for (let n = chance(0.3) ? 1 + Math.floor(rand() * 3) : 0; n > 0; n--) {
    const at = Math.floor(rand() * text.length);
    text = text.slice(0, at) + pick(INSERTS) + text.slice(at);
  }
  return text;
}

/** Every path to a node of data, and beside each a child that does not exist. */
function paths(data: unknown, at: PathSeg[] = []): PathSeg[][] {
  const out: PathSeg[][] = [at, [...at, "no-such-key"], [...at, 99999]];
  if (Array.isArray(data)) data.forEach((v, i) => out.push(...paths(v, [...at, i])));
  else if (data && typeof data === "object") for (const [k, v] of Object.entries(data)) out.push(...paths(v, [...at, k]));
  return out;
}

type Read = { model?: LoadedModel; error?: string };
const read = (f: () => LoadedModel): Read => {
  try {
    return { model: f() };
  } catch (e) {
    if (e instanceof ModelError) return { error: e.message };
    throw e;
  }
};

/** The validator's verdict: every message with its position, or the number of uplinks. */
function verdict(m: LoadedModel): string {
  try {
    return `ok ${validateModel(m).uplinks.length}`;
  } catch (e) {
    if (e instanceof ModelError) return e.message;
    throw e;
  }
}

describe(`flow-list shortcut: the yaml package's answers (seed ${seed}, ${CASES} generated models)`, () => {
  it("the same data, verdict and positions with and without the shortcut", () => {
    const rand = prng(seed);
    let cut = 0;
    let kept = 0;
    for (let n = 0; n < CASES; n++) {
      const text = generate(rand);
      const label = JSON.stringify(text.slice(0, 2000));
      const ours = read(() => parseModelText(text, "m.yaml"));
      if (cutFlowLists(text) && ours.model) cut++;
      const theirs = read(() => packageModel(text, "m.yaml"));
      expect([label, ours.error]).toEqual([label, theirs.error]);
      if (!ours.model || !theirs.model) continue;
      kept++;
      expect([label, ours.model.data]).toStrictEqual([label, theirs.model.data]);
      expect([label, verdict(ours.model)]).toEqual([label, verdict(theirs.model)]);
      for (const p of paths(theirs.model.data))
        for (const at of ["value", "key"] as const) expect([label, p, at, ours.model.locate(p, at)]).toStrictEqual([label, p, at, theirs.model.locate(p, at)]);
    }
    // the generator must exercise both: lists the shortcut takes, and models YAML reads
    expect(cut).toBeGreaterThan(CASES / 6);
    expect(kept).toBeGreaterThan(CASES / 4);
  });

  it("the cases an earlier shortcut got wrong are left to the package", () => {
    const long = (item: string, sep = ", ") => `[${Array.from({ length: 60 }, () => "198.18.0.0/24").join(sep)}${sep}${item}]`;
    const model = (line: string) => `version: 1\nuplinks:\n  - name: a\n    ${line}\n`;
    for (const text of [
      model(`destinations: ${long("198.18.0.1\u00a0")}`),
      model(`destinations: ${long("2001:db8:53::")}`),
      model(`destinations:${long("198.18.0.1")}`),
      model(`destinations: ${long("198.18.0.1", ",\t")}`),
      `%YAML 1.1\n---\n${model(`destinations: ${long("1:2:3:4:5:6:7:8")}`)}`,
      `note: |\n  destinations: ${long("198.18.0.1")}\n`,
      `note: "x\n  destinations: ${long("198.18.0.1")}\n  y"\n`,
      model(`destinations: ${long("__gen_hooks_list_0__")}`),
    ]) {
      const ours = read(() => parseModelText(text, "m.yaml"));
      const theirs = read(() => packageModel(text, "m.yaml"));
      expect([text, ours.error, ours.model?.data]).toStrictEqual([text, theirs.error, theirs.model?.data]);
    }
    // and the layout it is for is taken
    expect(cutFlowLists(model(`destinations: ${long("2001:db8:53::/48")}  # pins`))?.lists.size).toBe(1);
  });
});
