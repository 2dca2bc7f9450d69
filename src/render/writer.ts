// All file output. Every file is first written to a temporary file in its
// own folder and fsynced; only when all are staged are they renamed into
// place, so a failure leaves no partial tree.
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { RenderedFile } from "../pipeline.js";

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

/** Write files atomically, then remove stale owned files. */
export function writeTree(root: string, files: RenderedFile[], stale: string[] = []): string[] {
  const staged: { tmp: string; dest: string }[] = [];
  try {
    for (const f of files) {
      const dest = installPath(root, f.path);
      mkdirSync(dirname(dest), { recursive: true });
      const tmp = join(dirname(dest), `.${f.path.split("/").pop()}.gen-hooks-${process.pid}.tmp`);
      const fd = openSync(tmp, "w", f.mode);
      staged.push({ tmp, dest });
      try {
        writeSync(fd, f.content);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
  } catch (err) {
    for (const s of staged) rmSync(s.tmp, { force: true });
    throw err;
  }
  for (const s of staged) renameSync(s.tmp, s.dest);
  for (const path of stale) rmSync(installPath(root, path), { force: true });
  for (const dir of new Set(staged.map((s) => dirname(s.dest)))) {
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
