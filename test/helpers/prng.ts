/** The seed of a randomized test: GEN_HOOKS_FUZZ_SEED replays a run. */
export const fuzzSeed = (): number => Number(process.env.GEN_HOOKS_FUZZ_SEED ?? Date.now() % 1_000_000);

/** A small seeded generator of numbers in [0, 1) (mulberry32). */
export function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
