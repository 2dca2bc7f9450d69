// A reader for the YAML that models are written in: block maps and
// sequences, one-line flow collections, plain and quoted one-line scalars,
// comments. It is what a model needs at start-up and at scale (the yaml
// package's parser costs 4 ms on the example model and 20 ms on 20,000
// inline prefixes, most of it code run once). Anything else (anchors, tags,
// block scalars, multi-line scalars or flows, escapes, directives, a
// duplicate key, any doubt) returns undefined and the yaml package reads the
// file, so the data and every position are the same as that package's.

/** Where a node starts (its range start in the yaml package), its key's start in a map, and its children. */
export interface Located {
  at: number;
  keyAt?: number;
  map?: Map<string, Located>;
  seq?: Located[];
}

export interface SubsetDocument {
  data: unknown;
  root: Located;
}

/** Thrown inside the reader for anything outside the subset; never escapes it. */
class NotSubset {}
const OUT = new NotSubset();
const out = (): never => {
  throw OUT;
};

interface Line {
  /** offset of the line's first character */
  start: number;
  /** offset after the line's last character (before "\n") */
  end: number;
  /** offset of the first non-space character */
  content: number;
}

export function readSubset(text: string): SubsetDocument | undefined {
  if (/[\t\r\uFEFF]/.test(text)) return undefined;
  try {
    return new Reader(text).document();
  } catch (e) {
    if (e === OUT) return undefined;
    throw e;
  }
}

// The yaml package's core schema (YAML 1.2): a plain scalar matching one of
// these is not a string. Integers past 2^53, signed or zero-led ones, .inf
// and .nan are left to the package.
const NULL = /^(?:~|[Nn]ull|NULL)$/;
const TRUE = /^(?:[Tt]rue|TRUE)$/;
const FALSE = /^(?:[Ff]alse|FALSE)$/;
const DECIMAL = /^-?(?:0|[1-9][0-9]*)$/;
const HEX = /^0x[0-9a-fA-F]+$/;
const OCTAL = /^0o[0-7]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*|(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+)$/;
const OTHER_NUMBER = /^(?:[-+]?[0-9]+|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;

// Characters of those words and numbers; a scalar with any other is a string.
const NOT_SPECIAL = /[^0-9a-fA-FxoOeEiInNuUlLtTrRsS.+~-]/;

function plainValue(s: string): unknown {
  if (NOT_SPECIAL.test(s)) return s;
  const c = s.charCodeAt(0);
  // Only these can start a non-string: digits, + - . ~ and the first letters of null, true, false.
  if (!((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46 || c === 126 || c === 110 || c === 78 || c === 116 || c === 84 || c === 102 || c === 70)) return s;
  if (NULL.test(s)) return null;
  if (TRUE.test(s)) return true;
  if (FALSE.test(s)) return false;
  let n: number | undefined;
  if (DECIMAL.test(s)) n = s === "-0" ? undefined : Number(s);
  else if (HEX.test(s)) n = parseInt(s.slice(2), 16);
  else if (OCTAL.test(s)) n = parseInt(s.slice(2), 8);
  else if (FLOAT.test(s)) return parseFloat(s);
  else if (OTHER_NUMBER.test(s)) out();
  else return s;
  return n !== undefined && Number.isSafeInteger(n) ? n : out();
}

// A plain scalar may not start with an indicator; "-", "?" and ":" only before a non-space.
const INDICATOR = new Set([..."-?:,[]{}#&*!|>'\"%@`"]);

class Reader {
  private readonly lines: Line[] = [];
  private li = 0;

  constructor(private readonly text: string) {
    let start = 0;
    while (start <= text.length) {
      let end = text.indexOf("\n", start);
      if (end < 0) end = text.length;
      let content = start;
      while (content < end && text.charCodeAt(content) === 32) content++;
      // blank lines and comment lines carry nothing
      if (content < end && text.charCodeAt(content) !== 35) this.lines.push({ start, end, content });
      start = end + 1;
    }
  }

  document(): SubsetDocument {
    const first = this.lines[0];
    if (!first || first.content !== first.start) out();
    const c = this.text.charCodeAt(first.start);
    if (c === 37 /* % */ || this.text.startsWith("---", first.start) || this.text.startsWith("...", first.start)) out();
    const node = this.block(first.start, 0);
    if (this.li < this.lines.length) out();
    return node;
  }

  /** The block node whose first line is the current one, starting at offset at (column col). */
  private block(at: number, col: number): SubsetDocument {
    return this.isDash(at) ? this.sequence(at, col) : this.mapping(at, col);
  }

  private skipSpaces(p: number, end: number): number {
    while (p < end && this.text.charCodeAt(p) === 32) p++;
    return p;
  }

  /** Nothing but a comment from p (just past spaces) to the line's end. */
  private nothingFrom(p: number, end: number): boolean {
    return p === end || this.text.charCodeAt(p) === 35;
  }

  private isDash(at: number): boolean {
    const t = this.text;
    return t.charCodeAt(at) === 45 && (at + 1 === this.lines[this.li].end || t.charCodeAt(at + 1) === 32);
  }

  private sequence(at: number, col: number): SubsetDocument {
    const data: unknown[] = [];
    const seq: Located[] = [];
    let dash = at;
    for (;;) {
      const line = this.lines[this.li];
      const p = this.skipSpaces(dash + 1, line.end);
      let item: SubsetDocument;
      if (this.nothingFrom(p, line.end)) {
        // "-" alone: the item is the block on the next lines, further in
        this.li++;
        const next = this.lines[this.li];
        if (!next || next.content - next.start <= col) out();
        item = this.block(next.content, next.content - next.start);
      } else if (this.isDash(p) || this.text.charCodeAt(p) === 63 /* ? */) {
        item = out();
      } else if (this.keyEnd(p, line.end) >= 0) {
        item = this.mapping(p, p - line.start);
      } else {
        item = this.inline(p, line.end);
        this.li++;
      }
      data.push(item.data);
      seq.push(item.root);
      const next = this.lines[this.li];
      if (!next) break;
      const indent = next.content - next.start;
      if (indent > col) out(); // a continuation, or an error: the yaml package says which
      if (indent < col || !this.isDash(next.content)) break;
      dash = next.content;
    }
    return { data, root: { at, seq } };
  }

  /** Offset of the ":" ending a plain or quoted key at p, or -1 when the line holds no key there. */
  private keyEnd(p: number, end: number): number {
    const t = this.text;
    const q = t.charCodeAt(p);
    if (q === 34 || q === 39) {
      const close = t.indexOf(String.fromCharCode(q), p + 1);
      if (close < 0 || close >= end) return -1;
      return t.charCodeAt(close + 1) === 58 && (close + 2 === end || t.charCodeAt(close + 2) === 32) ? close + 1 : -1;
    }
    for (let i = p; i < end; i++) {
      const c = t.charCodeAt(i);
      if (c === 58 /* : */ && (i + 1 === end || t.charCodeAt(i + 1) === 32)) return i;
      if (c === 35 /* # */ && t.charCodeAt(i - 1) === 32) return -1;
    }
    return -1;
  }

  private mapping(at: number, col: number): SubsetDocument {
    const data: Record<string, unknown> = {};
    const map = new Map<string, Located>();
    let p = at;
    for (;;) {
      const line = this.lines[this.li];
      const colon = this.keyEnd(p, line.end);
      if (colon < 0) out();
      const key = this.key(p, colon);
      if (map.has(key)) out(); // the yaml package names the duplicate
      const v = this.skipSpaces(colon + 1, line.end);
      let value: SubsetDocument;
      if (this.nothingFrom(v, line.end)) {
        this.li++;
        const next = this.lines[this.li];
        if (!next) out(); // an empty value: the yaml package places its null
        const indent = next.content - next.start;
        if (indent > col) value = this.block(next.content, indent);
        else if (indent === col && this.isDash(next.content)) value = this.sequence(next.content, col);
        else value = out();
      } else {
        value = this.inline(v, line.end);
        this.li++;
      }
      data[key] = value.data;
      map.set(key, { ...value.root, keyAt: p });
      const next = this.lines[this.li];
      if (!next) break;
      const indent = next.content - next.start;
      if (indent > col) out();
      if (indent < col) break;
      p = next.content;
      if (this.isDash(p)) break; // a sequence at the parent's column
    }
    return { data, root: { at, map } };
  }

  private key(p: number, colon: number): string {
    const t = this.text;
    const q = t.charCodeAt(p);
    let key: string;
    if (q === 34 || q === 39) key = quotedAt(this.text, p, colon).value;
    else {
      key = t.slice(p, colon).trimEnd();
      if (INDICATOR.has(key[0]) || typeof plainValue(key) !== "string" || key.includes(": ") || key.includes(" #")) out();
    }
    if (key === "__proto__" || key === "<<") out();
    return key;
  }

  /** A value that ends on its line: a flow collection or a scalar, then spaces and a comment at most. */
  private inline(p: number, end: number): SubsetDocument {
    const t = this.text;
    const c = t.charCodeAt(p);
    let node: SubsetDocument;
    let after: number;
    if (c === 91 /* [ */ || c === 123 /* { */) {
      const flow = new Flow(t, p, end);
      node = flow.node();
      after = flow.p;
    } else if (c === 34 || c === 39) {
      const q = quotedAt(t, p, end);
      node = { data: q.value, root: { at: p } };
      after = q.after;
    } else {
      if (INDICATOR.has(t[p]) && !(t[p] === "-" || t[p] === "?" || t[p] === ":")) out();
      let e = p;
      while (e < end && !(t.charCodeAt(e) === 35 && t.charCodeAt(e - 1) === 32)) e++;
      const s = t.slice(p, e).trimEnd();
      if (s.includes(": ") || s.endsWith(":") || /^[-?:](?: |$)/.test(s)) out();
      return { data: plainValue(s), root: { at: p } };
    }
    while (after < end && t.charCodeAt(after) === 32) after++;
    if (after < end && (t.charCodeAt(after) !== 35 || t.charCodeAt(after - 1) !== 32)) out();
    return node;
  }
}

/** A quoted scalar on one line without escapes ('' in single quotes is one). */
function quotedAt(t: string, p: number, end: number): { value: string; after: number } {
  const q = t[p];
  if (q === '"') {
    const close = t.indexOf('"', p + 1);
    if (close < 0 || close >= end) out();
    const value = t.slice(p + 1, close);
    if (value.includes("\\")) out();
    return { value, after: close + 1 };
  }
  let value = "";
  let i = p + 1;
  for (;;) {
    const close = t.indexOf("'", i);
    if (close < 0 || close >= end) out();
    value += t.slice(i, close);
    if (t[close + 1] !== "'") return { value, after: close + 1 };
    value += "'";
    i = close + 2;
  }
}

const SIMPLE_ITEM = /^[0-9A-Za-z][0-9A-Za-z._/:-]*$/;

/** One flow collection, closed on its line. */
class Flow {
  p: number;
  constructor(
    private readonly t: string,
    start: number,
    private readonly end: number,
  ) {
    this.p = start;
  }

  node(): SubsetDocument {
    const t = this.t;
    const at = this.p;
    if (t[at] === "[") {
      const list = this.simpleSequence();
      if (list) return list;
    }
    const map = t[at] === "{";
    const close = map ? "}" : "]";
    this.p++;
    const data: unknown = map ? {} : [];
    const located: Located = map ? { at, map: new Map() } : { at, seq: [] };
    for (;;) {
      this.spaces();
      if (t[this.p] === close) break;
      if (map) {
        const keyAt = this.p;
        const key = this.scalar();
        if (typeof key.data !== "string" || key.data === "__proto__" || key.data === "<<" || located.map!.has(key.data)) out();
        if (t[this.p] !== ":") out();
        this.p++;
        this.spaces();
        if (t[this.p] === "," || t[this.p] === "}") out(); // an empty value
        const value = this.item();
        (data as Record<string, unknown>)[key.data as string] = value.data;
        located.map!.set(key.data as string, { ...value.root, keyAt });
      } else {
        const value = this.item();
        if (t[this.p] === ":") out(); // a pair in a sequence
        (data as unknown[]).push(value.data);
        located.seq!.push(value.root);
      }
      this.spaces();
      if (t[this.p] === ",") {
        this.p++;
        continue;
      }
      if (t[this.p] !== close) out();
      break;
    }
    this.p++;
    if (this.p > this.end) out();
    return { data, root: located };
  }

  /**
   * A sequence of plain words (addresses, prefixes, names) read by commas,
   * as the long destination lists are; undefined when an item is anything
   * else (the general reader then takes the sequence).
   */
  private simpleSequence(): SubsetDocument | undefined {
    const t = this.t;
    const open = this.p;
    const close = t.indexOf("]", open);
    if (close < 0 || close >= this.end) return undefined;
    const data: unknown[] = [];
    const seq: Located[] = [];
    for (let i = open + 1; ; ) {
      let comma = t.indexOf(",", i);
      if (comma < 0 || comma > close) comma = close;
      let a = i;
      while (t.charCodeAt(a) === 32) a++;
      let b = comma;
      while (b > a && t.charCodeAt(b - 1) === 32) b--;
      if (a === b) {
        // "[]", or one trailing comma: "[a, b, ]"
        if (comma === close && (data.length > 0 || i === open + 1)) break;
        return undefined;
      }
      const item = t.slice(a, b);
      if (!SIMPLE_ITEM.test(item) || item.endsWith(":")) return undefined;
      data.push(plainValue(item));
      seq.push({ at: a });
      if (comma === close) break;
      i = comma + 1;
    }
    this.p = close + 1;
    return { data, root: { at: open, seq } };
  }

  private spaces(): void {
    while (this.p < this.end && this.t.charCodeAt(this.p) === 32) this.p++;
    if (this.p >= this.end) out(); // the flow goes on on the next line
  }

  private item(): SubsetDocument {
    const c = this.t[this.p];
    if (c === "[" || c === "{") return this.node();
    return this.scalar();
  }

  private scalar(): SubsetDocument {
    const t = this.t;
    const at = this.p;
    const c = t[at];
    if (c === '"' || c === "'") {
      const q = quotedAt(t, at, this.end);
      this.p = q.after;
      this.spaces();
      return { data: q.value, root: { at } };
    }
    if (INDICATOR.has(c)) out();
    let i = at;
    for (; i < this.end; i++) {
      const ch = t.charCodeAt(i);
      if (ch === 44 || ch === 91 || ch === 93 || ch === 123 || ch === 125) break;
      if (ch === 58 /* : */) {
        const n = t.charCodeAt(i + 1);
        if (n === 32 || n === 44 || n === 93 || n === 125) break;
      }
      if (ch === 35 && t.charCodeAt(i - 1) === 32) out(); // a comment inside the flow
    }
    this.p = i;
    const s = t.slice(at, i).trimEnd();
    if (s.length === 0) out();
    return { data: plainValue(s), root: { at } };
  }
}
