#!/usr/bin/env node
// gen-hooks: run the bundle with the V8 code cache made at build time, so a
// start costs little more than Node's own. Without a usable cache (another
// Node, or none written) it compiles as usual.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");

const file = path.join(__dirname, "gen-hooks.bundle.cjs");
const cacheFile = file + ".v8cache";
let cachedData;
try {
  cachedData = fs.readFileSync(cacheFile);
} catch {
  cachedData = undefined;
}
// CommonJS's own wrapper, written out: node:module would load Node's ES
// module loader too, 1 ms of every start.
const source = `(function (exports, require, module, __filename, __dirname) { ${fs.readFileSync(file, "utf8")}\n});`;
const script = new vm.Script(source, { filename: file, cachedData });
const bundled = { exports: {} };
script.runInThisContext().call(bundled.exports, bundled.exports, require, bundled, file, __dirname);
// A reader that stops early (gen-hooks --help | head) is not an error. The
// streams are made on first output only: a render under --root prints
// nothing and so does not load Node's stream modules (2 ms).
const guarded = (stream) => {
  stream.on("error", (e) => {
    if (e.code !== "EPIPE") throw e;
    process.exit(process.exitCode ?? 0);
  });
  return stream;
};
let out;
let err;
process.exitCode = bundled.exports.runCli(process.argv.slice(2), {
  out: (s) => (out ??= guarded(process.stdout)).write(s),
  err: (s) => (err ??= guarded(process.stderr)).write(s),
});
if (process.env.GEN_HOOKS_WRITE_CODE_CACHE) fs.writeFileSync(cacheFile, script.createCachedData());
