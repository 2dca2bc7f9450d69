import { defineConfig } from "vitest/config";
import LabFirst from "./test/sequencer.js";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Files run side by side: every lab names its namespaces after its
    // process, and the booted lab has two files per release (static and
    // leased uplinks). Five workers on a 2-core machine: the four booted-lab
    // files and the host-process lab spend most of their time waiting.
    fileParallelism: true,
    maxWorkers: 5,
    minWorkers: 1,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ["default"],
    sequence: { sequencer: LabFirst },
  },
});
