// One meaning for a model: the loader reads what YAML 1.2's core schema says,
// whatever the model's length or layout, and every verdict (data, message,
// position) is the same for the same values written another way. The cases
// are the ones a differential fuzz run found against the hand-written fast
// paths the loader used to have (issue 22), and a seeded run over generated
// values written in several layouts.
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { parseModelText } from "../../src/model/load.js";
import { validateModel } from "../../src/model/validate.js";
import { ModelError } from "../../src/errors.js";
import { fuzzSeed, prng } from "../helpers/prng.js";

const items = (n: number) =>
  Array.from({ length: n }, (_, i) => (i % 7 === 3 ? `2001:db8:${(i % 65536).toString(16)}::/48` : i % 5 === 1 ? `198.18.${i >> 8}.${i & 255}` : `198.18.${i >> 8}.${i & 255}/32`));

function model(list: string, extra = ""): string {
  return `version: 1
uplinks:
  - name: vpn
    interface: eth1
    address: [198.51.100.2/24, 2001:db8:1::2/64]
    gateway: [198.51.100.1, 2001:db8:1::1]
    destinations: ${list}
  - destinations: [${items(300).filter((i) => !i.includes(":")).join(", ")}]   # a comment
    name: isp
    interface: eth2
    address: 203.0.113.2/24
    gateway: 203.0.113.1${extra}
`;
}

/** The verdict on a model: its resolved uplinks, or its messages (with positions). */
function verdict(text: string): unknown {
  try {
    return { ok: validateModel(parseModelText(text, "m.yaml")).uplinks.map((u) => [u.name, u.gateways, u.destinations]) };
  } catch (e) {
    if (e instanceof ModelError) return { errors: e.issues.map((i) => `${i.pos.line}:${i.pos.col}: ${i.path}: ${i.message}`) };
    throw e;
  }
}

/** The messages alone, without positions (the same values written in another layout sit elsewhere). */
function messages(text: string): unknown {
  const v = verdict(text) as { ok?: unknown; errors?: string[] };
  return v.errors ? { errors: v.errors.map((m) => m.replace(/^\d+:\d+: /, "")) } : v;
}

describe("loader: long destination lists", () => {
  it("read as YAML reads them: spacing, a trailing comma, a comment, IPv6, the first key of an item", () => {
    for (const list of [`[${items(2000).join(", ")}]`, `[${items(500).join(",")},]`, `[ ${items(400).join(" ,  ")} ]  # pins`, "[198.18.0.1, 198.18.0.2]"]) {
      const text = model(list);
      expect(parseModelText(text, "m.yaml").data).toEqual(parse(text));
    }
  });

  it("an item's error is at its own line and column", () => {
    const list = items(1000);
    list[577] = "198.18.2.65/24";
    const text = model(`[${list.join(", ")}]`);
    const col = text.split("\n")[6].indexOf("198.18.2.65/24") + 1;
    expect(verdict(text)).toEqual({ errors: [`7:${col}: uplinks[0].destinations[577]: '198.18.2.65/24' has host bits set; did you mean 198.18.2.0/24?`] });
  });

  it("a hostname in a long list is located the same way", () => {
    const list = items(1000);
    list[12] = "dns.example.net";
    const text = model(`[${list.join(", ")}]`);
    const col = text.split("\n")[6].indexOf("dns.example.net") + 1;
    expect(() => validateModel(parseModelText(text, "m.yaml"))).toThrow(`m.yaml:7:${col}: uplinks[0].destinations[12]: 'dns.example.net' is not an IPv4 or IPv6 address or prefix`);
  });
});

describe("loader: what YAML says, whatever the layout", () => {
  it("a no-break space pasted after a gateway is part of the value, with or without ---, and the message shows it", () => {
    const text = model("[198.18.0.0/24]").replace("gateway: 203.0.113.1", "gateway: 203.0.113.1\u00a0");
    const expected = "uplinks[1].gateway: '203.0.113.1\\u00a0' is not an IPv4 or IPv6 address (a gateway has no prefix length)";
    expect(messages(text)).toEqual({ errors: [expected] });
    expect(messages(`---\n${text}`)).toEqual({ errors: [expected] });
  });

  it.each(["\u000b", "\f", "\u00a0", "\u1680", "\u2000", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"].map((c) => [c.charCodeAt(0).toString(16).padStart(4, "0"), c]))("YAML keeps U+%s at the end of a plain scalar", (_, c) => {
    const text = `a: 1${c}\nb: x${c}\n`;
    expect(parseModelText(text, "m.yaml").data).toEqual({ a: `1${c}`, b: `x${c}` });
  });

  it("an IPv6 prefix ending in :: in a flow list gets one verdict, short list or long, and the message says to quote it", () => {
    const short = model("[2001:db8:53::]");
    const long = model(`[${items(200).join(", ")}, 2001:db8:53::]`);
    const hint = `must be a string, got a mapping ('2001:db8:53::': YAML reads a plain value ending in ':' as a key; quote it, "2001:db8:53::")`;
    expect(messages(short)).toEqual({ errors: [`uplinks[0].destinations[0]: ${hint}`] });
    expect(messages(long)).toEqual({ errors: [`uplinks[0].destinations[200]: ${hint}`] });
    expect(verdict(model(`["2001:db8:53::/48"]`))).toHaveProperty("ok");
  });

  it("text that looks like a marker of the old fast path is data like any other", () => {
    // --- sent these models down the old package path, where a long list was cut out of the text
    const marker = { errors: ["uplinks[0].destinations[0]: '__gen_hooks_list_0__' is not an IPv4 or IPv6 address or prefix"] };
    expect(messages(`---\n${model("[__gen_hooks_list_0__]")}`)).toEqual(marker);
    expect(messages(model("[__gen_hooks_list_0__]"))).toEqual(marker);
    const noSpace = `---\nversion: 1\nuplinks:\n  - destinations:[${items(200).join(", ")}]\n    name: a\n`;
    expect(JSON.stringify(verdict(noSpace))).not.toContain("__gen_hooks");
  });

  it("YAML's own refusals: an implicit key over 1,024 characters, a document end marker at column 0", () => {
    expect(verdict(`${"k".repeat(1100)}: 1\nversion: 1\n`)).toEqual({ errors: [expect.stringMatching(/^1:1: : YAML syntax: .*1024/)] });
    expect(verdict("version: 1\n...\nuplinks: []\n")).toEqual({ errors: [expect.stringMatching(/^3:1: : YAML syntax:/)] });
  });

  it("a YAML mistake is reported once, at the line to fix", () => {
    const over = "version: 1\nuplinks:\n  - name: a\n    interface: eth1\n    address: 198.51.100.2/24\n      gateway: 198.51.100.1\n    nat: masquerade\n";
    expect(verdict(over)).toEqual({ errors: ["6:7: : YAML syntax: this line is indented deeper than the key on line 5, so YAML reads it as the rest of that key's value; indent it as that key"] });
    const tab = "version: 1\nuplinks:\n  - name: a\n\tinterface: eth1\n    address: 198.51.100.2/24\n    gateway: 198.51.100.1\n";
    expect(verdict(tab)).toEqual({ errors: ["4:1: : YAML syntax: Tabs are not allowed as indentation"] });
  });

  it("an empty key is located where it is", () => {
    expect(parseModelText(": 1\n", "m.yaml").locate([""], "key")).toEqual({ line: 1, col: 1 });
  });
});

// Seeded: the same uplinks written as block lists, flow lists, flow maps,
// with a directive end marker, with comments, and with their destinations
// padded out to a long list: every layout must get the same messages (or
// the same resolved uplinks). The values are drawn from valid addresses and
// their near misses (trailing Unicode spaces, a trailing ::, a marker-like
// word). GEN_HOOKS_FUZZ_SEED replays a run.
const seed = fuzzSeed();
const CASES = 300;

const SPACES = ["", "", "", " ", "\u00a0", "\u2003", "\u3000", "\u202f", "\u200b", "\ufeff"];
const DESTS = ["198.18.4.0/24", "198.18.5.7", "2001:db8:53::", "2001:db8:53::/48", "2001:db8::1", "198.18.4.1/24", "__gen_hooks_list_0__", "dns.example.net", "0.0.0.0/0", "10"];

function layouts(rand: () => number): string[] {
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const dests = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => pick(DESTS) + pick(SPACES).replace(/^ $/, ""));
  const gateway = "198.51.100.1" + pick(SPACES).replace(/^ $/, "");
  const padding = items(60); // enough to pass 512 characters in a flow list
  const all = rand() < 0.5 ? dests : [...padding, ...dests];
  const head = "version: 1\nuplinks:\n";
  const tail = "  - name: isp\n    interface: eth2\n    address: 203.0.113.2/24\n    gateway: 203.0.113.1\n";
  const block = `${head}  - name: vpn\n    interface: eth1\n    address: 198.51.100.2/24\n    gateway: ${gateway}\n    destinations:\n${all.map((d) => `      - ${d}\n`).join("")}${tail}`;
  const flow = `${head}  - name: vpn\n    interface: eth1\n    address: 198.51.100.2/24\n    gateway: ${gateway}\n    destinations: [${all.join(", ")}]\n${tail}`;
  const tight = flow.replace(`[${all.join(", ")}]`, `[${all.join(",")}]`);
  const flowMap = `${head}  - {name: vpn, interface: eth1, address: 198.51.100.2/24, gateway: ${gateway}, destinations: [${all.join(", ")}]}\n${tail}`;
  const commented = `# a model\n${flow.replace("destinations:", "destinations:   ").replace(/\]\n/, "]   # pins\n")}`;
  return [block, flow, tight, flowMap, `---\n${flow}`, `%YAML 1.2\n---\n${block}`, commented];
}

describe(`loader: one meaning for every layout (seed ${seed}, ${CASES} models, 7 layouts each)`, () => {
  it("every layout of the same values gets the same verdict", () => {
    const rand = prng(seed);
    for (let n = 0; n < CASES; n++) {
      const texts = layouts(rand);
      const first = messages(texts[0]);
      for (const text of texts.slice(1)) expect([JSON.stringify(text), messages(text)]).toEqual([JSON.stringify(text), first]);
    }
  });
});
