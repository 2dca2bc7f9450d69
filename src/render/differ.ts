// Generated versus installed, as unified diffs with paths shown as installed.
import { readFileSync } from "node:fs";
import { createTwoFilesPatch } from "diff";
import type { RenderedFile } from "../pipeline.js";
import { installPath } from "./writer.js";

export interface FileDiff {
  path: string;
  patch: string; // empty when identical
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

export function diffTree(root: string, files: RenderedFile[], stale: string[] = []): FileDiff[] {
  const extra = stale.map((path) => ({
    path,
    patch: createTwoFilesPatch(`a${path}`, "/dev/null", readFileSync(installPath(root, path), "utf8"), "", "installed", "no longer generated"),
  }));
  return [...files.map((f) => {
    const installed = readOrUndefined(installPath(root, f.path));
    if (installed === f.content) return { path: f.path, patch: "" };
    const patch = createTwoFilesPatch(
      installed === undefined ? "/dev/null" : `a${f.path}`,
      `b${f.path}`,
      installed ?? "",
      f.content,
      installed === undefined ? "missing" : "installed",
      "generated",
    );
    return { path: f.path, patch };
  }), ...extra];
}
