// Parse the model with the yaml package, keeping positions so that every later
// error can name file, line and column.
import { readFileSync } from "node:fs";
import { LineCounter, parseDocument, isMap, isSeq, isPair, isScalar, visit, type Node, type Document, type YAMLSeq } from "yaml";
import { ModelError, formatPath, unreadable, type SourcePos, type ModelIssue } from "../errors.js";
import { readSubset, type Located, type SubsetDocument } from "./yaml-subset.js";

export type PathSeg = string | number;

export interface LoadedModel {
  file: string;
  text: string;
  data: unknown;
  /** Position of the value at path (or of its key with at: "key"); falls back to the nearest ancestor. */
  locate(path: readonly PathSeg[], at?: "value" | "key"): SourcePos;
  /** Build an issue located at path. */
  issue(path: readonly PathSeg[], message: string, at?: "value" | "key"): ModelIssue;
}

export function loadModelFile(file: string): LoadedModel {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ModelError([{ file, pos: { line: 1, col: 1 }, path: "", message: `cannot read the model: ${unreadable(err)}` }]);
  }
  return parseModelText(text, file);
}

// A long one-line flow list of destinations, every item an IPv4 or IPv6
// address or prefix as a plain scalar: YAML would read each as the same
// string, so it is split here instead of building a YAML node per item.
const ADDRESS_ITEM = /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]*:[0-9A-Fa-f:.]*)(?:\/\d{1,3})?$/;
const FLOW_DESTINATIONS = /^(\s*(?:-\s+)?destinations:[ \t]*)\[([^\]\n]*)\]([ \t]*(?:#.*)?)$/gm;
const MIN_FAST_LENGTH = 512;
const marker = (n: number) => `__gen_hooks_list_${n}__`;

interface FastList {
  /** offset of "[" in the text */
  open: number;
  items: string[];
}

/**
 * The text with each long address list replaced by a marker, and the lists
 * taken out. A list is on one line, so every line keeps its number; an item's
 * own position is worked out from the original text.
 */
function extractAddressLists(text: string): { text: string; lists: FastList[] } {
  const lists: FastList[] = [];
  if (/^%YAML/m.test(text)) return { text, lists }; // YAML 1.1 reads some of these as numbers
  const out = text.replace(FLOW_DESTINATIONS, (whole, head: string, body: string, tail: string, offset: number) => {
    if (body.length < MIN_FAST_LENGTH) return whole;
    const items = body.split(",").map((i) => i.trim());
    if (items.length > 0 && items[items.length - 1] === "") items.pop(); // a trailing comma
    if (!items.every((i) => ADDRESS_ITEM.test(i))) return whole;
    const m = marker(lists.length);
    lists.push({ open: offset + head.length, items });
    return `${head}[${m}]${tail}`;
  });
  return { text: out, lists };
}

/** Offset of item i of a list taken out by extractAddressLists (only for messages). */
function fastItemOffset(original: string, list: FastList, i: number): number {
  let at = list.open + 1;
  for (let k = 0; k < i; k++) at = original.indexOf(",", at) + 1;
  while (original[at] === " " || original[at] === "\t") at++;
  return at;
}

export function parseModelText(text: string, file: string): LoadedModel {
  const subset = readSubset(text);
  return subset ? subsetModel(text, file, subset) : packageModel(text, file);
}

/** Line and column of an offset in text; the line table is made on the first call (only an error or a warning needs one). */
function positionsIn(text: string): (offset: number) => SourcePos {
  let lines: LineCounter | undefined;
  return (offset) => {
    if (!lines) {
      lines = new LineCounter();
      lines.addNewLine(0);
      for (let at = text.indexOf("\n"); at >= 0; at = text.indexOf("\n", at + 1)) lines.addNewLine(at + 1);
    }
    const p = lines.linePos(offset);
    return { line: p.line, col: p.col };
  };
}

/** A model in the subset yaml-subset.ts reads: its positions are the yaml package's (see findOffset). */
function subsetModel(text: string, file: string, doc: SubsetDocument): LoadedModel {
  const toPos = positionsIn(text);
  const locate = (path: readonly PathSeg[], at: "value" | "key" = "value"): SourcePos => {
    let node: Located = doc.root;
    let best = node.at;
    for (let i = 0; i < path.length; i++) {
      const child = node.map ? node.map.get(String(path[i])) : node.seq && typeof path[i] === "number" ? node.seq[path[i] as number] : undefined;
      if (!child) break;
      if (i === path.length - 1 && at === "key" && node.map) {
        best = child.keyAt!;
        break;
      }
      node = child;
      best = child.at;
    }
    return toPos(best);
  };
  return { file, text, data: doc.data, locate, issue: (path, message, at) => ({ file, pos: locate(path, at), path: formatPath(path), message }) };
}

/** Any other YAML, read by the yaml package. */
export function packageModel(text: string, file: string): LoadedModel {
  const lineCounter = new LineCounter();
  const fast = extractAddressLists(text);
  const doc = parseDocument(fast.text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const fastByMarker = new Map(fast.lists.map((l, n) => [marker(n), l]));
  const toPos = (offset: number): SourcePos => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, col: p.col };
  };
  if (doc.errors.length > 0) {
    throw new ModelError(
      doc.errors.slice(0, 20).map((e) => ({
        file,
        pos: toPos(e.pos[0]),
        path: "",
        message: `YAML syntax: ${firstLine(e.message)}`,
      })),
      text,
    );
  }
  const originalPos = positionsIn(text);
  const locate = (path: readonly PathSeg[], at: "value" | "key" = "value"): SourcePos => {
    const found = findOffset(doc, path, at, (seq, i) => {
      const only = seq.items.length === 1 && isScalar(seq.items[0]) ? fastByMarker.get(String(seq.items[0].value)) : undefined;
      return only && i < only.items.length ? originalPos(fastItemOffset(text, only, i)) : undefined;
    });
    return typeof found === "number" ? toPos(found) : found;
  };
  let data: unknown;
  try {
    // The lists taken out go back in where their marker is.
    const reviver = fast.lists.length === 0 ? undefined : (_key: unknown, value: unknown) => (Array.isArray(value) && value.length === 1 && fastByMarker.has(value[0]) ? fastByMarker.get(value[0])!.items : value);
    data = doc.toJS({ maxAliasCount: 100, reviver });
  } catch (err) {
    // Aliases are resolved only here: an unknown anchor, or an alias bomb.
    let offset = 0;
    visit(doc, {
      Alias(_, node) {
        if (node.resolve(doc) === undefined && node.range) {
          offset = node.range[0];
          return visit.BREAK;
        }
      },
    });
    throw new ModelError([{ file, pos: toPos(offset), path: "", message: `YAML: ${firstLine((err as Error).message)}` }], text);
  }
  return {
    file,
    text,
    data,
    locate,
    issue: (path, message, at) => ({ file, pos: locate(path, at), path: formatPath(path), message }),
  };
}

function firstLine(msg: string): string {
  return msg.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
}

/** The offset of the node at path in the parsed text, or the position of an item of a list taken out. */
function findOffset(doc: Document, path: readonly PathSeg[], at: "value" | "key", fastItem: (seq: YAMLSeq, i: number) => SourcePos | undefined): number | SourcePos {
  let node: unknown = doc.contents;
  let best = rangeStart(node) ?? 0;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return best;
      if (last && at === "key") return rangeStart(pair.key) ?? best;
      node = pair.value;
      best = rangeStart(node) ?? rangeStart(pair.key) ?? best;
    } else if (isSeq(node) && typeof seg === "number") {
      const fastAt = fastItem(node, seg);
      if (fastAt !== undefined) return fastAt;
      node = node.items[seg];
      if (node === undefined) return best;
      best = rangeStart(node) ?? best;
    } else {
      return best;
    }
  }
  return best;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null)?.range;
  return range ? range[0] : undefined;
}
