// Typed failures: the CLI maps each to an exit code and one message, never a stack trace.

export interface SourcePos {
  line: number; // 1-based
  col: number; // 1-based
}

export interface ModelIssue {
  file: string;
  pos: SourcePos;
  path: string; // uplinks[1].gateway; "" for the document
  message: string;
  /** The offending line, when it is not in the model's own text (a prefix list). */
  source?: string;
}

/** Bad model: exit 2, every issue printed as file:line:col: path: message. */
export class ModelError extends Error {
  constructor(
    readonly issues: ModelIssue[],
    readonly sourceText = "",
  ) {
    super(issues.map(formatIssue).join("\n"));
  }

  /** Messages with the offending line and a caret under the column, as netplan does. */
  render(): string {
    const lines = this.sourceText.split("\n");
    return this.issues
      .map((issue) => {
        const head = formatIssue(issue);
        const src = issue.source ?? lines[issue.pos.line - 1];
        if (src === undefined || src.trim() === "") return head;
        const { text, caret } = window(src, issue.pos.col - 1);
        return `${head}\n  ${text}\n  ${" ".repeat(caret)}^`;
      })
      .join("\n");
  }
}

/** At most about 100 characters of a source line around the column (a value can be megabytes). */
function window(line: string, col: number): { text: string; caret: number } {
  if (line.length <= 100) return { text: line, caret: col };
  const start = Math.max(0, col - 40);
  const end = Math.min(line.length, start + 100);
  const head = start > 0 ? "..." : "";
  return { text: `${head}${line.slice(start, end)}${end < line.length ? "..." : ""}`, caret: col - start + head.length };
}

/** Why a file could not be read, in words (the model, a prefix list). */
export function unreadable(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code ?? "";
  return code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : code === "EACCES" ? "permission denied" : (err as Error).message;
}

/** Bad command line: exit 2. */
export class UsageError extends Error {}

export function formatIssue(issue: ModelIssue): string {
  const where = `${issue.file}:${issue.pos.line}:${issue.pos.col}`;
  return issue.path ? `${where}: ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

export function formatPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out ? `.${seg}` : seg;
  }
  return out;
}
