import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import * as fs from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { tempFolders } from "../helpers/tmp.js";

// fsyncSync observed: which descriptors were flushed (by the path they were opened with)
const opened = new Map<number, string>();
const synced: string[] = [];
vi.mock("node:fs", async (importOriginal) => {
  const real = await importOriginal<typeof fs>();
  return {
    ...real,
    openSync: (path: string, ...rest: unknown[]) => {
      const fd = (real.openSync as (...a: unknown[]) => number)(path, ...rest);
      opened.set(fd, path);
      return fd;
    },
    fsyncSync: (fd: number) => {
      synced.push(opened.get(fd) ?? "?");
      real.fsyncSync(fd);
    },
  };
});

const { writeTree } = await import("../../src/render/writer.js");

const root = tempFolders("writer");
afterEach(() => {
  synced.length = 0;
});
const file = (path: string, content: string) => ({ path, content, mode: 0o644 });

describe("writer: what reaches the disk before it is in place", () => {
  it("a new tree (a package's) is written without a flush", () => {
    const r = root();
    writeTree(r, [file("/etc/a.conf", "a\n"), file("/etc/sub/b.conf", "b\n")]);
    expect(readFileSync(join(r, "etc/sub/b.conf"), "utf8")).toBe("b\n");
    expect(synced).toEqual([]);
  });

  it("a file that replaces one is flushed, and its folder after the rename; a new one beside it is not", () => {
    const r = root();
    mkdirSync(join(r, "etc"));
    writeFileSync(join(r, "etc/a.conf"), "old\n");
    writeTree(r, [file("/etc/a.conf", "new\n"), file("/etc/new.conf", "n\n")]);
    expect(readFileSync(join(r, "etc/a.conf"), "utf8")).toBe("new\n");
    expect(synced).toEqual([expect.stringMatching(/\/etc\/\.a\.conf\.gen-hooks-\d+\.tmp$/), join(r, "etc")]);
  });

  it("durable (apply) flushes every file and folder", () => {
    const r = root();
    writeTree(r, [file("/etc/a.conf", "a\n"), file("/etc/sub/b.conf", "b\n")], [], true);
    expect(synced).toHaveLength(4);
    expect(synced.slice(2).sort()).toEqual([join(r, "etc"), join(r, "etc/sub")]);
  });
});

describe("writer: an unchanged file", () => {
  it("is left as it is, time and all; a changed one beside it is written", () => {
    const r = root();
    writeTree(r, [file("/etc/a.conf", "a\n"), file("/etc/b.conf", "b\n")]);
    const before = fs.statSync(join(r, "etc/a.conf"));
    const written = writeTree(r, [file("/etc/a.conf", "a\n"), file("/etc/b.conf", "b2\n")]);
    expect(written).toEqual([join(r, "etc/b.conf")]);
    expect(fs.statSync(join(r, "etc/a.conf")).ino).toBe(before.ino);
    expect(readFileSync(join(r, "etc/b.conf"), "utf8")).toBe("b2\n");
  });

  it("a new mode is a change", () => {
    const r = root();
    writeTree(r, [file("/etc/a.conf", "a\n")]);
    expect(writeTree(r, [{ path: "/etc/a.conf", content: "a\n", mode: 0o755 }])).toEqual([join(r, "etc/a.conf")]);
    expect(fs.statSync(join(r, "etc/a.conf")).mode & 0o777).toBe(0o755);
  });
});
