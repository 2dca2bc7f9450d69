import { defineConfig } from "vitest/config";
import LabFirst from "./test/sequencer.js";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Files run side by side: every lab names its namespaces after its
    // process, and the booted lab has six files per release (static and
    // leased uplinks in halves, the lease proofs, health quality). Six workers on a 2-core
    // machine: the lab files spend most of their time waiting on booting
    // containers, timers and probes.
    fileParallelism: true,
    maxWorkers: 6,
    minWorkers: 1,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ["default"],
    // what an interrupted run left (namespaces, containers) goes before and after
    globalSetup: ["./test/lab-sweep.ts"],
    sequence: { sequencer: LabFirst },
  },
});
