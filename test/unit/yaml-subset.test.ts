// The subset reader must give the yaml package's data and positions for what
// it reads, and leave the rest to the package. Compared on every model in
// the repository and on cases written for each rule.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseDocument } from "yaml";
import { describe, expect, it } from "vitest";
import { readSubset } from "../../src/model/yaml-subset.js";
import { packageModel, parseModelText, type PathSeg } from "../../src/model/load.js";

const repo = join(import.meta.dirname, "../..");

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === "expected" ? [] : yamlFiles(p);
    return name.endsWith(".yaml") ? [p] : [];
  });
}

/** Every path to a node of data, and beside each a path to a child that does not exist. */
function paths(data: unknown, at: PathSeg[] = []): PathSeg[][] {
  const out: PathSeg[][] = [at, [...at, "no-such-key"], [...at, 9999]];
  if (Array.isArray(data)) data.forEach((v, i) => out.push(...paths(v, [...at, i])));
  else if (data && typeof data === "object") for (const [k, v] of Object.entries(data)) out.push(...paths(v, [...at, k]));
  return out;
}

/** Same data and same position for every path, value and key, as the yaml package. */
function expectSameAsPackage(text: string): void {
  const ours = parseModelText(text, "m.yaml");
  const theirs = packageModel(text, "m.yaml");
  expect(ours.data).toStrictEqual(theirs.data);
  for (const p of paths(theirs.data)) {
    for (const at of ["value", "key"] as const) expect([p, at, ours.locate(p, at)]).toStrictEqual([p, at, theirs.locate(p, at)]);
  }
}

const read = [
  "a: 1\nb: [x, 'y', \"z\"]\n",
  "# head\nversion: 1   # trailing\n\nuplinks:\n  # between\n  - name: a\n    interface: eth1\n\n  -   name: b\n      interface: eth2\n",
  "uplinks:\n- name: a\n- name: b\nother: x\n",
  "k:\n  -\n    x: 1\n  - y\n",
  "s: 'it''s' # c\nq: \"a # not a comment\"\nu: http://example.org:80/x\nn: -5\nz: 0\nt: true\nf: false\nnl: null\ntl: ~\nip: 2001:db8::1\nv4: 198.51.100.0/24\nw: a  b\nh: a#b\n",
  "m: {name: vpn, interface: eth1, address: 203.0.113.2/24, d: [a, b, ], e: {}, f: []}\n",
  "l: [ 198.18.0.1/32 ,  '198.18.0.2/32',2001:db8::/32 ]\n",
  "l: [198.18.0.1/32, 2001:db8::1, fe80::1%eth0, 10, 0x1f, null, true, a-b_c.d, 1.5]\nm: [a, b, ]\nn: [ ]\no: []\np: [a,b,c]   # c\n",
  "l: [[a, b], [c]]\nm: [a, [b, c], {d: e}]\n",
  "a : 1\nb#c: 2\nd: -x\ne: \"x: y\"\n",
  "m: {\"a\":1, k: a:b, 'q': [x]}\n",
  "\"quoted key\": 1\n'single': 2\n",
  "a:\n  b:\n    c: [1, {d: e}]\n  f: g\n",
  "x: yes\ny: on\nz: off\n",
  "h: 0x1F\no: 0o17\nf: 0.2\ng: .5\ne: 1e3\nE: -2.5E-1\nn: Null\nN: NULL\nt: True\nT: TRUE\nF: False\n",
];

const fallsBack = [
  ["an anchor and alias", "a: &x 1\nb: *x\n"],
  ["a tag", "a: !!str 1\n"],
  ["a block scalar", "a: |\n  text\n"],
  ["a multi-line plain scalar", "a: one\n  two\n"],
  ["a multi-line flow", "a: [1,\n  2]\n"],
  ["an escape", 'a: "x\\ty"\n'],
  ["a duplicate key", "a: 1\na: 2\n"],
  ["an empty value", "a:\nb: 1\n"],
  ["a document marker", "---\na: 1\n"],
  ["a directive", "%YAML 1.2\n---\na: 1\n"],
  ["a tab", "a:\t1\n"],
  ["CRLF", "a: 1\r\n"],
  ["a hexadecimal past 2^53", "a: 0x20000000000001\n"],
  ["infinity", "a: .inf\n"],
  ["a signed integer", "a: +1\n"],
  ["a leading zero", "a: 007\n"],
  ["a flow key without value", "a: {b}\n"],
  ["a pair in a flow sequence", "a: [b: c]\n"],
  ["an item ending in a colon", "a: [2001:db8::, b]\n"],
  ["an empty item", "a: [b, , c]\n"],
  ["a leading comma", "a: [, b]\n"],
  ["a nested mapping on one line", "a: b: c\n"],
  ["an integer past 2^53", "a: 9007199254740993\n"],
  ["an indented first line", "  a: 1\n"],
  ["a scalar document", "just text\n"],
  ["an empty document", "# nothing\n"],
  ["a merge key", "<<: {a: 1}\n"],
  ["a __proto__ key", "__proto__: 1\n"],
  ["a bad indentation", "a:\n    b: 1\n  c: 2\n"],
  ["a comment inside a flow", "a: [1, # two\n  2]\n"],
  ["a complex key", "? a\n: 1\n"],
  ["a compact nested sequence", "- - a\n"],
  ["a lone dash as a value", "a: -\n"],
  ["a lone question mark as a value", "a: ?\n"],
];

describe("the YAML subset reader", () => {
  it("reads every model in the repository as the yaml package does (data, and the position of every value and key)", () => {
    const files = [...yamlFiles(join(repo, "fixtures")), ...yamlFiles(join(repo, "examples")), ...yamlFiles(join(repo, "test"))];
    expect(files.length).toBeGreaterThan(80);
    let bySubset = 0;
    for (const f of files) {
      const text = readFileSync(f, "utf8");
      try {
        packageModel(text, f);
      } catch {
        continue; // the package's own errors: nothing to compare
      }
      if (readSubset(text)) bySubset++;
      expectSameAsPackage(text);
    }
    // every fixture and the example are in the subset: the fast path is the one taken
    for (const f of [...yamlFiles(join(repo, "fixtures")), ...yamlFiles(join(repo, "examples"))]) expect([f, readSubset(readFileSync(f, "utf8")) !== undefined]).toStrictEqual([f, true]);
    expect(bySubset).toBeGreaterThan(files.length / 2);
  });

  it.each(read.map((t) => [t]))("reads %j as the yaml package does", (text) => {
    expect(readSubset(text)).toBeDefined();
    expectSameAsPackage(text);
  });

  it.each(fallsBack)("leaves %s to the yaml package", (_, text) => {
    expect(readSubset(text)).toBeUndefined();
  });

  it("reads 20,000 inline prefixes as the yaml package does", () => {
    const lines = ["version: 1", "uplinks:"];
    for (let u = 0; u < 64; u++) {
      const items = Array.from({ length: 313 }, (_, i) => `198.${18 + (u >> 6)}.${u & 63}.${i & 255}/32`);
      lines.push(`  - name: u${u}`, `    interface: e${u}`, `    address: 100.64.${u}.2/24`, `    destinations: [${items.join(", ")}]`);
    }
    const text = lines.join("\n") + "\n";
    const doc = readSubset(text);
    expect(doc).toBeDefined();
    expect(doc!.data).toStrictEqual(parseDocument(text).toJS());
  });
});
