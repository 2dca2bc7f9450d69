// child_process, loaded when a host command first runs rather than at every
// start (Node 18 has no getBuiltinModule; the bundle has require).
export const childProcess = (): typeof import("node:child_process") => process.getBuiltinModule?.("node:child_process") ?? require("node:child_process");
