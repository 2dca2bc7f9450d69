import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Files run side by side: every lab names its namespaces after its
    // process, and the booted lab has a file per release. Three workers on
    // a 2-core machine: the lab files spend most of their time waiting.
    fileParallelism: true,
    maxWorkers: 3,
    minWorkers: 1,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ["default"],
  },
});
