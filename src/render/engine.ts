// Render a template compiled at build time (scripts/template-compiler.mjs):
// Handlebars syntax and semantics, strict (a missing output field throws),
// nothing escaped (config, not HTML).
import { partials, templates } from "./templates.generated.js";
import { helpers } from "./helpers.js";

/** What a compiled template calls; root is the context of the whole render (@root). */
export interface Runtime {
  s: (obj: unknown, name: string) => unknown;
  t: (value: unknown) => boolean;
  H: typeof helpers;
  P: Record<string, Template>;
  indent: (text: string, indent: string) => string;
  root: unknown;
}

export type Template = (context: unknown, runtime: Runtime) => string;

/** The runtime of templates with these partials (the build's, or a test's). */
export function runtimeWith(partialTemplates: Record<string, Template>): Runtime {
  return {
    s(obj, name) {
      if (!obj || !(name in (obj as object))) throw new Error(`template: "${name}" not defined in ${String(obj)}`);
      return (obj as Record<string, unknown>)[name];
    },
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
