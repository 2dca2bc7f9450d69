// The benchmark's destination prefixes, the same for every measure and for
// netplan's equivalent file: distinct /32s inside 198.18.0.0/15 (benchmark
// space), then /24s of 100.64.0.0/10 beyond it.
export const benchPrefix = (i) => (i < 131072 ? `198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32` : `100.${64 + ((i - 131072) >> 16)}.${((i - 131072) >> 8) & 255}.0/24`);

/** The prefixes shared round-robin by `uplinks` uplinks: one array per uplink. */
export function prefixesPerUplink(uplinks, prefixes) {
  const per = Array.from({ length: uplinks }, () => []);
  for (let i = 0; i < prefixes; i++) per[i % uplinks].push(benchPrefix(i));
  return per;
}

/** Uplink u's /24 (its address is .2, its gateway .1). */
export const uplinkNet = (u) => `100.${64 + (u >> 8)}.${u & 255}`;
