// Parse the model with the yaml package, keeping positions so that every later
// error can name file, line and column. A model means what YAML 1.2's core
// schema says, whatever its length or layout: the one shortcut (long address
// lists, flow-lists.ts) stands only where it reads exactly that.
import { readFileSync } from "node:fs";
import { LineCounter, parseDocument, isMap, isSeq, isPair, isScalar, visit, type Node, type Document, type YAMLError, type YAMLSeq } from "yaml";
import { ModelError, formatPath, unreadable, type SourcePos, type ModelIssue } from "../errors.js";
import { cutFlowLists, cutHolds, cutItemOffset, cutListOf, type Cut } from "./flow-lists.js";

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

export function parseModelText(text: string, file: string): LoadedModel {
  const cut = cutFlowLists(text);
  return (cut && readModel(text, file, cut)) || readModel(text, file)!;
}

/** The model read by the yaml package alone, without the shortcut (for the differential test). */
export function packageModel(text: string, file: string): LoadedModel {
  return readModel(text, file)!;
}

/** Offset to line and column in text; the line table is made on the first call (only an error or a warning needs one). */
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

/**
 * The model read by the yaml package; with a cut, from the text with its
 * lists cut out, or undefined when YAML does not read that text as the cut
 * assumed (or finds an error in it: the whole text says where).
 */
function readModel(text: string, file: string, cut?: Cut): LoadedModel | undefined {
  const parsed = cut ? cut.text : text;
  const doc = parseDocument(parsed, { prettyErrors: false, uniqueKeys: true });
  if (cut && (doc.errors.length > 0 || !cutHolds(doc, cut))) return undefined;
  // a cut keeps every line, and every column up to each list's "[": a node's line and column are the same in both texts
  const toPos = positionsIn(parsed);
  const originalPos = cut ? positionsIn(text) : toPos;
  if (doc.errors.length > 0) {
    const { offset, message } = firstMistake(doc.errors, parsed);
    throw new ModelError([{ file, pos: toPos(offset), path: "", message: `YAML syntax: ${message}` }], text);
  }
  const cutItem = (seq: YAMLSeq, i: number): SourcePos | undefined => {
    const list = cut && seq.items.length === 1 && isScalar(seq.items[0]) ? cutListOf(cut, [seq.items[0].value]) : undefined;
    return list && i < list.items.length ? originalPos(cutItemOffset(text, list, i)) : undefined;
  };
  const locate = (path: readonly PathSeg[], at: "value" | "key" = "value"): SourcePos => {
    const found = findOffset(doc, path, at, cutItem);
    return typeof found === "number" ? toPos(found) : found;
  };
  let data: unknown;
  try {
    // each list cut out goes back where its marker is
    const reviver = cut ? (_key: unknown, value: unknown) => cutListOf(cut, value)?.items ?? value : undefined;
    data = doc.toJS({ maxAliasCount: 100, reviver });
  } catch (err) {
    // Aliases are resolved only here: an unknown anchor, or an alias bomb.
    if (cut) return undefined;
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

/**
 * The first YAML mistake, once, at the line to fix: what follows one mistake
 * is mostly its echo (a tab gives a handful of errors for the lines after
 * it). A key indented deeper than the one above reads as the rest of that
 * key's value, and YAML reports it where that value starts: it is the line of
 * the colon that needs fixing.
 */
function firstMistake(errors: readonly YAMLError[], text: string): { offset: number; message: string } {
  const [first] = errors;
  const multiline = errors.find((e) => e.code === "MULTILINE_IMPLICIT_KEY" && e.pos[0] === first.pos[0]);
  if (multiline) {
    let at = text.lastIndexOf("\n", multiline.pos[1] - 1) + 1;
    while (text[at] === " ") at++;
    const above = text.slice(0, first.pos[0]).split("\n").length;
    return { offset: at, message: `this line is indented deeper than the key on line ${above}, so YAML reads it as the rest of that key's value; indent it as that key` };
  }
  return { offset: first.pos[0], message: firstLine(first.message) };
}

function firstLine(msg: string): string {
  return msg.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
}

/** The offset of the node at path in the parsed text (an item of a list cut out: in the original), or of its nearest ancestor. */
function findOffset(doc: Document, path: readonly PathSeg[], at: "value" | "key", cutItem: (seq: YAMLSeq, i: number) => SourcePos | undefined): number | SourcePos {
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
      const cutAt = cutItem(node, seg);
      if (cutAt !== undefined) return cutAt;
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
