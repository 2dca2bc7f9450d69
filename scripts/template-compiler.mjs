// Compile the templates (Handlebars syntax) to plain JavaScript functions at
// build time. Handlebars' own parser reads them, with its whitespace rules
// (a block or partial tag alone on its line takes the line with it); this
// file turns that tree into straight-line code: a field is a property read,
// {{#if}} an if, {{#each}} a for loop. Handlebars' runtime calls a wrapped
// helper with an options object for every {{#if}} of every route, 40% of a
// 20,000-prefix render; this code does not, and the bundle no longer carries
// that runtime. The semantics kept are Handlebars' (strict mode, no
// escaping): an output field that is missing throws, a block's condition is
// false when falsy or an empty list, {{else}} of {{#each}} runs on an empty
// list, ../ is the context one {{#each}} out, a partial's hash is laid over
// its context, and a partial alone on an indented line is indented.
// Anything else in a template is refused at build time.
import Handlebars from "handlebars";

const BLOCKS = new Set(["if", "unless", "each"]);

/**
 * JavaScript source of a function (context, runtime) => string for one
 * template. runtime: s (strict field read), g (lenient field read), t (a
 * block's truth), H (the helpers), P (the partials), indent, refuse, root
 * (the context of the whole render). The reads refuse what Handlebars would
 * read otherwise (a function, an inherited property), the loops a list
 * with holes: a context must be plain data.
 * helpers: the names the engine defines.
 */
export function compileTemplate(source, name, helpers) {
  const ast = Handlebars.parse(source);
  let vars = 0;
  const fresh = (p) => `${p}${++vars}`;
  const fail = (node, what) => {
    const at = node.loc ? `${node.loc.start.line}:${node.loc.start.column + 1}` : "?";
    throw new Error(`templates/${name}:${at}: ${what}`);
  };

  /** scope: { contexts: [var names, innermost last], loops: [{ index, length, keys }] } */
  const contextAt = (scope, node, depth) => {
    const i = scope.contexts.length - 1 - depth;
    if (i < 0) fail(node, `${node.original}: no context ${depth} level(s) out`);
    return scope.contexts[i];
  };

  /** A value read leniently (a block's or helper's parameter, a partial's context). */
  const value = (node, scope) => {
    switch (node.type) {
      case "StringLiteral":
        return JSON.stringify(node.value);
      case "NumberLiteral":
      case "BooleanLiteral":
        return String(node.value);
      case "NullLiteral":
        return "null";
      case "UndefinedLiteral":
        return "undefined";
      case "SubExpression":
        return helperCall(node, scope);
      case "PathExpression":
        return path(node, scope, false);
      default:
        return fail(node, `${node.type} is not supported`);
    }
  };

  /** A path; strict: its last part must exist (an output field), as Handlebars' strict mode. */
  const path = (node, scope, strict) => {
    let base;
    let parts = node.parts;
    if (node.data) {
      const [head, ...rest] = parts;
      if (head === "root") base = "R.root";
      else {
        const loop = scope.loops[scope.loops.length - 1];
        if (!loop || rest.length > 0) fail(node, `@${parts.join(".")} is only supported as @index, @first, @last or @key inside {{#each}}`);
        if (head === "index") return loop.index;
        if (head === "first") return `(${loop.index} === 0)`;
        if (head === "last") return `(${loop.index} === ${loop.length} - 1)`;
        if (head === "key") return `(${loop.keys} ? ${loop.keys}[${loop.index}] : ${loop.index})`;
        fail(node, `@${head} is not supported`);
      }
      parts = rest;
    } else {
      base = contextAt(scope, node, node.depth);
    }
    if (parts.length === 0) return base;
    let code = base;
    const last = parts.length - 1;
    for (let i = 0; i < last; i++) code = `R.g(${code}, ${JSON.stringify(parts[i])})`;
    return `R.${strict ? "s" : "g"}(${code}, ${JSON.stringify(parts[last])})`;
  };

  const helperCall = (node, scope) => {
    const helper = node.path.original;
    if (node.path.type !== "PathExpression" || !helpers.includes(helper)) fail(node, `unknown helper ${helper} (the engine has ${helpers.join(", ")})`);
    if (node.hash) fail(node, `hash arguments to ${helper} are not supported`);
    return `R.H[${JSON.stringify(helper)}](${node.params.map((p) => value(p, scope)).join(", ")})`;
  };

  const program = (prog, scope, out) => (prog ? prog.body.map((s) => statement(s, scope, out)).join("") : "");

  const statement = (node, scope, out) => {
    switch (node.type) {
      case "ContentStatement":
        return node.value === "" ? "" : `${out} += ${JSON.stringify(node.value)};\n`;
      case "CommentStatement":
        return "";
      case "MustacheStatement": {
        if (!node.escaped) fail(node, "{{{ }}} is not needed: nothing is escaped");
        const v = fresh("v");
        const expr = node.params.length > 0 || node.hash ? helperCall(node, scope) : path(node.path, scope, true);
        return `const ${v} = ${expr};\nif (${v} != null) ${out} += ${v};\n`;
      }
      case "BlockStatement":
        return block(node, scope, out);
      case "PartialStatement": {
        if (node.name.type !== "PathExpression") fail(node, "a dynamic partial is not supported");
        if (node.params.length > 1) fail(node, "a partial takes one context at most");
        let context = node.params.length === 1 ? value(node.params[0], scope) : contextAt(scope, node, 0);
        if (node.hash) context = `Object.assign({}, ${context}, {${node.hash.pairs.map((p) => `${JSON.stringify(p.key)}: ${value(p.value, scope)}`).join(", ")}})`;
        const call = `R.P[${JSON.stringify(node.name.original)}](${context}, R)`;
        return `${out} += ${node.indent ? `R.indent(${call}, ${JSON.stringify(node.indent)})` : call};\n`;
      }
      default:
        return fail(node, `${node.type} is not supported`);
    }
  };

  const block = (node, scope, out) => {
    const helper = node.path.original;
    if (!BLOCKS.has(helper)) fail(node, `{{#${helper}}} is not supported (only ${[...BLOCKS].join(", ")})`);
    if (node.params.length !== 1 || node.hash) fail(node, `{{#${helper}}} takes one parameter`);
    if (node.program?.blockParams) fail(node, "block parameters are not supported");
    const param = value(node.params[0], scope);
    if (helper !== "each") {
      const test = helper === "if" ? `R.t(${param})` : `!R.t(${param})`;
      const inverse = program(node.inverse, scope, out);
      return `if (${test}) {\n${program(node.program, scope, out)}}${inverse ? ` else {\n${inverse}}` : ""}\n`;
    }
    const list = fresh("list");
    const keys = fresh("keys");
    const index = fresh("i");
    const length = fresh("n");
    const item = fresh("c");
    const inner = { contexts: [...scope.contexts, item], loops: [...scope.loops, { index, length, keys }] };
    // Handlebars' each: a list's items (an iterable's too), or an object's values by key; anything else has none.
    return (
      `{\nlet ${list} = ${param};\nlet ${keys} = null;\nlet ${length} = 0;\n` +
      `if (${list} !== null && typeof ${list} === "object") {\n` +
      `if (!Array.isArray(${list})) {\nif (typeof ${list}[Symbol.iterator] === "function") ${list} = Array.from(${list});\nelse ${keys} = Object.keys(${list});\n}\n` +
      `${length} = ${keys} ? ${keys}.length : ${list}.length;\n` +
      `for (let ${index} = 0; ${index} < ${length}; ${index}++) {\n` +
      `if (!${keys} && !(${index} in ${list})) R.refuse("a list with a hole at " + ${index});\n` +
      `const ${item} = ${keys} ? ${list}[${keys}[${index}]] : ${list}[${index}];\n` +
      `${program(node.program, inner, out)}}\n}\n` +
      (node.inverse ? `if (${length} === 0) {\n${program(node.inverse, scope, out)}}\n` : "") +
      `}\n`
    );
  };

  const body = program(ast, { contexts: ["c0"], loops: [] }, "o");
  return `function (c0, R) {\nlet o = "";\n${body}return o;\n}`;
}

/** The helper names a compiled template calls (for a check against the engine's). */
export function helpersCalled(code) {
  return [...new Set([...code.matchAll(/R\.H\["([^"]+)"\]/g)].map((m) => m[1]))].sort();
}
