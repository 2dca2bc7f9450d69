// One isolated Handlebars runtime with the templates precompiled at build
// time (strict: a missing field throws; noEscape: config, not HTML). Helpers
// format, never decide.
import HandlebarsRuntime from "handlebars/runtime.js";
import type HandlebarsFull from "handlebars";
import { partials, templates } from "./templates.generated.js";

// The runtime is the full library minus the compiler; its own typings export nothing.
const Handlebars = HandlebarsRuntime as unknown as typeof HandlebarsFull;

type Compiled = (context: unknown) => string;

let env: typeof Handlebars | undefined;
const cache = new Map<string, Compiled>();

function environment(): typeof Handlebars {
  if (env) return env;
  const e = Handlebars.create();
  e.registerHelper("ipflag", (family: number) => (family === 6 ? "-6" : "-4"));
  e.registerHelper("ipfamily", (family: number) => (family === 6 ? "ipv6" : "ipv4"));
  e.registerHelper("isset", (value: unknown) => value !== undefined && value !== null);
  e.registerHelper("eq", (a: unknown, b: unknown) => a === b);
  e.registerHelper("join", (items: unknown[], sep: unknown) => items.join(typeof sep === "string" ? sep : " "));
  for (const [name, spec] of Object.entries(partials)) e.registerPartial(name, e.template(spec as TemplateSpecification));
  env = e;
  return e;
}

type TemplateSpecification = Parameters<typeof Handlebars.template>[0];

/** Render the template templates/<name> with context. */
export function renderTemplate(name: string, context: unknown): string {
  let fn = cache.get(name);
  if (!fn) {
    const spec = templates[name];
    if (!spec) throw new Error(`no template ${name}`);
    fn = environment().template(spec as TemplateSpecification) as Compiled;
    cache.set(name, fn);
  }
  const out = fn(context);
  // A rendered file is a tree of thousands of concatenated pieces until
  // something reads it; searching it makes V8 flatten it now, so that the
  // pieces die young instead of being copied by every collection until the
  // files are written.
  out.indexOf("\0");
  return out;
}
