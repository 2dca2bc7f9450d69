// The lab files run longest and mostly wait on booting containers and
// timers: start them first, so the quick files fill the gaps instead of
// delaying them.
import { BaseSequencer, type TestSpecification } from "vitest/node";

export default class LabFirst extends BaseSequencer {
  async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    // the booted lab's leased uplinks on Debian 13 (dhcpcd probes every address) take longest
    const lab = (f: TestSpecification) => (f.moduleId.includes("boot-13-leases") ? 0 : f.moduleId.includes("/e2e/") ? 1 : 2);
    return [...sorted].sort((a, b) => lab(a) - lab(b));
  }
}
