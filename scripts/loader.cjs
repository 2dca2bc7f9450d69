#!/usr/bin/env node
// gen-hooks: run the bundle with the V8 code cache made at build time, so a
// start costs little more than Node's own. Without a usable cache (another
// Node, or none written) it compiles as usual.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");
const Module = require("node:module");

const file = path.join(__dirname, "gen-hooks.bundle.cjs");
const cacheFile = file + ".v8cache";
let cachedData;
try {
  cachedData = fs.readFileSync(cacheFile);
} catch {
  cachedData = undefined;
}
const script = new vm.Script(Module.wrap(fs.readFileSync(file, "utf8")), { filename: file, cachedData });
const bundled = { exports: {} };
script.runInThisContext().call(bundled.exports, bundled.exports, require, bundled, file, __dirname);
// A reader that stops early (gen-hooks --help | head) is not an error.
for (const stream of [process.stdout, process.stderr])
  stream.on("error", (e) => {
    if (e.code !== "EPIPE") throw e;
    process.exit(process.exitCode ?? 0);
  });
process.exitCode = bundled.exports.runCli(process.argv.slice(2));
if (process.env.GEN_HOOKS_WRITE_CODE_CACHE) fs.writeFileSync(cacheFile, script.createCachedData());
