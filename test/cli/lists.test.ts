// destination-lists: files of one prefix a line, part of the model for every
// command. Errors name the list's file, line and column; nothing is written.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runBin } from "../helpers/bin.js";

const dir = mkdtempSync(join(tmpdir(), "gh-lists-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MODEL = `version: 1
uplinks:
  - name: vpn
    interface: eth1
    address: 198.51.100.2/24
    gateway: 198.51.100.1
    destination-lists: [lists/split.txt]
  - name: isp
    interface: eth2
    address: 203.0.113.2/24
    gateway: 203.0.113.1
`;

/** A model in a folder of its own with lists/split.txt holding `list`. */
function setUp(name: string, list: string, model = MODEL): string {
  const d = join(dir, name);
  mkdirSync(join(d, "lists"), { recursive: true });
  writeFileSync(join(d, "model.yaml"), model);
  writeFileSync(join(d, "lists/split.txt"), list);
  return d;
}

describe("destination-lists", () => {
  it("prefixes join destinations: comments, blank lines, bare hosts, CRLF, duplicates once", () => {
    const d = setUp("good", "# split tunnel\r\n\r\n198.18.1.0/24  # office\r\n198.18.2.7\r\n198.18.1.0/24\r\n");
    const r = runBin(["--target", "rt_tables", "--model", join(d, "model.yaml")]);
    expect(r.status, r.stderr).toBe(0);
    const ifup = runBin(["--target", "ifupdown", "--model", join(d, "model.yaml")]);
    expect(ifup.stdout).toContain("198.18.1.0/24 via 198.51.100.1");
    expect(ifup.stdout).toContain("198.18.2.7/32 via 198.51.100.1");
    expect(ifup.stdout.match(/198\.18\.1\.0\/24 via/g)?.length, "a prefix listed twice is one route").toBe(1);
    const explain = runBin(["explain", "--model", join(d, "model.yaml"), "--to", "198.18.2.7"]);
    expect(explain.status, explain.stderr).toBe(0);
    expect(explain.stdout).toMatch(/eth1/);
  });

  it("a relative list is found from the model's folder, whatever the working directory", () => {
    const d = setUp("cwd", "198.18.3.0/24\n");
    const a = runBin(["--target", "ifupdown", "--model", join(d, "model.yaml")]);
    const b = runBin(["--target", "ifupdown", "--model", "model.yaml"], { cwd: d });
    expect(a.status, a.stderr).toBe(0);
    expect(b.stdout.split("\n").slice(1)).toEqual(a.stdout.split("\n").slice(1)); // the header names the model as given
  });

  const bad: [string, string, number, number, RegExp][] = [
    ["bad-prefix", "198.18.1.0/24\n\n  198.18.300.0/24\n", 3, 3, /'198\.18\.300\.0' is not an IPv4 or IPv6 address/],
    ["host-bits", "# x\n198.18.1.1/24\n", 2, 1, /has host bits set; did you mean 198\.18\.1\.0\/24\?/],
    ["two-words", "198.18.1.0/24 198.18.2.0/24\n", 1, 1, /more than one word; a list holds one prefix a line/],
    ["wrong-family", "198.18.1.0/24\n2001:db8:5::/48\n", 2, 1, /IPv6 destination 2001:db8:5::\/48 but the uplink has no IPv6 address and gateway/],
    ["too-long", "198.18.1.0/33\n", 1, 1, /prefix length \/33 is longer than \/32/],
  ];
  for (const [name, list, line, col, words] of bad) {
    it(`${name}: exit 2 at the list's file, line and column; nothing written`, () => {
      const d = setUp(name, list);
      const root = join(d, "root");
      const listShown = join(d, "lists/split.txt");
      for (const args of [["check"], ["--target", "all", "--root", root]]) {
        const r = runBin([...args, "--model", join(d, "model.yaml")]);
        expect(r.status, r.stderr).toBe(2);
        const first = r.stderr.split("\n")[0];
        expect(first.startsWith(`${listShown}:${line}:${col}: uplinks[0].destination-lists[0]: `), first).toBe(true);
        expect(first).toMatch(words);
        expect(r.stderr, "the offending line of the list is shown").toContain(list.split("\n")[line - 1]);
        expect(r.stdout).toBe("");
      }
      expect(existsSync(root), "no file written").toBe(false);
    });
  }

  it("a missing list is reported at its entry in the model", () => {
    const d = setUp("missing", "");
    rmSync(join(d, "lists/split.txt"));
    const r = runBin(["check", "--model", join(d, "model.yaml")]);
    expect(r.status).toBe(2);
    expect(r.stderr.split("\n")[0]).toMatch(/model\.yaml:7:25: uplinks\[0\]\.destination-lists\[0\]: cannot read the list 'lists\/split\.txt': no such file/);
  });

  it("diff reports a changed list; --root then installs the change", () => {
    const d = setUp("diff", "198.18.1.0/24\n");
    const root = join(d, "root");
    const model = join(d, "model.yaml");
    expect(runBin(["--target", "all", "--model", model, "--root", root]).status).toBe(0);
    expect(runBin(["diff", "--target", "all", "--model", model, "--root", root]).status).toBe(0);
    writeFileSync(join(d, "lists/split.txt"), "198.18.1.0/24\n198.18.9.0/24\n");
    const diff = runBin(["diff", "--target", "all", "--model", model, "--root", root]);
    expect(diff.status).toBe(1);
    expect(diff.stdout).toMatch(/^\+.*198\.18\.9\.0\/24/m);
    expect(runBin(["--target", "all", "--model", model, "--root", root]).status).toBe(0);
    expect(readFileSync(join(root, "etc/network/interfaces.d/gen-hooks"), "utf8")).toContain("198.18.9.0/24");
  });
});
