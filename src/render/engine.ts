// One isolated Handlebars environment: noEscape (config, not HTML), strict (a
// missing field is an error, not an empty string). Helpers format, never decide.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import Handlebars from "handlebars";

export const templatesDir = new URL("../../templates/", import.meta.url).pathname;

type Compiled = (context: unknown) => string;

let env: typeof Handlebars | undefined;
const cache = new Map<string, Compiled>();

function environment(): typeof Handlebars {
  if (env) return env;
  env = Handlebars.create();
  env.registerHelper("ipflag", (family: number) => (family === 6 ? "-6" : "-4"));
  env.registerHelper("ipfamily", (family: number) => (family === 6 ? "ipv6" : "ipv4"));
  env.registerHelper("isset", (value: unknown) => value !== undefined && value !== null);
  env.registerHelper("eq", (a: unknown, b: unknown) => a === b);
  env.registerHelper("join", (items: unknown[], sep: unknown) => items.join(typeof sep === "string" ? sep : " "));
  // Partials: templates/_partials/x.hbs is "x"; templates/<target>/_x.hbs is "<target>/x".
  for (const dir of readdirSync(templatesDir, { withFileTypes: true })) {
    if (!dir.isDirectory()) continue;
    for (const f of readdirSync(join(templatesDir, dir.name))) {
      if (!f.endsWith(".hbs")) continue;
      const shared = dir.name === "_partials";
      if (!shared && !f.startsWith("_")) continue;
      const name = shared ? f.slice(0, -4) : `${dir.name}/${f.slice(1, -4)}`;
      env.registerPartial(name, readFileSync(join(templatesDir, dir.name, f), "utf8"));
    }
  }
  return env;
}

/** Render templates/<name> with context. */
export function renderTemplate(name: string, context: unknown): string {
  let fn = cache.get(name);
  if (!fn) {
    fn = environment().compile(readFileSync(join(templatesDir, name), "utf8"), { noEscape: true, strict: true });
    cache.set(name, fn);
  }
  return fn(context);
}
