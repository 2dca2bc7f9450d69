// Write a model with `uplinks` uplinks sharing `prefixes` destination
// prefixes (round-robin), for the render and apply benchmarks.
// usage: node bench/scale-model.mjs UPLINKS PREFIXES > model.yaml
const [uplinks = 64, prefixes = 20000] = process.argv.slice(2).map(Number);
const lines = ["version: 1", "uplinks:"];
const perUplink = Array.from({ length: uplinks }, () => []);
for (let i = 0; i < prefixes; i++) {
  // distinct /32s inside 198.18.0.0/15 (benchmark space), then /24s of 100.64.0.0/10 beyond it
  const n = i;
  const text = n < 131072 ? `198.${18 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}/32` : `100.${64 + ((n - 131072) >> 16)}.${((n - 131072) >> 8) & 255}.0/24`;
  perUplink[i % uplinks].push(text);
}
for (let u = 0; u < uplinks; u++) {
  const net = `100.${64 + (u >> 8)}.${u & 255}`;
  lines.push(`  - name: u${u}`, `    interface: e${u}`, `    address: ${net}.2/24`, `    gateway: ${net}.1`);
  lines.push(`    destinations: [${perUplink[u].join(", ")}]`);
}
process.stdout.write(lines.join("\n") + "\n");
