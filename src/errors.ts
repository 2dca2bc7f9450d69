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
        return `${head}\n  ${src}\n  ${" ".repeat(issue.pos.col - 1)}^`;
      })
      .join("\n");
  }
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
