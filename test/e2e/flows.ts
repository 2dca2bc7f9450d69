// Real TCP flows: a server in the internet namespace records the source
// address of every connection; a client in the host opens n connections, each
// from a new ephemeral port, so the kernel's L4 hash picks an uplink per flow.
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { readText, waitFor } from "./lab.js";
import type { Topology } from "./topology.js";

const SERVER = `
const net = require("net");
const fs = require("fs");
const [addr, port, log] = process.argv.slice(1);
net.createServer((s) => { fs.appendFileSync(log, s.remoteAddress.replace(/^::ffff:/, "") + "\\n"); s.end(); })
  .listen(Number(port), addr, () => fs.appendFileSync(log, "ready\\n"));
`;

const CLIENT = `
const net = require("net");
const [addr, port, n] = process.argv.slice(1);
let left = Number(n), failed = 0;
const next = () => {
  if (left-- === 0) { console.log(JSON.stringify({ failed })); return; }
  const s = net.connect({ host: addr, port: Number(port), timeout: 3000 });
  s.on("close", () => next());
  s.on("error", () => { failed++; });
  s.on("timeout", () => { failed++; s.destroy(); });
  s.resume();
};
next();
`;

/** Count, per source address seen by the server, n flows from the host to target:port. */
export async function countFlows(topo: Topology, dir: string, target: string, n: number): Promise<{ bySource: Map<string, number>; failed: number }> {
  const log = join(dir, `flows-${Date.now()}.log`);
  writeFileSync(log, "");
  const server = topo.lab.spawn("net", [process.execPath, "-e", SERVER, target, "443", log], join(dir, "flow-server.out"));
  try {
    if (!(await waitFor(() => readText(log).includes("ready"), 5000, 50))) throw new Error(`flow server did not start: ${readText(join(dir, "flow-server.out"))}`);
    const out = topo.lab.run("host", [process.execPath, "-e", CLIENT, target, "443", String(n)], { timeoutMs: 60_000 });
    const { failed } = JSON.parse(out) as { failed: number };
    await waitFor(() => readText(log).split("\n").filter((l) => l && l !== "ready").length >= n - failed, 2000, 50);
    const bySource = new Map<string, number>();
    for (const line of readText(log).split("\n")) if (line && line !== "ready") bySource.set(line, (bySource.get(line) ?? 0) + 1);
    return { bySource, failed };
  } finally {
    topo.lab.stop(server);
  }
}
