// Write a model with `uplinks` uplinks sharing `prefixes` destination
// prefixes (round-robin), for the render and apply benchmarks.
// usage: node bench/scale-model.mjs UPLINKS PREFIXES > model.yaml
import { prefixesPerUplink, uplinkNet } from "./prefixes.mjs";

const [uplinks = 64, prefixes = 20000] = process.argv.slice(2).map(Number);
const lines = ["version: 1", "uplinks:"];
const perUplink = prefixesPerUplink(uplinks, prefixes);
for (let u = 0; u < uplinks; u++) {
  const net = uplinkNet(u);
  lines.push(`  - name: u${u}`, `    interface: e${u}`, `    address: ${net}.2/24`, `    gateway: ${net}.1`);
  lines.push(`    destinations: [${perUplink[u].join(", ")}]`);
}
process.stdout.write(lines.join("\n") + "\n");
