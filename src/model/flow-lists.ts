// Long one-line destination lists, read without a YAML node per item.
//
// A model with 20,000 inline prefixes spends most of its load building the
// yaml package's tree for them: about 300 ms of a cold run, more than
// netplan takes for the whole render. Such a list is cut out of the text and
// read here only where YAML 1.2 reads it the same way, item for item:
//
// - the line is printable ASCII and spaces only (no tab, no Unicode space,
//   which YAML keeps in a plain scalar where trim() would not), and the model
//   has no directive (YAML 1.1 reads 1:2:3 as a number) and no byte order
//   mark (which may stand before one);
// - every item is an IPv4 or IPv6 address or prefix that does not end in ':'
//   (YAML reads such an item as a key), so YAML reads it as a plain string;
// - the items are separated by single commas, a trailing comma allowed.
//
// The text is then parsed with a marker in place of each list, and the cut
// stands only if YAML reads every marker as the one item of the value of a
// `destinations` key and nowhere else (not inside a block scalar, a quoted
// string, a comment-like line of another construct); otherwise, and on any
// YAML error, the model is read whole by the package. A seeded differential
// test (test/unit/flow-lists.test.ts) holds it to the package's data,
// messages and positions.
import { isMap, isPair, isScalar, isSeq, visit, Scalar, type Document } from "yaml";

const ADDRESS_ITEM = /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]*:[0-9A-Fa-f:.]*)(?:\/\d{1,3})?$/;
const FLOW_DESTINATIONS = /^( *(?:- +)?destinations: +)\[([^\]\n]*)\]( *(?:#.*)?)$/gm;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
export const MIN_CUT_LENGTH = 512;
const MARKER_PREFIX = "__gen_hooks_list_";
const marker = (n: number) => `${MARKER_PREFIX}${n}__`;

export interface CutList {
  /** offset of "[" in the original text */
  open: number;
  items: string[];
}

export interface Cut {
  text: string;
  lists: Map<string, CutList>;
}

/** The text with each long address list replaced by a marker, or undefined when none can be. */
export function cutFlowLists(text: string): Cut | undefined {
  if (!text.includes("destinations: ") || text.includes(MARKER_PREFIX) || text.includes("\ufeff") || /^%/m.test(text)) return undefined;
  const lists = new Map<string, CutList>();
  const out = text.replace(FLOW_DESTINATIONS, (whole, head: string, body: string, tail: string, offset: number) => {
    if (body.length < MIN_CUT_LENGTH || !PRINTABLE_ASCII.test(whole)) return whole;
    const items = body.split(",").map((i) => i.trim()); // spaces only: the line is ASCII without tabs
    if (items.length > 1 && items[items.length - 1] === "") items.pop(); // a trailing comma
    if (!items.every((i) => ADDRESS_ITEM.test(i) && !i.endsWith(":"))) return whole;
    const m = marker(lists.size);
    lists.set(m, { open: offset + head.length, items });
    return `${head}[${m}]${tail}`;
  });
  return lists.size > 0 ? { text: out, lists } : undefined;
}

/** Whether YAML read every marker of the cut as the one plain item of a `destinations` value, and nowhere else. */
export function cutHolds(doc: Document, cut: Cut): boolean {
  let markers = 0;
  let holding = 0;
  visit(doc, {
    Scalar(_, node, path) {
      if (typeof node.value !== "string" || !node.value.includes(MARKER_PREFIX)) return;
      markers++;
      const seq = path[path.length - 1];
      const pair = path[path.length - 2];
      if (
        cut.lists.has(node.value) &&
        node.type === Scalar.PLAIN &&
        isSeq(seq) &&
        seq.flow === true &&
        seq.items.length === 1 &&
        isPair(pair) &&
        pair.value === seq &&
        isScalar(pair.key) &&
        pair.key.type === Scalar.PLAIN &&
        pair.key.value === "destinations" &&
        isMap(path[path.length - 3])
      )
        holding++;
    },
  });
  return markers === cut.lists.size && holding === markers;
}

/** The list a sequence stands for, if it is a marker of the cut. */
export function cutListOf(cut: Cut, value: unknown): CutList | undefined {
  return Array.isArray(value) && value.length === 1 && typeof value[0] === "string" ? cut.lists.get(value[0]) : undefined;
}

/** Offset in the original text of item i of a list that was cut (only for messages). */
export function cutItemOffset(original: string, list: CutList, i: number): number {
  let at = list.open + 1;
  for (let k = 0; k < i; k++) at = original.indexOf(",", at) + 1;
  while (original[at] === " ") at++;
  return at;
}
