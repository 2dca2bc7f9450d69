// Templates are compiled to JavaScript at build time; what they render must
// be what Handlebars renders (strict, no escaping) with the same helpers and
// partials, whitespace included. Each case runs through both.
import Handlebars from "handlebars";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileTemplate, helpersCalled } from "../../scripts/template-compiler.mjs";
import { runtimeWith, type Template } from "../../src/render/engine.js";
import { helpers } from "../../src/render/helpers.js";
import { partials as builtPartials, templates as builtTemplates } from "../../src/render/templates.generated.js";
import { renderTemplate } from "../../src/render/engine.js";
import { planFromFile, selectTargets } from "../../src/pipeline.js";
import { fixturesDir, scenarios } from "../helpers/fixtures.js";
import { repoRoot } from "../helpers/bin.js";
import { tempFolders } from "../helpers/tmp.js";

const names = Object.keys(helpers);

function ours(source: string, partials: Record<string, string>, context: unknown): string {
  const compiled: Record<string, Template> = {};
  const make = (src: string, name: string) => new Function(`return ${compileTemplate(src, name, names)}`)() as Template;
  for (const [name, src] of Object.entries(partials)) compiled[name] = make(src, name);
  const runtime = runtimeWith(compiled);
  runtime.root = context;
  return make(source, "case")(context, runtime);
}

function theirs(source: string, partials: Record<string, string>, context: unknown): string {
  const hb = Handlebars.create();
  for (const [name, fn] of Object.entries(helpers)) hb.registerHelper(name, fn as Handlebars.HelperDelegate);
  for (const [name, src] of Object.entries(partials)) hb.registerPartial(name, hb.compile(src, { strict: true, noEscape: true }));
  return hb.compile(source, { strict: true, noEscape: true })(context);
}

const route = "{{#each this}}\n\n[Route]\nDestination={{destination}}\n{{#if via}}\nGateway={{via}}\n{{/if}}\n{{#if (isset metric)}}\nMetric={{metric}}\n{{/if}}\n{{/each}}\n";

const cases: [string, string, Record<string, string>, unknown][] = [
  ["standalone blocks and else lines", "a\n{{#if x}}\n  yes {{x}}\n{{else}}\n  no\n{{/if}}\n{{#unless y}}\nnot y\n{{/unless}}\nend\n", {}, { x: 0, y: [] }],
  ["if: 0, empty string, empty list, null are false; {} and [0] true", "{{#if a}}A{{/if}}{{#if b}}B{{/if}}{{#if c}}C{{/if}}{{#if d}}D{{/if}}{{#if e}}E{{/if}}{{#if f}}F{{/if}}\n", {}, { a: 0, b: "", c: [], d: null, e: {}, f: [0] }],
  ["each with @last, @first, @index, @key and else", "{{#each xs}}{{@index}}{{#if @first}}^{{/if}}{{this}}{{#unless @last}}, {{/unless}}{{/each}}|{{#each none}}x{{else}}empty{{/each}}|{{#each obj}}{{@key}}={{this}};{{/each}}\n", {}, { xs: ["a", "b", "c"], none: [], obj: { p: 1, q: 2 } }],
  ["each over a Map and a string", "{{#each m}}{{this}};{{/each}}|{{#each s}}x{{else}}none{{/each}}\n", {}, { m: new Map([["k", 1]]), s: "abc" }],
  ["../ and ../../ across nested each, if in between", "{{#each outer}}\n{{#if on}}\n{{#each inner}}\n{{name}} {{../name}} {{../../top}}\n{{/each}}\n{{/if}}\n{{/each}}\n", {}, { top: "T", outer: [{ name: "o1", on: true, inner: [{ name: "i1" }, { name: "i2" }] }, { name: "o2", on: false, inner: [] }] }],
  ["@root in a partial inside each", "{{#each xs}}\n{{> p}}\n{{/each}}\n", { p: "{{this}} of {{@root.title}}\n" }, { title: "R", xs: ["a", "b"] }],
  ["a partial with a context, a standalone indented partial", "x:\n  {{> routes list}}\ny\n", { routes: route }, { list: [{ destination: "198.18.0.0/24", via: "192.0.2.1", metric: 0 }, { destination: "198.18.1.0/24", via: null, metric: null }] }],
  ["a partial inline on a line keeps its newline", "ip route add {{> r}} table 5\n{{> r}}{{!-- comment --}}\nend\n", { r: "{{to}} via {{via}}" }, { to: "198.18.0.0/15", via: "192.0.2.1" }],
  ["a partial's hash laid over its context, with ../", "{{#each hops}}\n  {{> hop family=../family}}\n{{/each}}\n", { hop: "nexthop via {{via}} {{ipflag family}} {{family}}" }, { family: 6, hops: [{ via: "2001:db8::1" }, { via: "2001:db8::2", family: 4 }] }],
  ["helpers and subexpressions", "{{ipflag f}} {{ipfamily f}} {{join xs}} {{join xs \",\"}}{{#if (eq f 6)}} six{{/if}}{{#if (isset n)}} n{{/if}}{{#unless (eq s \"a\")}} not-a{{/unless}}\n", {}, { f: 6, xs: [1, 2], n: 0, s: "b" }],
  ["nested paths, lengths, numbers and booleans", "{{a.b.c}} {{list.length}} {{t}} {{f}} {{z}} {{nothing}}.\n", {}, { a: { b: { c: "deep" } }, list: [1, 2, 3], t: true, f: false, z: 0, nothing: null }],
  ["comments and blank lines", "{{!-- alone --}}\n\n{{! short }}\ntext {{!-- inline --}} more\n", {}, {}],
];

describe("template compiler: the same output as Handlebars", () => {
  it.each(cases)("%s", (_, source, partials, context) => {
    expect(ours(source, partials, context)).toBe(theirs(source, partials, context));
  });

  it("a missing output field throws, as Handlebars' strict mode does", () => {
    expect(() => theirs("{{missing}}", {}, {})).toThrow(/"missing" not defined/);
    expect(() => ours("{{missing}}", {}, {})).toThrow(/"missing" not defined/);
    expect(() => ours("{{a.missing}}", {}, { a: {} })).toThrow(/"missing" not defined/);
  });

  it.each([
    ["{{{x}}}", /nothing is escaped/],
    ["{{#with x}}{{/with}}", /\{\{#with\}\} is not supported/],
    ["{{shout x}}", /unknown helper shout/],
    ["{{@index}}", /only supported as @index.*inside \{\{#each\}\}/],
    ["{{#each xs as |x|}}{{x}}{{/each}}", /block parameters/],
    ["{{#each xs}}{{../../x}}{{/each}}", /no context 2 level/],
    ["{{> (dyn) }}", /dynamic partial/],
  ])("refuses %s at build time", (source, message) => {
    expect(() => compileTemplate(source, "t.hbs", names)).toThrow(message);
  });

  it("the built templates call only helpers the engine has, and every partial they name exists", () => {
    const code = [...Object.values(builtTemplates), ...Object.values(builtPartials)].map((f) => f.toString()).join("\n");
    for (const h of helpersCalled(code)) expect(names).toContain(h);
    for (const [, p] of code.matchAll(/R\.P\["([^"]+)"\]/g)) expect(Object.keys(builtPartials)).toContain(p);
    expect(Object.keys(builtTemplates).length).toBeGreaterThan(20);
  });
});

// The real templates, with the contexts the targets build for every fixture
// and the example, on both stacks: what the bin renders must be what
// Handlebars renders from the same .hbs files and contexts.
const templatesDir = join(repoRoot, "templates");
function handlebarsOfTheRepo(): typeof Handlebars {
  const hb = Handlebars.create();
  for (const [name, fn] of Object.entries(helpers)) hb.registerHelper(name, fn as Handlebars.HelperDelegate);
  for (const dir of readdirSync(templatesDir)) {
    for (const file of readdirSync(join(templatesDir, dir)).filter((f) => f.endsWith(".hbs"))) {
      const name = dir === "_partials" ? file.slice(0, -4) : file.startsWith("_") ? `${dir}/${file.slice(1, -4)}` : undefined;
      if (name) hb.registerPartial(name, hb.compile(readFileSync(join(templatesDir, dir, file), "utf8"), { strict: true, noEscape: true }));
    }
  }
  return hb;
}

describe("template compiler: every real template, with every fixture's contexts, as Handlebars renders it", () => {
  const hb = handlebarsOfTheRepo();
  const compiled = new Map<string, Handlebars.TemplateDelegate>();
  const theirsOf = (template: string) => {
    if (!compiled.has(template)) compiled.set(template, hb.compile(readFileSync(join(templatesDir, template), "utf8"), { strict: true, noEscape: true }));
    return compiled.get(template)!;
  };
  // no fixture has a leased uplink with more pins than its hook adds one by one (a prefixes file)
  const leasedPins = `version: 1\nuplinks:\n  - {name: lte, interface: wwan0, address: dhcp, destinations: [${Array.from({ length: 70 }, (_, i) => `198.18.${i}.0/24`).join(", ")}]}\n  - {name: isp, interface: eth2, address: 192.0.2.2/24, gateway: 192.0.2.1}\n`;
  const models = [...scenarios().map((s) => join(fixturesDir, s, "model.yaml")), join(repoRoot, "examples/uplinks.yaml"), "leased-pins"];
  const used = new Set<string>();
  const temp = tempFolders("templates");
  it.each(models.map((m) => [m.startsWith(repoRoot) ? m.slice(repoRoot.length) : m, m]))("%s", (_, model) => {
    if (model === "leased-pins") writeFileSync((model = join(temp(), "model.yaml")), leasedPins);
    const plan = planFromFile(model);
    let renders = 0;
    for (const stack of ["ifupdown", "networkd"] as const)
      for (const t of selectTargets("all", stack))
        for (const f of t.files(plan)) {
          used.add(f.template);
          expect([f.path, renderTemplate(f.template, f.context)]).toEqual([f.path, theirsOf(f.template)(f.context)]);
          renders++;
        }
    expect(renders).toBeGreaterThan(5);
  });
  it("the fixtures use every template", () => {
    expect(Object.keys(builtTemplates).filter((t) => !used.has(t))).toEqual([]);
  });
});

describe("template compiler: a context Handlebars would read another way is refused", () => {
  const source = "{{#each xs}}[{{this}}]{{/each}} {{a}} {{#if b}}B{{/if}}\n";
  class Getter {
    get a() {
      return "inherited";
    }
  }
  const shapes: [string, unknown, RegExp][] = [
    ["a list with a hole", { xs: [1, , 3], a: 1, b: 1 }, /a list with a hole at 1/], // eslint-disable-line no-sparse-arrays
    ["a function as a field", { xs: [], a: () => "called", b: 1 }, /"a" is a function/],
    ["a function as a condition", { xs: [], a: 1, b: () => false }, /"b" is a function/],
    ["a getter inherited from a class", Object.assign(new Getter(), { xs: [], b: 1 }), /"a" is inherited/],
  ];
  it.each(shapes)("%s", (_, context, message) => {
    const hb = theirs(source, {}, context);
    expect(hb).toBeTypeOf("string"); // Handlebars renders it, its own way
    expect(() => ours(source, {}, context)).toThrow(message);
  });
  it("plain data with an own getter and a Map is rendered as Handlebars does", () => {
    const context = { xs: new Map([["k", 1]]), b: 0 };
    Object.defineProperty(context, "a", { get: () => "own", enumerable: true });
    expect(ours(source, {}, context)).toBe(theirs(source, {}, context));
  });
});
