// Prefix lists: text files of one prefix (or address) a line, as country,
// cloud-provider and VPN split-tunnel ranges are published. They are read
// without YAML, line by line: lists run to hundreds of thousands of lines.
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { clip, parsePrefix } from "./addr.js";
import { unreadable, type ModelIssue } from "../errors.js";
import type { Family, Prefix } from "./types.js";

/** A list path as written in the model: relative ones are taken from the model's folder. */
export function listPath(modelFile: string, written: string): string {
  return isAbsolute(written) ? written : resolve(dirname(modelFile), written);
}

export interface ListContext {
  /** How the list is named in messages: its path as written, from the model's folder. */
  shown: string;
  /** The key path, for messages: uplinks[0].destination-lists[1] */
  key: string;
  /** Families the uplink can route: a prefix of another family is an error. */
  routable: (f: Family) => boolean;
  maxIssues: number;
}

/**
 * The prefixes of one list, in file order; problems go to issues with the
 * list's own file, line and column.
 */
export function parsePrefixList(text: string, ctx: ListContext, issues: ModelIssue[]): Prefix[] {
  const out: Prefix[] = [];
  const start = issues.length;
  let current = "";
  const add = (line: number, col: number, message: string) => {
    if (issues.length - start < ctx.maxIssues) issues.push({ file: ctx.shown, pos: { line, col }, path: ctx.key, message, source: current.replace(/\r$/, "") });
  };
  let lineNo = 0;
  let pos = 0;
  while (pos <= text.length) {
    let end = text.indexOf("\n", pos);
    if (end < 0) end = text.length;
    lineNo++;
    let line = text.slice(pos, end);
    current = line;
    pos = end + 1;
    const hash = line.indexOf("#");
    if (hash >= 0) line = line.slice(0, hash);
    if (line.endsWith("\r")) line = line.slice(0, -1);
    const token = line.trim();
    if (token === "") continue;
    const col = line.indexOf(token) + 1;
    if (/\s/.test(token)) {
      add(lineNo, col, `'${clip(token)}' is more than one word; a list holds one prefix a line ('#' starts a comment)`);
      continue;
    }
    const p = parsePrefix(token);
    if (typeof p === "string") add(lineNo, col, p);
    else if (!ctx.routable(p.family)) add(lineNo, col, `IPv${p.family} destination ${p.text} but the uplink has no IPv${p.family} address and gateway`);
    else out.push(p);
  }
  return out;
}

/** A list file's text, or why it cannot be read (reported at the model's key). */
export function readListText(path: string): string | { error: string } {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    return { error: unreadable(err) };
  }
}
