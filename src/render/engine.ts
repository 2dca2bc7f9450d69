// Render a template compiled at build time (scripts/template-compiler.mjs):
// Handlebars syntax and semantics, strict (a missing output field throws),
// nothing escaped (config, not HTML).
import { partials, templates } from "./templates.generated.js";
import { helpers } from "./helpers.js";

/** What a compiled template calls; root is the context of the whole render (@root). */
export interface Runtime {
  s: (obj: unknown, name: string) => unknown;
  g: (obj: unknown, name: string) => unknown;
  refuse: (what: string) => never;
  t: (value: unknown) => boolean;
  H: typeof helpers;
  P: Record<string, Template>;
  indent: (text: string, indent: string) => string;
  root: unknown;
}

export type Template = (context: unknown, runtime: Runtime) => string;

// A context is plain data. Handlebars reads some other shapes its own way (it
// calls a function, reads an inherited property as undefined, skips a hole
// in a list); the compiled code would not, so it refuses them instead.
function refuse(what: string): never {
  throw new Error(`template: the context is not plain data: ${what}`);
}

function plain(obj: unknown, name: string, value: unknown): unknown {
  if (value === undefined) return value;
  if (typeof value === "function") refuse(`"${name}" is a function`);
  if (!Object.hasOwn(Object(obj), name)) refuse(`"${name}" is inherited, not its own`);
  return value;
}

/** The runtime of templates with these partials (the build's, or a test's). */
export function runtimeWith(partialTemplates: Record<string, Template>): Runtime {
  return {
    s(obj, name) {
      if (!obj || !(name in (obj as object))) throw new Error(`template: "${name}" not defined in ${String(obj)}`);
      return plain(obj, name, (obj as Record<string, unknown>)[name]);
    },
    g: (obj, name) => plain(obj, name, (obj as Record<string, unknown>)[name]),
    refuse,
    // {{#if}}: false when falsy or an empty list (0 is false too)
    t: (value) => Boolean(value) && !(Array.isArray(value) && value.length === 0),
    H: helpers,
    P: partialTemplates,
    // a partial alone on an indented line: every line of it indented, as Handlebars does
    indent(text, indent) {
      const lines = text.split("\n");
      for (let i = 0; i < lines.length; i++) {
        if (!lines[i] && i + 1 === lines.length) break;
        lines[i] = indent + lines[i];
      }
      return lines.join("\n");
    },
    root: undefined,
  };
}

const runtime = runtimeWith(partials);

/** Render a partial (templates/_partials/NAME.hbs, or DIR/_NAME.hbs as "DIR/NAME") with context: a line the templates write, for a command apply runs. */
export function renderPartial(name: string, context: unknown): string {
  const partial = partials[name];
  if (!partial) throw new Error(`no partial ${name}`);
  runtime.root = context;
  return partial(context, runtime);
}

/** Render the template templates/<name> with context. */
export function renderTemplate(name: string, context: unknown): string {
  const template = templates[name];
  if (!template) throw new Error(`no template ${name}`);
  runtime.root = context;
  const out = template(context, runtime);
  // A rendered file is a tree of thousands of concatenated pieces until
  // something reads it; searching it makes V8 flatten it now, so that the
  // pieces die young instead of being copied by every collection until the
  // files are written.
  out.indexOf("\0");
  return out;
}
