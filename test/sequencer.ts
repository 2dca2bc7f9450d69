// The lab files run longest and mostly wait on booting containers and
// timers: start them first, so the quick files fill the gaps instead of
// delaying them.
import { BaseSequencer, type TestSpecification } from "vitest/node";

export default class LabFirst extends BaseSequencer {
  async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    // longest first (as measured): the host-process lab (two files), the
    // booted lab's halves (Debian 13's leases most: dhcpcd probes every
    // address), the quality proofs (about 6 minutes, mostly waiting on the
    // prober's window), then the shorter lab files
    const rank = ["stacks-", "boot-13-leases", "boot-13-static", "boot-12-static", "boot-12-leases", "-quality.test", "-apply", "ifupdowns.test", "boot-13-lease-proofs", "health.test", "/e2e/"];
    const lab = (f: TestSpecification) => {
      const i = rank.findIndex((r) => f.moduleId.includes(r));
      return i < 0 ? rank.length : i;
    };
    return [...sorted].sort((a, b) => lab(a) - lab(b));
  }
}
