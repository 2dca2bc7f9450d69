// All file output. Every file is first written to a temporary file in its
// own folder; only when all are staged are they renamed into place, so a
// failure leaves no partial tree. A file that replaces one is flushed to disk
// before the rename, so that a crash leaves the old file or the new one,
// never an empty one; a new file is not (as GLib's g_file_set_contents, which
// netplan writes with), so rendering into an empty tree (a package's) syncs
// nothing, unless every file must be (apply: the host boots from them).
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { RenderedFile } from "../pipeline.js";
import { UsageError } from "../errors.js";

export function installPath(root: string, path: string): string {
  return join(root, path);
}

/**
 * Installed files under root that match an owned pattern (a "*" in the file
 * name) but are not among the generated paths: left by an older model.
 */
export function staleFiles(root: string, patterns: string[], generated: RenderedFile[]): string[] {
  const keep = new Set(generated.map((f) => f.path));
  const out: string[] = [];
  for (const pattern of patterns) {
    const dir = dirname(pattern);
    const re = new RegExp(`^${basename(pattern).split("*").map(escapeRe).join("[^/]*")}$`);
    let names: string[] = [];
    try {
      names = readdirSync(installPath(root, dir));
    } catch {
      continue; // no such folder: nothing stale
    }
    for (const name of names.sort()) {
      const path = `${dir}/${name}`;
      if (re.test(name) && !keep.has(path)) out.push(path);
    }
  }
  return out;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const REFUSALS: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  ENOTDIR: "a part of the path is a file, not a folder",
  EEXIST: "a part of the path is a file, not a folder",
  EISDIR: "a folder is in the way of a file",
};

/** The host refused a write: one plain sentence, exit 2 (UsageError), not an internal error. */
function refusal(root: string, err: unknown): Error {
  const e = err as NodeJS.ErrnoException;
  const why = e.code ? REFUSALS[e.code] : undefined;
  return why ? new UsageError(`cannot write under ${root}: ${why} (${e.path ?? root}); nothing was written`) : (err as Error);
}

/** What is installed at dest: nothing, the same file, or another one (or something in the way: writing it says why). */
function installed(dest: string, f: RenderedFile): "absent" | "same" | "other" {
  try {
    const st = statSync(dest, { throwIfNoEntry: false });
    if (st === undefined) return "absent";
    if (!st.isFile() || (st.mode & 0o7777) !== f.mode || st.size < f.content.length) return "other";
    return readFileSync(dest, "utf8") === f.content ? "same" : "other";
  } catch {
    return "other";
  }
}

/**
 * Write files atomically, then remove stale owned files; with durable, every
 * file reaches the disk before it is in place. A file installed already with
 * the same content and mode is left as it is (its time too: a path unit or a
 * config manager watching it sees no change).
 */
export function writeTree(root: string, files: RenderedFile[], stale: string[] = [], durable = false): string[] {
  const staged: { tmp: string; dest: string; replaced: boolean }[] = [];
  const created: string[] = []; // folders made here, removed again on failure
  const folders = new Set<string>(); // made or found already: one mkdir a folder, not a file
  try {
    for (const f of files) {
      const dest = installPath(root, f.path);
      const now = installed(dest, f);
      if (now === "same") continue;
      if (!folders.has(dirname(dest))) {
        const made = mkdirSync(dirname(dest), { recursive: true });
        if (made) created.push(made);
        folders.add(dirname(dest));
      }
      const tmp = join(dirname(dest), `.${f.path.split("/").pop()}.gen-hooks-${process.pid}.tmp`);
      const replaced = durable || now === "other";
      const fd = openSync(tmp, "w", f.mode);
      staged.push({ tmp, dest, replaced });
      try {
        writeSync(fd, f.content);
        if (replaced) fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
  } catch (err) {
    for (const s of staged) rmSync(s.tmp, { force: true });
    for (const dir of created.reverse()) rmSync(dir, { recursive: true, force: true });
    throw refusal(root, err);
  }
  for (const s of staged) renameSync(s.tmp, s.dest);
  for (const path of stale) rmSync(installPath(root, path), { force: true });
  for (const dir of new Set(staged.filter((s) => s.replaced).map((s) => dirname(s.dest)))) {
    // the renames themselves must reach the disk
    try {
      const fd = openSync(dir, "r");
      fsyncSync(fd);
      closeSync(fd);
    } catch {
      /* some filesystems cannot fsync a folder */
    }
  }
  return staged.map((s) => s.dest);
}
