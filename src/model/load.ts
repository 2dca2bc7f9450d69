// Parse the model with the yaml package, keeping positions so that every later
// error can name file, line and column.
import { readFileSync } from "node:fs";
import { LineCounter, parseDocument, isMap, isSeq, isPair, isScalar, visit, type Node, type Document } from "yaml";
import { ModelError, formatPath, type SourcePos, type ModelIssue } from "../errors.js";

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
    const code = (err as NodeJS.ErrnoException).code ?? "";
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : (err as Error).message;
    throw new ModelError([{ file, pos: { line: 1, col: 1 }, path: "", message: `cannot read the model: ${why}` }]);
  }
  return parseModelText(text, file);
}

export function parseModelText(text: string, file: string): LoadedModel {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
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
  const locate = (path: readonly PathSeg[], at: "value" | "key" = "value"): SourcePos =>
    toPos(findOffset(doc, path, at));
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
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

function findOffset(doc: Document, path: readonly PathSeg[], at: "value" | "key"): number {
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
